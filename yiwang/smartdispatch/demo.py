"""Intelligent dispatch in the demo: a model trained on the shipped labels, suggestions for the live queue."""

from __future__ import annotations

import sys

from . import services, training
from .models import ModelVersion


def prepare(stdout=None) -> dict:
    """Train version 1 when no version exists and the labelled file is there; suggest for orders awaiting dispatch.

    Suggestions made here never dispatch automatically: the demo queue keeps its orders for the dispatcher.
    """
    stdout = stdout or sys.stdout
    trained = None
    if not ModelVersion.objects.exists():
        if not training.shipped_csv().exists():
            stdout.write(f"  dispatch model: skipped ({training.shipped_csv()} not found)\n")
            return {"trained": None, "suggested": 0}
        version = training.train_version(activate="always")
        trained = version.number
        stdout.write(f"  dispatch model: v{version.number} trained in {version.evaluation.get('train_seconds')} s, "
                     f"hold-out macro-F1 {version.evaluation.get('macro_f1', 0):.3f}\n")
    suggested = services.suggest_open_orders(auto_dispatch=False)
    stdout.write(f"  dispatch suggestions: {suggested} orders awaiting dispatch\n")
    stdout.flush()
    return {"trained": trained, "suggested": suggested}
