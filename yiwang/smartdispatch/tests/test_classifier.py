"""The classifier and the ``yiwang dispatch`` command line, on a small real sample."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yiwang import cli
from yiwang.smartdispatch import classifier

from .conftest import sample_rows, write_sample


@pytest.fixture(scope="module")
def rows():
    return [classifier.LabelledText(r["id"], r["title"], r["detail"], r["label"]) for r in sample_rows(20)]


@pytest.fixture(scope="module")
def model(rows):
    unlabelled = [f"{r.title} {r.detail}" for r in rows]  # enough text to fit a small LSA space
    return classifier.train(rows, unlabelled, params=classifier.Params(lsa_dims=32))


def test_prediction_has_label_probabilities_alternatives_and_reasons(model):
    p = model.predict("拖欠农民工工资三个月", "老板拖欠我们工地农民工三个月工资不给，劳动监察不管")
    assert p.label == "劳动和社会保障"
    assert p.label in model.labels and p.path[0] == p.label
    assert 0 < p.confidence <= 1
    assert len(p.alternatives) == 3 and p.label not in [a for a, _ in p.alternatives]
    assert abs(sum(p.scores.values()) - 1) < 1e-3  # each rounded to 4 places
    assert p.confidence >= max(prob for _, prob in p.alternatives)
    assert any("工资" in k or "拖欠" in k for k in p.keywords), p.keywords


def test_fast_probabilities_equal_scikit_learns(model, rows):
    matrix = model.features.transform([r.title for r in rows[:40]], [r.detail for r in rows[:40]])
    # float32 weights: equal to scikit-learn's float64 result to well below the 4 decimals shown
    assert np.allclose(model.linear.predict_proba(matrix), model.model.predict_proba(matrix), atol=1e-5)
    assert np.allclose(model.linear.predict_proba(matrix[:3]), model.model.predict_proba(matrix[:3]), atol=1e-5)


def test_the_single_appeal_path_builds_the_same_row_as_the_batch_path(model, rows):
    for r in rows[:25] + [classifier.LabelledText("x", "", "", "教育文体"),
                          classifier.LabelledText("y", "  ABC  def\t\n  ", "完全没见过的字：龘靐", "教育文体")]:
        title, detail = classifier._prepare(r.title, r.detail)
        fast = model.features.transform_one(title, detail).toarray()
        batch = model.features.transform([title], [detail]).toarray()
        assert np.allclose(fast, batch, atol=1e-6), r.id


def test_deeper_path_only_when_the_text_names_it():
    taxonomy = classifier.Taxonomy(classifier.read_taxonomy(), ["交通运输", "环境保护"])
    assert taxonomy.path("交通运输", "网约车问题太多，司机乱收费") == ["交通运输", "出租车管理", "网约车问题"]
    assert taxonomy.path("环境保护", "工厂晚上噪音污染严重") == ["环境保护", "环境污染", "噪音污染"]
    assert taxonomy.path("环境保护", "门口很吵") == ["环境保护"]


def test_keywords_merge_overlapping_ngrams_into_phrases():
    assert classifier._merge_spans("老板拖欠工资不给", ["拖欠", "欠工", "工资"]) == ["拖欠工资"]
    assert classifier._merge_spans("拖欠工资，又说工资没了", ["拖欠工资", "工资"]) == ["拖欠工资"]


def test_save_load_round_trip(model, tmp_path):
    model.save(tmp_path / "m")
    loaded = classifier.Classifier.load(tmp_path / "m")
    a = model.predict("学校乱收费", "孩子学校每学期收取补课费")
    b = loaded.predict("学校乱收费", "孩子学校每学期收取补课费")
    assert a == b
    assert loaded.meta["n_train"] == model.meta["n_train"]


def test_load_refuses_another_format(model, tmp_path):
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    (tmp_path / "m" / "meta.json").write_text(json.dumps({**meta, "format": 999}))
    with pytest.raises(ValueError, match="format"):
        classifier.Classifier.load(tmp_path / "m")


def test_evaluate_reports_the_contract_fields(model, rows):
    result = classifier.evaluate(model, rows[:30])
    assert set(result) == {"n", "accuracy", "macro_f1", "per_label", "ms_per_item"}
    assert result["n"] == 30 and 0 <= result["macro_f1"] <= 1 and result["ms_per_item"] > 0
    assert all(set(s) == {"precision", "recall", "f1", "support"} for s in result["per_label"].values())


def test_read_labelled_names_the_missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,title,label\n1,a,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="detail"):
        classifier.read_labelled(path)


def test_training_needs_two_labels(rows):
    with pytest.raises(ValueError, match="two"):
        classifier.train([r._replace(label="城乡建设") for r in rows[:10]])


# --- command line ------------------------------------------------------------

@pytest.fixture
def cli_env(settings, tmp_path):
    settings.SMARTDISPATCH_MODELS_DIR = tmp_path / "models"
    return tmp_path


def test_cli_train_evaluate_predict(cli_env, capsys, db):
    sample = write_sample(cli_env / "train.csv", sample_rows(12))
    assert cli.main(["dispatch", "train", "--input", str(sample), "--unlabelled", "--out",
                     str(cli_env / "m"), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["n_train"] == 12 * 7 and meta["directory"] == str(cli_env / "m")

    holdout = write_sample(cli_env / "test.csv", sample_rows(15)[-21:])
    assert cli.main(["dispatch", "evaluate", "--input", str(holdout), "--json"]) == 0  # uses the latest model
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 21 and set(result) >= {"accuracy", "macro_f1", "per_label", "ms_per_item"}

    assert cli.main(["dispatch", "predict", "--text", "小区门口的垃圾好几天没人清运", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["label"] in meta["labels"] and len(out["alternatives"]) == 3


def test_cli_train_register_records_an_inactive_version(cli_env, capsys, db):
    from yiwang.smartdispatch.models import ModelVersion

    sample = write_sample(cli_env / "train.csv", sample_rows(10))
    assert cli.main(["dispatch", "train", "--input", str(sample), "--unlabelled", "--out", str(cli_env / "m"),
                     "--register"]) == 0
    version = ModelVersion.objects.get()
    assert (version.number, version.active, version.n_train) == (1, False, 70)
    assert "v1" in capsys.readouterr().err


def test_cli_bad_input_exits_2_with_a_message(cli_env, capsys):
    bad = cli_env / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    assert cli.main(["dispatch", "evaluate", "--input", str(bad), "--model", str(cli_env)]) == 2
    assert "missing column" in capsys.readouterr().err
    assert cli.main(["dispatch", "evaluate", "--input", str(cli_env / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["dispatch", "predict", "--text", " ", "--model", str(cli_env)]) == 2
    assert "empty" in capsys.readouterr().err
