"""What the appellant sees of their own order: plain words, no staff names, no internal notes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yiwang.workorders.models import Assignment, Event, Satisfaction, WorkOrder
from yiwang.workorders.states import Action, Status

# The order's status in the appellant's words.
PUBLIC_STATUS = {
    Status.REGISTERED: "已受理，正在分派",
    Status.DISPATCHED: "已转交承办单位",
    Status.RETURN_REQUESTED: "正在确定承办单位",
    Status.HANDLING: "办理中",
    Status.REPLIED: "承办单位已答复，答复审核中",
    Status.FOLLOW_UP: "已答复，请您评价",
    Status.ARCHIVED: "已办结",
    Status.MERGED: "已与相同问题的诉求合并办理",
}

# Statuses in which the reply has passed the hotline's review and may be shown.
REPLY_PUBLISHED = {Status.FOLLOW_UP, Status.ARCHIVED}


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    text: str


def public_status(order: WorkOrder) -> str:
    if order.status == Status.FOLLOW_UP and order.satisfaction:
        return "已评价，等待热线处理"
    return PUBLIC_STATUS[order.status]


def reply_visible(order: WorkOrder) -> bool:
    return order.status in REPLY_PUBLISHED and bool(order.reply)


def can_rate(order: WorkOrder) -> bool:
    return order.status == Status.FOLLOW_UP and not order.satisfaction


def timeline(order: WorkOrder) -> list[Step]:
    """The order's events as the appellant should read them; internal steps are left out.

    Left out: progress notes, return and extension requests, escalations, SLA
    warnings, co-units' sign-for: internal working of the hotline, and often
    naming staff. Unit names are public bodies and are shown.
    """
    events = order.events.select_related("unit").order_by("created_at", "id")
    steps = []
    for event in events:
        text = _step_text(event)
        if text:
            steps.append(Step(event.created_at, text))
    return steps


def _step_text(event: Event) -> str:
    action, unit = event.action, event.unit.name if event.unit else ""
    if action in (Action.REGISTER, Action.TRANSFER_FROM_CITY):
        return "诉求已受理"
    if action == Action.DISPATCH:
        return f"已转交{unit}办理" if unit else "已转交承办单位办理"
    if action == Action.SIGN and event.data.get("role") != Assignment.Role.CO:
        return "承办单位已签收，正在办理"
    if action == Action.APPROVE_RETURN:
        return "正在重新确定承办单位"
    if action == Action.APPROVE_EXTENSION:
        return "因办理需要，办理期限已延长"
    if action == Action.REPLY:
        return "承办单位已答复，热线正在审核答复"
    if action == Action.REJECT_REPLY:
        return "答复未通过审核，承办单位继续办理"
    if action == Action.APPROVE_REPLY:
        return "答复已通过审核，请查看答复并评价"
    if action == Action.FOLLOW_UP:
        label = Satisfaction(event.data["satisfaction"]).label if event.data.get("satisfaction") else ""
        who = "您的评价" if event.data.get("source") == "appellant" else "回访结果"
        text = f"{who}：{label}" if label else "已回访"
        return text + "，已办结" if event.to_status == Status.ARCHIVED else text
    if action == Action.REOPEN:
        return "已安排重新办理"
    if action in (Action.ARCHIVE, Action.ANSWER_DIRECTLY):
        return "已办结"
    if action == Action.MERGE:
        return "已与相同问题的诉求合并办理"
    return ""
