"""End-to-end tests that drive the pages in headless Chromium (see conftest.py)."""
