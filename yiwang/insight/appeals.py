"""Reading appeals for the batch commands: CSV files shaped like ``appeals_public_2019.csv``.

Columns ``id``, ``time``, ``title`` and ``detail`` are required; ``user``,
``likes``, ``opposes`` and ``dissatisfied`` (0/1, where a satisfaction survey
exists) are optional. Anything else is ignored. Bad input raises
:class:`InputError` with a message meant for the person who gave the file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REQUIRED = ("id", "time", "title", "detail")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


class InputError(ValueError):
    """The input file cannot be used; the message says why."""


@dataclass(frozen=True)
class Appeal:
    id: str
    time: datetime
    title: str
    detail: str
    user: str = ""
    likes: int = 0
    opposes: int = 0
    dissatisfied: bool = False

    @property
    def text(self) -> str:
        return f"{self.title}。{self.detail}"


def parse_time(value: str) -> datetime:
    value = (value or "").strip()
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise InputError(f"cannot read time {value!r}") from None


def _count(row: dict, column: str, line: int) -> int:
    raw = (row.get(column) or "").strip()
    if not raw:
        return 0
    try:
        return max(0, int(float(raw)))
    except ValueError:
        raise InputError(f"line {line}: {column} {raw!r} is not a number") from None


def read_appeals(path: str | Path) -> list[Appeal]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise InputError(f"{path} lacks the column(s) {', '.join(missing)} (has: {', '.join(columns) or 'none'})")
            appeals, seen = [], set()
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "") for k, v in raw.items()}
                ident = row["id"].strip()
                if not ident:
                    raise InputError(f"line {line}: empty id")
                if ident in seen:
                    raise InputError(f"line {line}: id {ident} occurs twice")
                seen.add(ident)
                try:
                    when = parse_time(row["time"])
                except InputError as exc:
                    raise InputError(f"line {line}: {exc}") from None
                appeals.append(Appeal(
                    id=ident, time=when, title=row["title"].strip(), detail=row["detail"].strip(),
                    user=row.get("user", "").strip(), likes=_count(row, "likes", line),
                    opposes=_count(row, "opposes", line),
                    dissatisfied=row.get("dissatisfied", "").strip() in ("1", "true", "True", "是")))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError(f"{path} is not a readable CSV file: {exc}") from None
    if not appeals:
        raise InputError(f"{path} has no rows")
    return appeals
