"""Retraining on shipped labels plus feedback, versioning and the activation rule."""

import pytest

from yiwang.org.models import Category
from yiwang.smartdispatch import services, training
from yiwang.smartdispatch.models import ModelVersion

from .conftest import sample_rows, write_sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_csv(tmp_path):
    return write_sample(tmp_path / "labelled.csv", sample_rows(per_label=20))


def test_first_version_is_saved_evaluated_and_activated(models_dir, small_csv):
    version = training.train_version(input_csv=small_csv, unlabelled=[])
    assert (version.number, version.active, version.n_feedback) == (1, True, 0)
    held = version.evaluation["holdout"]
    assert held["n_shipped"] > 0 and version.n_train + held["n_shipped"] == 140
    assert version.evaluation["n"] == held["n_shipped"]
    assert 0 <= version.evaluation["macro_f1"] <= 1 and "ms_per_item" in version.evaluation
    assert services.version_path(version).is_dir() and version.directory == "v1"
    assert version.note == "activated: no active version"
    assert services.classifier_for(version).predict("学校食堂", "").label


def test_a_version_no_better_on_the_same_hold_out_is_recorded_but_not_activated(models_dir, small_csv):
    first = training.train_version(input_csv=small_csv, unlabelled=[])
    second = training.train_version(input_csv=small_csv, unlabelled=[])
    second.refresh_from_db()
    first.refresh_from_db()
    assert first.active and not second.active
    assert second.note.startswith("not activated: macro-F1")
    assert second.evaluation["compared_with"]["version"] == 1
    forced = training.train_version(input_csv=small_csv, unlabelled=[], activate="always")
    assert ModelVersion.objects.get(active=True) == forced


def test_hold_out_membership_is_fixed_by_id():
    assert training.in_holdout("12345") == training.in_holdout("12345")
    share = sum(training.in_holdout(str(i)) for i in range(5000)) / 5000
    assert 0.17 < share < 0.23


def test_corrections_and_confirmations_become_rows(models_dir, small_csv, world, make_order, threshold):
    threshold(1.0)
    training.train_version(input_csv=small_csv, unlabelled=[])
    category = Category.objects.get(level=1, name="环境保护")
    for i in range(6):
        order = make_order(title=f"小区旁饭店油烟扰民{i}", content="油烟直排，气味很大", category=None)
        services.suggest(order, auto_dispatch=False)
        if i % 2:
            services.correct(order, actor=world.dispatcher, category=category)
        else:
            services.confirm(order, actor=world.dispatcher)
    rows = training.feedback_rows()
    assert len(rows) == 6 and all(r.id.startswith("feedback-") for r in rows)
    assert {r.label for r in rows[1::2]} == {"环境保护"}
    version = training.train_version(input_csv=small_csv, unlabelled=[], activate="never")
    assert version.n_feedback == 6 and not version.active
    assert version.n_train + version.evaluation["holdout"]["n_shipped"] + version.evaluation["holdout"]["n_feedback"] == 146


def test_the_training_job_runs_inline(models_dir, small_csv, settings):
    from yiwang.smartdispatch import jobs

    assert jobs.train_model(input_csv=str(small_csv)) == 1
    assert ModelVersion.objects.get().active
