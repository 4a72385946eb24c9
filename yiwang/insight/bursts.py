"""Sudden issues (突发事件): replay appeals in time order and raise self-explaining alerts.

Each appeal is counted under several keys: its district (A3区, the street level
of this data) and every specific place or entity it names (:mod:`.entities`),
which is where an emerging topic shows first (one estate, one plant, one
lender). For each key, when an appeal arrives:

* ``count`` = its appeals in the last ``WINDOW`` (24 h, sliding);
* ``expected`` = the key's mean count per day over the previous
  ``BASELINE_DAYS`` days, taken over days of the same type only (working day
  vs weekend/holiday, from ``chinese_calendar``, which knows adjusted working
  days), never below ``FLOOR`` (a place never named before has a small rate,
  not zero);
* an alert is raised when ``count >= MIN_COUNT``, at least ``MIN_USERS``
  distinct callers are involved (one person's repeated calls are repeat calls,
  not a sudden issue) and the Poisson tail P(X >= count | expected) is below
  ``ALPHA``. A district needs ``WARMUP_DAYS`` of history before it can alert.
  After an alert the key stays quiet for one window.

Alerts are raised at the arrival time of the appeal that crossed the line, so
the delay is that of the data, not of a batch. The day types, the floored rate
and the Poisson test are :mod:`.burstcore`, shared with the live detector
(:mod:`yiwang.alerts.detector`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from . import burstcore, entities
from .appeals import Appeal

WINDOW = timedelta(hours=24)
BASELINE_DAYS = 28
FLOOR = 0.15
MIN_COUNT = 3
MIN_USERS = 2
ALPHA = 1e-4
WARMUP_DAYS = 14
RULE = burstcore.Rule(baseline_days=BASELINE_DAYS, floor=FLOOR, min_count=MIN_COUNT, min_users=MIN_USERS, alpha=ALPHA)

is_workday = burstcore.library_is_workday


@lru_cache(maxsize=4096)
def _days_of_type(end: date, workday: bool) -> int:
    return burstcore.days_of_type(burstcore.baseline_days(end, BASELINE_DAYS), workday, is_workday)


@dataclass
class _Event:
    time: datetime
    index: int
    user: str


def _keys(a: Appeal) -> list[tuple[str, bool]]:
    """(key, is_district) for an appeal."""
    text = a.text
    keys = [(d, True) for d in entities.districts(text)[:1]]
    keys += [(n, False) for n in sorted(entities.extract(text))]
    return keys


def detect(appeals: list[Appeal]) -> list[dict]:
    order = sorted(range(len(appeals)), key=lambda k: (appeals[k].time, appeals[k].id))
    history: dict[str, deque[_Event]] = defaultdict(deque)
    quiet_until: dict[str, datetime] = {}
    first_seen: dict[str, datetime] = {}
    alerts = []
    for k in order:
        a = appeals[k]
        for key, is_district in _keys(a):
            first_seen.setdefault(key, a.time)
            events = history[key]
            events.append(_Event(a.time, k, a.user))
            horizon = a.time - WINDOW - timedelta(days=BASELINE_DAYS)
            while events and events[0].time < horizon:
                events.popleft()
            if quiet_until.get(key, a.time) > a.time:
                continue
            if is_district and a.time - first_seen[key] < timedelta(days=WARMUP_DAYS):
                continue
            alert = _check(key, events, a.time)
            if alert:
                alerts.append(alert)
                quiet_until[key] = a.time + WINDOW
    return alerts


def _check(key: str, events: deque[_Event], now: datetime) -> dict | None:
    window = [e for e in events if e.time > now - WINDOW]
    if len(window) < MIN_COUNT:
        return None
    users = {e.user for e in window if e.user}
    if users and len(users) < MIN_USERS:
        return None
    workday = is_workday(now.date())
    before = now - WINDOW
    # The sliding baseline of the replay: events up to the window's start, over the days of
    # the same type among the BASELINE_DAYS before it.
    past = sum(1 for e in events if e.time <= before and is_workday(e.time.date()) == workday)
    expected = burstcore.daily_rate(past, _days_of_type(before.date(), workday), FLOOR)
    p = burstcore.test(len(window), len(users), expected, RULE)
    if p is None:
        return None
    ids = [e.index for e in window]
    return {"raised_at": now, "key": key, "indexes": ids, "count": len(window), "expected": expected, "p": p,
            "workday": workday, "users": len(users)}


def explain(alert: dict, appeals: list[Appeal]) -> dict:
    ids = [appeals[i].id for i in alert["indexes"]]
    kind = "工作日" if alert["workday"] else "休息日"
    ratio = alert["count"] / alert["expected"]
    reason = (f"{alert['key']}：24小时内{alert['count']}件诉求"
              + (f"（{alert['users']}位来电人）" if alert["users"] else "")
              + f"，{kind}常态约{alert['expected']:.2f}件/天，为常态的{ratio:.0f}倍（泊松 p={alert['p']:.1e}）；"
              + f"工单 {'、'.join(ids)}；最新：{appeals[alert['indexes'][-1]].title[:40]}")
    return {"raised_at": alert["raised_at"].isoformat(), "ids": ids, "reason": reason}


def bursts(appeals: list[Appeal]) -> list[dict]:
    return [explain(a, appeals) for a in detect(appeals)]
