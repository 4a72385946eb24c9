"""``yiwang dispatch train|evaluate|predict``: the classifier from the command line.

The commands work on model directories and need no database, so they run on a
fresh checkout:

    yiwang dispatch train [--input CSV] [--out DIR] [--unlabelled CSV ...] [--register]
    yiwang dispatch evaluate --input CSV [--model DIR] [--json]
    yiwang dispatch predict --text "..." [--title "..."] [--model DIR] [--json]

Which model evaluate and predict use: ``--model DIR``; else the last model
``train`` wrote; else the platform's active version (when the database is
migrated); else one is trained now on the shipped data, once, and kept.

Exit codes: 0 done, 2 bad input (missing file or column, no label), 1 anything else.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import classifier


def add_parser(sub) -> None:
    p = sub.add_parser("dispatch", help="intelligent dispatch: train, evaluate and try the text classifier")
    cmds = p.add_subparsers(dest="dispatch_command", required=True)

    train = cmds.add_parser("train", help="train a model on labelled appeals (default: the shipped file)")
    train.add_argument("--input", help="CSV with id,title,detail,label (default: the shipped training file)")
    train.add_argument("--out", help="directory to write the model to (default: a new one under the models dir)")
    train.add_argument("--unlabelled", nargs="*",
                       help="CSV files of unlabelled appeals with title,detail (default: the two shipped ones)")
    train.add_argument("--register", action="store_true",
                       help="also record it as an (inactive) model version of the platform; activate it in the admin")
    train.add_argument("--json", action="store_true", help="print the model's metadata as JSON")
    train.set_defaults(func=cmd_train)

    evaluate = cmds.add_parser("evaluate", help="score a model on a labelled CSV")
    evaluate.add_argument("--input", required=True, help="CSV with at least id,title,detail,label")
    evaluate.add_argument("--model", help="model directory (default: see `yiwang dispatch --help`)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = cmds.add_parser("predict", help="suggest a category and unit for one appeal")
    predict.add_argument("--text", required=True, help="the appeal's text (detail)")
    predict.add_argument("--title", default="", help="the appeal's title, if it has one")
    predict.add_argument("--model", help="model directory")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    predict.set_defaults(func=cmd_predict)


class UsageError(Exception):
    """Bad input from the user: printed as ``error: ...`` with exit code 2."""


def run(func, args) -> int:
    try:
        return func(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# --- paths -------------------------------------------------------------------

def _settings():
    from django.conf import settings

    return settings


def _models_root() -> Path:
    return Path(_settings().SMARTDISPATCH_MODELS_DIR)


def _latest_pointer() -> Path:
    return _models_root() / "cli" / "LATEST"


def _existing(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{what} {path} does not exist")
    return path


def _read_rows(path: Path) -> list[classifier.LabelledText]:
    try:
        return classifier.read_labelled(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(str(exc)) from exc


# --- train -------------------------------------------------------------------

def train_model(input_csv: Path, unlabelled: list[Path], out: Path | None) -> tuple[classifier.Classifier, Path]:
    rows = _read_rows(input_csv)
    texts = classifier.read_unlabelled(unlabelled)
    clf = classifier.train(rows, texts)
    clf.meta.update({"input": str(input_csv), "unlabelled_files": [str(p) for p in unlabelled]})
    out = out or _models_root() / "cli" / time.strftime("%Y%m%d-%H%M%S")
    clf.save(out)
    pointer = _latest_pointer()
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(str(out.resolve()), encoding="utf-8")
    return clf, out


def cmd_train(args) -> int:
    from . import training

    what = "input file" if args.input else "shipped training file"
    input_csv = _existing(args.input or training.shipped_csv(), what)
    if args.unlabelled is None:
        unlabelled = training.unlabelled_paths()
    else:
        unlabelled = [_existing(p, "unlabelled file") for p in args.unlabelled]
    clf, out = train_model(input_csv, unlabelled, Path(args.out) if args.out else None)
    if args.register:
        _register(clf, out)
    if args.json:
        print(json.dumps({**clf.meta, "directory": str(out)}, ensure_ascii=False))
    else:
        print(f"trained on {clf.meta['n_train']} labelled and {clf.meta['n_unlabelled']} unlabelled appeals "
              f"in {clf.meta['train_seconds']} s; saved to {out}")
    return 0


def _register(clf: classifier.Classifier, out: Path) -> None:
    from . import services

    version = services.register_version(clf, directory=out, training_data="yiwang dispatch train",
                                        n_train=int(clf.meta["n_train"]), note="trained from the command line")
    print(f"recorded as model version v{version.number} (activate it in the admin)", file=sys.stderr)


# --- choosing a model --------------------------------------------------------

def resolve_model(explicit: str | None) -> classifier.Classifier:
    if explicit:
        return _load(_existing(explicit, "model directory"))
    pointer = _latest_pointer()
    if pointer.exists() and Path(pointer.read_text(encoding="utf-8").strip()).exists():
        return _load(Path(pointer.read_text(encoding="utf-8").strip()))
    active = _active_model()
    if active is not None:
        return active
    from . import training

    print("no trained model yet: training one on the shipped data (once)…", file=sys.stderr)
    shipped = _existing(training.shipped_csv(), "shipped training file")
    clf, out = train_model(shipped, training.unlabelled_paths(), None)
    print(f"saved to {out}", file=sys.stderr)
    return clf


def _load(path: Path) -> classifier.Classifier:
    try:
        return classifier.Classifier.load(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load a model from {path}: {exc}") from exc


def _active_model() -> classifier.Classifier | None:
    """The platform's active version, if the database is there and has one."""
    from django.db import DatabaseError

    try:
        from . import services

        version = services.active_version()
        return services.classifier_for(version) if version else None
    except (DatabaseError, OSError, ValueError):
        return None


# --- evaluate and predict ----------------------------------------------------

def cmd_evaluate(args) -> int:
    rows = _read_rows(_existing(args.input, "input file"))
    if not rows:
        raise UsageError(f"{args.input} has no rows")
    clf = resolve_model(args.model)
    clf.predict(rows[0].title, rows[0].detail)  # warm up: ms_per_item is for a loaded model
    result = classifier.evaluate(clf, rows)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"n={result['n']}  accuracy={result['accuracy']:.4f}  macro-F1={result['macro_f1']:.4f}  "
          f"{result['ms_per_item']:.2f} ms per appeal")
    for label, s in result["per_label"].items():
        print(f"  {label:<10} P={s['precision']:.3f} R={s['recall']:.3f} F1={s['f1']:.3f} n={s['support']}")
    return 0


def cmd_predict(args) -> int:
    if not (args.text.strip() or args.title.strip()):
        raise UsageError("--text is empty")
    clf = resolve_model(args.model)
    prediction = clf.predict(args.title, args.text)
    result = {**prediction.as_dict(), "route": _route(prediction, f"{args.title} {args.text}")}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{' / '.join(prediction.path)}  置信度 {prediction.confidence:.2f}")
    print("备选: " + "，".join(f"{label} {p:.2f}" for label, p in prediction.alternatives))
    print("依据: " + "、".join(prediction.keywords))
    if result["route"]:
        print(f"街道: {result['route']['street'] or '未识别'}  主办: {result['route']['lead_unit'] or '无规则'}")
    return 0


def _route(prediction: classifier.Prediction, text: str) -> dict | None:
    """Street and lead unit from the gazetteer and routing rules, when the database is there."""
    from django.db import DatabaseError

    try:
        from yiwang.org.routing import route_for

        from . import gazetteer, services

        place = gazetteer.resolve("", text)
        category = services._category_for(prediction)
        route = route_for(category, place.street)
        return {
            "category": category.path if category else None,
            "street": place.street.name if place.street else None,
            "street_clues": place.clues,
            "lead_unit": route.lead_unit.name if route.lead_unit else None,
            "co_units": [u.name for u in route.co_units],
        }
    except DatabaseError:
        return None
