"""Quality of the perception batch core: duplicate precision/recall and burst delay/false alarms.

    .venv/bin/python bench/insight_quality.py [--input ../shared/data/appeals_public_2019.csv]

1. Duplicates: the pairs of ``yiwang/insight/tests/data/dev_pairs.csv`` (a, b,
   label in same/similar/neither, labelled by reading both appeals against the
   definitions of issue 5) against the output of ``yiwang insight duplicates``.
   Column ``drawn`` says how a pair was chosen: ``method_output_biased`` (111
   pairs picked from an earlier version's own output, so recall on them is
   flattering), ``random_output`` (80 pairs drawn at random from the 1,441
   pairs of commit 5373a92) and ``random_nearmiss`` (40 drawn at random from
   the 400 highest-cosine candidate pairs it rejected). Recall on the random
   sample is relative to those candidates, not to every pair of the file.
   Thresholds in ``yiwang/insight/pairs.py`` were chosen on all 231 pairs,
   preferring precision over the F1 optimum.

   Result on ``appeals_public_2019.csv`` (4,326 rows), 2-core dev machine:
   1,306 pairs, duplicates 10.6 s in process (``yiwang insight duplicates
   --input ../shared/data/appeals_public_2019.csv --json``: 12 s wall, was ~21-36 s);
   all 231 pairs precision 0.939 recall 0.764; random sample precision 0.957
   recall 0.657 (tp 67, fp 3, fn 35); biased pairs precision 0.923 recall 0.900.
   The 5373a92 thresholds on the same vectors gave: random 0.919 / 0.667, biased 0.958 / 0.850.
2. Bursts: the file replayed as is (every alert counts as a false alarm per
   week; the real data may hold real bursts, so this is an upper bound), then
   replayed with ``--injections`` synthetic bursts, each 5 perturbed copies of
   one real appeal posted by 5 new callers over 3 hours at a random time;
   delay = first alert naming an injected appeal minus the burst's first appeal.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from yiwang.insight import bursts, pairs  # noqa: E402
from yiwang.insight.appeals import read_appeals  # noqa: E402

DEV = ROOT / "yiwang/insight/tests/data/dev_pairs.csv"


def duplicate_quality(appeals) -> None:
    t = time.perf_counter()
    found = {frozenset((d["a"], d["b"])) for d in pairs.duplicates(appeals)}
    seconds = time.perf_counter() - t
    print(f"duplicates: {len(found)} pairs in {seconds:.1f} s")
    with DEV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # The random sample is reported apart: the biased pairs were drawn from an earlier version's own output.
    for name, keep in (("all", lambda r: True),
                       ("random (random_output + random_nearmiss)", lambda r: r["drawn"].startswith("random")),
                       ("biased (method_output_biased)", lambda r: r["drawn"] == "method_output_biased")):
        tp = fp = fn = 0
        for row in filter(keep, rows):
            pred = frozenset((row["a"], row["b"])) in found
            truth = row["label"] == "same"
            tp += pred and truth
            fp += pred and not truth
            fn += truth and not pred
        print(f"  {name}: precision={tp / max(1, tp + fp):.3f} recall={tp / max(1, tp + fn):.3f} "
              f"(tp={tp} fp={fp} fn={fn})")


def _perturb(text: str, rng: random.Random) -> str:
    cut = rng.randrange(len(text) // 3 + 1)
    return rng.choice(["再次反映：", "", "紧急！", "请领导关注："]) + text[cut:]


def burst_quality(appeals, injections: int, seed: int) -> None:
    weeks = (appeals_sorted := sorted(a.time for a in appeals))[-1] - appeals_sorted[len(appeals_sorted) // 100]
    weeks = weeks.days / 7  # skip the few stray 2017/2018 rows at the start
    base = bursts.bursts(appeals)
    print(f"bursts on the file as is: {len(base)} alerts over {weeks:.0f} weeks = {len(base) / weeks:.2f} per week")
    rng = random.Random(seed)
    pool = [a for a in appeals if a.time >= appeals_sorted[len(appeals_sorted) // 20]]
    delays, missed = [], 0
    for n in range(injections):
        seed_appeal = rng.choice(pool)
        t0 = seed_appeal.time + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 12))
        injected = [replace(seed_appeal, id=f"inj{n}-{m}", user=f"inj{n}-{m}", time=t0 + timedelta(minutes=36 * m),
                            title=_perturb(seed_appeal.title, rng), detail=_perturb(seed_appeal.detail, rng))
                    for m in range(5)]
        ids = {a.id for a in injected}
        hits = [a for a in bursts.bursts(appeals + injected) if ids & set(a["ids"])]
        if not hits:
            missed += 1
            continue
        first = min(datetime.fromisoformat(h["raised_at"]) for h in hits)
        delays.append((first - t0).total_seconds() / 60)
    print(f"injected bursts: {injections}, detected {injections - missed} "
          f"({(injections - missed) / injections:.0%}); delay after the first injected appeal: "
          f"median {statistics.median(delays) if delays else float('nan'):.0f} min, max {max(delays, default=float('nan')):.0f} min")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--input", default=str(ROOT.parent / "shared/data/appeals_public_2019.csv"))
    p.add_argument("--injections", type=int, default=30)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    appeals = read_appeals(args.input)
    duplicate_quality(appeals)
    burst_quality(appeals, args.injections, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
