"""A small real classifier, trained once per test session on a sample of the shipped labels."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

PER_LABEL = 30


def labelled_csv() -> Path:
    return Path(settings.DATA_DIR) / "appeals_labelled_train.csv"


def sample_rows(per_label: int = PER_LABEL) -> list[dict]:
    """The first ``per_label`` rows of each label: small enough to train in about a second."""
    pytest.importorskip("yiwang.smartdispatch.classifier", reason="the text classifier module is not installed")
    path = labelled_csv()
    if not path.exists():
        pytest.skip(f"the labelled appeals are not on this machine ({path})")
    taken: dict[str, list] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if len(taken[row["label"]]) < per_label:
                taken[row["label"]].append(row)
    return [row for rows in taken.values() for row in rows]


def write_sample(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "title", "detail", "label"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    classifier = pytest.importorskip("yiwang.smartdispatch.classifier",
                                     reason="the text classifier module is not installed")
    rows = sample_rows()
    csv_path = write_sample(tmp_path_factory.mktemp("sample") / "sample.csv", rows)
    clf = classifier.train(classifier.read_labelled(csv_path))
    directory = tmp_path_factory.mktemp("models") / "session-model"
    clf.save(directory)
    return directory


@pytest.fixture
def models_dir(settings, tmp_path):
    settings.SMARTDISPATCH_MODELS_DIR = tmp_path / "models"
    settings.SMARTDISPATCH_INLINE = True
    return settings.SMARTDISPATCH_MODELS_DIR


@pytest.fixture
def active_model(db, trained_dir, models_dir):
    """Version 1, active, pointing at the session's model."""
    from django.utils import timezone

    from yiwang.smartdispatch import services
    from yiwang.smartdispatch.models import ModelVersion

    version = ModelVersion.objects.create(number=1, directory=str(trained_dir), trained_at=timezone.now(),
                                          training_data="测试样本", n_train=PER_LABEL * 7)
    return services.activate(version)


@pytest.fixture
def threshold():
    """Set the auto-dispatch threshold (and switch) for one test."""
    from yiwang.smartdispatch.models import DispatchSettings

    def set_(value, enabled=True):
        DispatchSettings.objects.update_or_create(pk=1, defaults={"threshold": Decimal(str(value)),
                                                                  "auto_dispatch": enabled})
    return set_


@pytest.fixture
def training_row():
    """A real appeal about a matter the routing rules send to a department (城乡建设 → 区建管委 etc.)."""
    return next(r for r in sample_rows() if r["label"] == "教育文体")
