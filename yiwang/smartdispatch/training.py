"""Retraining on the shipped labels plus the dispatchers' feedback, and the activation rule.

The rule, in full:

* Rows are the shipped labelled CSV plus one row per work order whose dispatch a
  dispatcher confirmed or corrected (its latest such answer; the label is the top
  level of the final category). Returns are not rows: they say the suggestion was
  wrong, not what is right.
* A fixed fifth of the rows is held out, chosen by a hash of the row's id
  (``sha1(id) % 5 == 0``; feedback rows use ``feedback-<order id>``). No version
  trained here ever sees a held-out row, so any two versions can be compared on
  the same held-out rows fairly, including rows that arrived after the older one.
* The new version is trained on the other four fifths and evaluated on the
  held-out rows (``classifier.evaluate``); the result is stored with the version.
* ``activate="if_better"`` (the default for the admin button and for schedules):
  the new version becomes active when no version is active, or when its macro-F1
  on today's held-out rows is strictly higher than the active version's macro-F1
  on the same rows (re-measured now, not read from its stored evaluation).
  ``"always"`` activates it regardless (first model, demo); ``"never"`` only
  records it. Rolling back is activating an older version in the admin.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from django.conf import settings
from django.db.models import Max

from .models import DispatchFeedback, ModelVersion

log = logging.getLogger(__name__)

HOLDOUT_MODULUS = 5
ACTIVATION_RULES = ("if_better", "always", "never")


def shipped_csv() -> Path:
    return Path(settings.DATA_DIR) / "appeals_labelled_train.csv"


def in_holdout(key: str) -> bool:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % HOLDOUT_MODULUS == 0


def feedback_rows() -> list:
    """One labelled row per order from its latest confirmation or correction."""
    from .classifier import LabelledText

    latest = (DispatchFeedback.objects.filter(kind__in=[DispatchFeedback.Kind.CONFIRM, DispatchFeedback.Kind.CORRECT])
              .exclude(final_label="").values("order_id").annotate(last=Max("id")).values("last"))
    rows = (DispatchFeedback.objects.filter(id__in=latest)
            .values_list("order_id", "order__title", "order__content", "final_label").order_by("order_id"))
    return [LabelledText(f"feedback-{order_id}", title, content, label) for order_id, title, content, label in rows]


UNLABELLED_FILES = ("appeals_public_2019.csv", "appeals_with_replies.csv")


def unlabelled_paths() -> list[Path]:
    """The shipped appeals of the same source without labels, those this machine has."""
    return [path for path in (Path(settings.DATA_DIR) / name for name in UNLABELLED_FILES) if path.exists()]


def unlabelled_texts() -> list[str]:
    from .classifier import read_unlabelled

    return read_unlabelled(unlabelled_paths())


def train_version(*, input_csv: str | Path | None = None, activate: str = "if_better", actor=None,
                  unlabelled: list[str] | None = None) -> ModelVersion:
    from . import classifier, services

    if activate not in ACTIVATION_RULES:
        raise ValueError(f"activate must be one of {ACTIVATION_RULES}")
    path = Path(input_csv) if input_csv else shipped_csv()
    shipped = classifier.read_labelled(path)
    feedback = feedback_rows()
    train_rows = [r for r in shipped if not in_holdout(str(r.id))] + [r for r in feedback if not in_holdout(r.id)]
    held_out = [r for r in shipped if in_holdout(str(r.id))] + [r for r in feedback if in_holdout(r.id)]
    texts = unlabelled_texts() if unlabelled is None else unlabelled
    started = time.monotonic()
    clf = classifier.train(train_rows, texts)
    seconds = round(time.monotonic() - started, 1)
    evaluation = dict(classifier.evaluate(clf, held_out)) if held_out else {}
    evaluation["holdout"] = {"rule": f"sha1(id) % {HOLDOUT_MODULUS} == 0",
                             "n_shipped": sum(1 for r in held_out if not str(r.id).startswith("feedback-")),
                             "n_feedback": sum(1 for r in held_out if str(r.id).startswith("feedback-"))}
    evaluation["train_seconds"] = seconds
    current = services.active_version()
    decision, baseline = _decide(activate, current, evaluation, held_out, services)
    evaluation["activation"] = decision
    if baseline is not None:
        evaluation["compared_with"] = {"version": current.number, "macro_f1": baseline}
    description = (f"{path.name}：{len(shipped)} 条（训练 {len(shipped) - evaluation['holdout']['n_shipped']}）；"
                   f"派单反馈 {len(feedback)} 条；无标注文本 {len(texts)} 条")
    version = services.register_version(
        clf, training_data=description, n_train=len(train_rows), n_feedback=len(feedback),
        evaluation=services._jsonable(evaluation), note=decision, actor=actor,
    )
    if decision.startswith("activated"):
        services.activate(version)
    log.info("Trained dispatch model v%s in %ss: %s", version.number, seconds, decision)
    return version


def _decide(rule: str, current, evaluation: dict, held_out: list, services) -> tuple[str, float | None]:
    if rule == "always":
        return "activated: requested", None
    if rule == "never":
        return "recorded only: requested", None
    if current is None:
        return "activated: no active version", None
    new_f1 = evaluation.get("macro_f1")
    if not held_out or new_f1 is None:
        return "not activated: no held-out rows to compare on", None
    from . import classifier

    try:
        baseline = float(classifier.evaluate(services.classifier_for(current), held_out)["macro_f1"])
    except Exception as exc:  # an unreadable active model should not block recording the new one
        log.warning("Could not evaluate the active model v%s: %s", current.number, exc)
        return "not activated: active version could not be evaluated", None
    if float(new_f1) > baseline:
        return f"activated: macro-F1 {float(new_f1):.4f} > v{current.number} {baseline:.4f}", baseline
    return f"not activated: macro-F1 {float(new_f1):.4f} <= v{current.number} {baseline:.4f}", baseline
