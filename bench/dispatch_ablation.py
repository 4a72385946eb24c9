"""Cross-validated quality of the dispatch classifier, and what each idea adds.

    .venv/bin/python bench/dispatch_ablation.py [--seeds 2] [--folds 5] [--only full]

Each configuration is trained with ``classifier.train`` exactly as the platform
trains it (the latent space is refitted in every fold on the training fold plus
the unlabelled appeals; unlabelled appeals whose title equals a test row's are
left out, so no test text leaks in) and scored on the held-out fold. Prints one
row per configuration: mean macro-F1 over folds × seeds, its standard deviation,
min and max, accuracy, and for the full model the training time and the mean
single-appeal prediction time (one thread, model loaded).

The rows are cumulative: each adds one idea to the row above.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the bar is one CPU core
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.model_selection import StratifiedKFold  # noqa: E402

from yiwang.smartdispatch import classifier  # noqa: E402

DATA = Path(os.environ.get("YIWANG_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))

FULL = classifier.Params()
CONFIGS = [
    ("char n-grams, title+detail blocks", replace(FULL, balanced=False, title_weight=1.0, use_lsa=False,
                                                  use_taxonomy=False)),
    ("+ balanced class weights", replace(FULL, title_weight=1.0, use_lsa=False, use_taxonomy=False)),
    ("+ title weighted 1.5", replace(FULL, use_lsa=False, use_taxonomy=False)),
    ("+ LSA learnt from unlabelled appeals", replace(FULL, use_taxonomy=False)),
    ("+ taxonomy evidence (= full model)", FULL),
]


def unlabelled_rows() -> list[tuple[str, str]]:
    import csv

    rows = []
    for name in ("appeals_public_2019.csv", "appeals_with_replies.csv"):
        with open(DATA / name, encoding="utf-8") as f:
            rows += [(classifier.clean(r["title"]), f"{classifier.clean(r['title'])} "
                      f"{classifier.clean(r['detail'])[:classifier.MAX_DETAIL_CHARS]}") for r in csv.DictReader(f)]
    return rows


def cross_validate(params, rows, unlabelled, seeds: int, folds: int) -> dict:
    labels = [r.label for r in rows]
    f1s, accs, ms, train_s = [], [], [], []
    for seed in range(seeds):
        for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels):
            test = [rows[i] for i in test_idx]
            test_titles = {classifier.clean(r.title) for r in test}
            texts = [text for title, text in unlabelled if title not in test_titles]
            started = time.perf_counter()
            clf = classifier.train([rows[i] for i in train_idx], texts, params=params)
            train_s.append(time.perf_counter() - started)
            result = classifier.evaluate(clf, test)
            f1s.append(result["macro_f1"])
            accs.append(result["accuracy"])
            ms.append(result["ms_per_item"])
    return {"macro_f1": statistics.mean(f1s), "sd": statistics.pstdev(f1s), "min": min(f1s), "max": max(f1s),
            "accuracy": statistics.mean(accs), "ms_per_item": statistics.mean(ms),
            "train_s": statistics.mean(train_s)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--only", choices=["full"], help="only the full model")
    args = p.parse_args()
    rows = classifier.read_labelled(DATA / "appeals_labelled_train.csv")
    unlabelled = unlabelled_rows()
    configs = CONFIGS[-1:] if args.only else CONFIGS
    print(f"{len(rows)} labelled, {len(unlabelled)} unlabelled; {args.folds}-fold CV × {args.seeds} seeds; "
          f"load {os.getloadavg()[0]:.1f}")
    print("| configuration | macro-F1 | sd | min–max | accuracy | ms/appeal | train s (fold) |")
    print("|---|---|---|---|---|---|---|")
    for name, params in configs:
        r = cross_validate(params, rows, unlabelled, args.seeds, args.folds)
        print(f"| {name} | {r['macro_f1']:.4f} | {r['sd']:.4f} | {r['min']:.3f}–{r['max']:.3f} | "
              f"{r['accuracy']:.4f} | {r['ms_per_item']:.2f} | {r['train_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
