"""yiwang: a district's 12345 hotline and digital-governance platform."""

__version__ = "0.1.0"
