"""``yiwang insight duplicates|clusters|bursts``: the perception platform's batch analyses on a CSV file.

    yiwang insight duplicates --input CSV [--json]   pairs judged the same case
    yiwang insight clusters --input CSV [--json]     case clusters (duplicates and similar cases) by heat
    yiwang insight bursts --input CSV [--json]       alerts a replay in time order would have raised

The CSV is shaped like ``appeals_public_2019.csv``: id, time, title, detail
required; user, likes, opposes (and dissatisfied) optional. No database needed.
Exit codes: 0 done, 2 bad input (printed as ``error: ...``).
"""

from __future__ import annotations

import json
import sys

from .appeals import InputError, read_appeals


def add_parser(sub) -> None:
    p = sub.add_parser("insight", help="hotline perception: repeat calls, case clusters, sudden issues on a CSV file")
    cmds = p.add_subparsers(dest="insight_command", required=True)
    for name, func, help_ in (("duplicates", cmd_duplicates, "pairs of appeals judged the same case"),
                              ("clusters", cmd_clusters, "case clusters ranked by heat"),
                              ("bursts", cmd_bursts, "replay in time order and print the alerts raised")):
        c = cmds.add_parser(name, help=help_)
        c.add_argument("--input", required=True, help="CSV with id,time,title,detail (user,likes,opposes optional)")
        c.add_argument("--json", action="store_true", help="print one JSON list")
        c.set_defaults(func=func)


def run(func, args) -> int:
    try:
        return func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _print(items: list[dict], as_json: bool, line) -> None:
    if as_json:
        print(json.dumps(items, ensure_ascii=False))
        return
    for item in items:
        print(line(item))


def cmd_duplicates(args) -> int:
    from .pairs import duplicates

    _print(duplicates(read_appeals(args.input)), args.json, lambda d: f"{d['a']}\t{d['b']}\t{d['score']:.3f}")
    return 0


def cmd_clusters(args) -> int:
    from .clusters import clusters

    found = [{"ids": c["ids"], "label": c["label"], "heat": c["heat"]} for c in clusters(read_appeals(args.input))]
    _print(found, args.json, lambda c: f"{c['heat']:.3f}\t{len(c['ids'])}\t{c['label']}\t{','.join(c['ids'])}")
    return 0


def cmd_bursts(args) -> int:
    from .bursts import bursts

    _print(bursts(read_appeals(args.input)), args.json, lambda a: f"{a['raised_at']}\t{a['reason']}")
    return 0
