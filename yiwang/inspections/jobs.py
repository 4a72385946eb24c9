"""Background jobs of inspections (django-q2 Schedule ``inspections-sweep``, hourly, from migration 0002)."""

from __future__ import annotations

import dataclasses


def run_sweep(now=None) -> dict:
    """Flag overdue self-inspections and rectifications. Idempotent; safe when several workers run it."""
    from . import services

    return dataclasses.asdict(services.sweep(now))
