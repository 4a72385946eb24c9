"""The work-order lifecycle as data: statuses and the edges each action may take.

Pure Python, no database: the services check every move against this table and
the tests can walk it without Django.

    register ─► REGISTERED ─dispatch─► DISPATCHED ─sign─► HANDLING ─reply─► REPLIED
        │            │                    │   ▲               │  ▲            │
        │      answer_directly      request_return          │  └─reject_reply┘
        │            ▼                    ▼   │               │       approve_reply
        │        ARCHIVED ◄─archive/follow_up── FOLLOW_UP ◄────────────────┘
        │            │                              │
        │            └──────────── reopen ──────────┴──► DISPATCHED
        └─ merge (before the reply) ─► MERGED

    link (关联): before the reply, like merge, status to itself; unlink (取消关联): any
    open status to itself. A repeat call linked to its master keeps its own life; only
    ``master`` changes (see ``repeats``).
"""

from __future__ import annotations

import functools

from django.db import models


class Status(models.TextChoices):
    REGISTERED = "registered", "待派单"
    DISPATCHED = "dispatched", "待签收"
    RETURN_REQUESTED = "return_requested", "退单待审"
    HANDLING = "handling", "办理中"
    REPLIED = "replied", "待审核"
    FOLLOW_UP = "follow_up", "待回访"
    ARCHIVED = "archived", "已归档"
    MERGED = "merged", "已合并"


class Action(models.TextChoices):
    REGISTER = "register", "登记"
    TRANSFER_FROM_CITY = "transfer_from_city", "市级转派"
    ANSWER_DIRECTLY = "answer_directly", "直办"
    DISPATCH = "dispatch", "派单"
    SIGN = "sign", "签收"
    RECORD_PROGRESS = "record_progress", "办理记录"
    REQUEST_RETURN = "request_return", "申请退单"
    APPROVE_RETURN = "approve_return", "同意退单"
    REJECT_RETURN = "reject_return", "驳回退单"
    REQUEST_EXTENSION = "request_extension", "申请延期"
    APPROVE_EXTENSION = "approve_extension", "同意延期"
    REFUSE_EXTENSION = "refuse_extension", "拒绝延期"
    REPLY = "reply", "答复"
    APPROVE_REPLY = "approve_reply", "审核通过"
    REJECT_REPLY = "reject_reply", "审核退回"
    FOLLOW_UP = "follow_up", "回访"
    REOPEN = "reopen", "重办"
    ARCHIVE = "archive", "归档"
    ESCALATE = "escalate", "督办"
    MERGE = "merge", "合并"
    LINK = "link", "关联"
    UNLINK = "unlink", "取消关联"
    SIGN_OVERDUE = "sign_overdue", "签收超时"
    SLA_YELLOW = "sla_yellow", "黄灯预警"
    SLA_RED = "sla_red", "红灯超期"


S = Status
UNIT_STAGE = {S.DISPATCHED, S.HANDLING, S.RETURN_REQUESTED}
OPEN = {S.REGISTERED, *UNIT_STAGE, S.REPLIED, S.FOLLOW_UP}
TERMINAL = {S.ARCHIVED, S.MERGED}


def _same(statuses) -> set[tuple]:
    return {(s, s) for s in statuses}


# action -> the (from, to) edges it may take. ``None`` as "from" means creation.
EDGES: dict[str, set[tuple]] = {
    Action.REGISTER: {(None, S.REGISTERED)},
    Action.TRANSFER_FROM_CITY: {(None, S.REGISTERED)},
    Action.ANSWER_DIRECTLY: {(S.REGISTERED, S.ARCHIVED)},
    Action.DISPATCH: {(S.REGISTERED, S.DISPATCHED), (S.DISPATCHED, S.DISPATCHED)},
    Action.SIGN: {(S.DISPATCHED, S.HANDLING)},
    Action.RECORD_PROGRESS: _same(UNIT_STAGE),
    Action.REQUEST_RETURN: {(S.DISPATCHED, S.RETURN_REQUESTED), (S.HANDLING, S.RETURN_REQUESTED)},
    Action.APPROVE_RETURN: {(S.RETURN_REQUESTED, S.REGISTERED)},
    Action.REJECT_RETURN: {(S.RETURN_REQUESTED, S.DISPATCHED), (S.RETURN_REQUESTED, S.HANDLING)},
    Action.REQUEST_EXTENSION: _same({S.HANDLING}),
    Action.APPROVE_EXTENSION: _same({S.HANDLING, S.RETURN_REQUESTED}),
    Action.REFUSE_EXTENSION: _same({S.HANDLING, S.RETURN_REQUESTED, S.REPLIED}),
    Action.REPLY: {(S.HANDLING, S.REPLIED)},
    Action.APPROVE_REPLY: {(S.REPLIED, S.FOLLOW_UP)},
    Action.REJECT_REPLY: {(S.REPLIED, S.HANDLING)},
    Action.FOLLOW_UP: {(S.FOLLOW_UP, S.ARCHIVED), (S.FOLLOW_UP, S.FOLLOW_UP)},
    Action.REOPEN: {(S.FOLLOW_UP, S.DISPATCHED), (S.ARCHIVED, S.DISPATCHED)},
    Action.ARCHIVE: {(S.FOLLOW_UP, S.ARCHIVED)},
    Action.ESCALATE: _same({S.REGISTERED, *UNIT_STAGE, S.REPLIED}),
    Action.MERGE: {(s, S.MERGED) for s in (S.REGISTERED, S.DISPATCHED, S.HANDLING, S.RETURN_REQUESTED)},
    Action.LINK: _same({S.REGISTERED, *UNIT_STAGE}),
    Action.UNLINK: _same(OPEN),
    Action.SIGN_OVERDUE: _same({S.DISPATCHED}),
    Action.SLA_YELLOW: _same(UNIT_STAGE),
    Action.SLA_RED: _same(UNIT_STAGE),
}


def allowed(action: str, current: str | None, target: str | None) -> bool:
    return (current, target) in EDGES.get(action, set())


@functools.cache
def actions_from(current: str) -> tuple[str, ...]:
    """Actions that have an edge out of ``current`` (for showing buttons).

    Kept per status: every order's detail asks (its allowed actions), and scanning
    every action's edges was a tenth of writing an order's answer.
    """
    return tuple(a for a, edges in EDGES.items() if any(f == current for f, _ in edges))


def label(status: str | None) -> str:
    return Status(status).label if status else "（新建）"
