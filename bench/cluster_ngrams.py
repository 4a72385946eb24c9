"""One chunk of the case-cluster job's scoring, with scikit-learn's n-gram counting and with ours.

Run from the repository root:

    .venv/bin/python bench/cluster_ngrams.py                 # a window of 22,000 appeals, 2,000 of them new
    .venv/bin/python bench/cluster_ngrams.py --window 5000

The job (yiwang/clusters/engine.py) scores each chunk of new orders against a window
of up to ``MAX_WINDOW`` placed ones plus the chunk: ``insight.pairs.build`` counts the
character bigrams and trigrams of every text twice (the text, and the text with its
places blanked) and weighs them by TF-IDF, then ``engine._links`` finds each new
order's neighbours and judges the candidate pairs. This bench builds such a window
from the public appeals (each copy with its own number in the title, as the load
benchmark's orders have), times ``build`` with ``CountVectorizer`` and with
``insight.ngrams.CharNgramCounter``, checks that both give the same matrices, and times
``_links`` once. CPU seconds of this process.

Shared 2-core machine, a slow hour (a fixed Python loop 110-140 ms, as
bench/intake_load.py reports it), --window 22000, two runs:

    build with CountVectorizer     28.7 s   24.2 s
    build with CharNgramCounter    15.2 s   11.4 s   (the first run before ngrams._distinct)
    links                           4.9 s    5.4 s

Most of the 11.4 s left is ``entities.extract`` on texts it has not seen (8.3 of 19.2 s
under cProfile), which its cache spares the job's later chunks (their windows overlap). The links found are
the same pairs; a pair whose score sits on a threshold may come and go (12,399-12,401
of 12,400) as the TF-IDF sums run in another order, as they would with another
CountVectorizer release.

The whole job, bench/cluster_quality.py --scale 1 --skip-batch --requests 5 (4,326
public appeals), with CountVectorizer and then with CharNgramCounter, same hour:

    backfill, 3 chunks            21.4 s (scoring 13.8 s)  ->  9.6 s (scoring 4.5 s)
    incremental run, 50 orders     2.2 s (scoring 1.75 s)  ->  0.8 s (scoring 0.36 s)
    pairwise quality, all 231      precision 0.959, recall 0.818 in both
    the 120 drawn at random        precision 0.965, recall 0.755 in both
    clusters created / merged      436 / 11 in both
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("YIWANG_DATA_DIR", ROOT.parent / "shared" / "data"))


def setup() -> None:
    var = tempfile.mkdtemp(prefix="yiwang-cluster-ngrams-")
    os.environ.update(YIWANG_VAR_DIR=var, DJANGO_SETTINGS_MODULE="yiwang.settings",
                      DATABASE_URL=f"sqlite:///{var}/unused.sqlite3")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def window(size: int) -> list:
    from yiwang.clusters import engine
    from yiwang.insight.appeals import Appeal

    with open(DATA / "appeals_public_2019.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["title"].strip() and r["detail"].strip()]
    random.Random(3).shuffle(rows)
    start = dt.datetime(2026, 1, 1)
    return [Appeal(id=str(k), time=start + dt.timedelta(seconds=k), title=f"{rows[k % len(rows)]['title'][:80]} {k}",
                   detail=rows[k % len(rows)]["detail"][:engine.MAX_DETAIL_CHARS], user=f"1{k % 5000:010d}")
            for k in range(size)]


def timed(func, *args):
    start = time.process_time()
    result = func(*args)
    return result, time.process_time() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--window", type=int, default=22_000, help="orders in the window, the new chunk included")
    p.add_argument("--new", type=int, default=2_000, help="new orders in the chunk")
    args = p.parse_args()
    setup()
    from sklearn.feature_extraction.text import CountVectorizer

    from yiwang.clusters import engine
    from yiwang.insight import pairs

    appeals = window(args.window)
    ours, ours_s = timed(pairs.build, appeals)
    original = pairs._counter
    pairs._counter = lambda: CountVectorizer(analyzer="char", ngram_range=(2, 3), dtype=np.float32)
    try:
        theirs, theirs_s = timed(pairs.build, appeals)
    finally:
        pairs._counter = original
    same = all((getattr(ours, m) != getattr(theirs, m)).nnz == 0 for m in ("text", "problem"))
    links, links_s = timed(engine._links, ours, list(range(args.window - args.new, args.window)))
    print(f"window {args.window:,} appeals, {args.new:,} new; CPU seconds; load "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"build with CountVectorizer {theirs_s:6.1f} s")
    print(f"build with CharNgramCounter {ours_s:5.1f} s   same TF-IDF matrices: {same}")
    print(f"links (neighbours, pairs)   {links_s:5.1f} s   {len(links):,} links")
    if not same:
        raise SystemExit("the two countings differ")


if __name__ == "__main__":
    main()
