"""The only writers of work orders. One function per action.

Each function runs in one transaction, locks the order row, checks the actor's
role and the edge against :mod:`states`, writes an event row (who, when, from,
to, why) and queues side effects to run after commit. Views, the REST API,
Open311 and importers all call these; nothing else saves a work order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.accounts.roles import Role
from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.core.models import AuditEntry
from yiwang.org.models import Category, Committee, Street, Unit
from yiwang.org.routing import route_for

from . import intake_sql, jobs, signals, sla
from .models import (
    AppealType, Assignment, Channel, Decision, Event, ExtensionRequest, FollowUp, ReturnReason,
    ReturnRequest, Satisfaction, Urgency, WorkOrder,
)
from .states import TERMINAL, Action, Status, allowed, label


# --- helpers ---------------------------------------------------------------

def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _require_role(actor, allowed_roles, action: str) -> None:
    if actor is None or not (actor.is_superuser or actor.role in allowed_roles):
        raise Forbidden(f"当前角色无权执行「{Action(action).label}」")


def _require_lead_unit(actor, order: WorkOrder, action: str) -> None:
    _require_role(actor, roles.UNIT_ACTORS, action)
    if order.lead_unit_id is None or actor.unit_id != order.lead_unit_id:
        raise Forbidden(f"只有主办单位可以执行「{Action(action).label}」")


def _lock(order: WorkOrder | int) -> WorkOrder:
    pk = order.pk if isinstance(order, WorkOrder) else order
    return WorkOrder.objects.select_for_update().get(pk=pk)


def _check(order: WorkOrder, action: str, to: str) -> None:
    if not allowed(action, order.status, to):
        raise IllegalTransition(
            f"工单当前状态为「{label(order.status)}」，不能执行「{Action(action).label}」",
        )


def _event(order: WorkOrder, action: str, old: str | None, *, actor, now, unit=None, reason="", data=None) -> Event:
    event = _new_event(order, action, old, actor=actor, now=now, unit=unit, reason=reason, data=data)
    event.save(force_insert=True)
    return event


def _new_event(order: WorkOrder, action: str, old: str | None, *, actor, now, unit=None, reason="",
               data=None) -> Event:
    return Event(order=order, action=action, from_status=old or "", to_status=order.status,
                 actor=actor, unit=unit, reason=reason, data=data or {}, created_at=now)


def _move(order: WorkOrder, action: str, to: str, *, actor, now, unit=None, reason="", data=None,
          fields: tuple[str, ...] = ()) -> Event:
    """Check the edge, change status, save the named fields and write the event."""
    _check(order, action, to)
    old = order.status
    order.status = to
    order.save(update_fields=["status", "updated_at", *fields])
    event = _event(order, action, old, actor=actor, now=now, unit=unit, reason=reason, data=data)
    jobs.on_commit_notify(event)
    return event


def _text(value, name: str, *, label_: str, required: bool = True, max_length: int | None = None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise Invalid(f"{label_}不能为空", field=name)
    if max_length and len(text) > max_length:
        raise Invalid(f"{label_}不能超过 {max_length} 个字", field=name)
    return text


def _choice(value, choices, name: str, label_: str) -> str:
    try:
        known = value in _values_of(choices)
    except TypeError:  # a list or dict from a JSON body is not hashable, and not a choice
        known = False
    if not known:
        allowed_values = "、".join(f"{v}（{l}）" for v, l in choices.choices)
        raise Invalid(f"{label_}「{value}」无效，可选：{allowed_values}", field=name)
    return value


@functools.cache
def _values_of(choices) -> frozenset:
    # Django's Choices.values builds a new list on every access; an intake checks three.
    return frozenset(choices.values)


# --- intake ----------------------------------------------------------------

@dataclass
class Intake:
    """What any channel hands in. Validated by :func:`register` before anything is written."""

    title: str
    content: str
    appeal_type: str = AppealType.REQUEST
    urgency: str = Urgency.NORMAL
    category: Category | None = None
    street: Street | None = None
    committee: Committee | None = None
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    appellant_name: str = ""
    appellant_phone: str = ""
    external_ref: str = ""
    extra: dict = field(default_factory=dict)

    def clean(self) -> None:
        self.title = _text(self.title, "title", label_="标题", max_length=200)
        self.content = _text(self.content, "content", label_="诉求内容", max_length=20000)
        self.appeal_type = _choice(self.appeal_type, AppealType, "appeal_type", "诉求类型")
        self.urgency = _choice(self.urgency, Urgency, "urgency", "紧急程度")
        self.address = _text(self.address, "address", label_="地址", required=False, max_length=255)
        self.appellant_name = _text(self.appellant_name, "appellant_name", label_="诉求人", required=False, max_length=64)
        self.appellant_phone = _text(self.appellant_phone, "appellant_phone", label_="联系电话", required=False, max_length=32)
        if self.appellant_phone and not all(c.isdigit() or c in "+-() " for c in self.appellant_phone):
            raise Invalid("联系电话只能包含数字、空格和 + - ( )", field="appellant_phone")
        if self.committee is not None:
            if self.street is None:
                self.street = self.committee.street
            elif self.committee.street_id != self.street.pk:
                raise Invalid(f"居委「{self.committee.name}」不属于街道「{self.street.name}」", field="committee")
        for name, value, lo, hi in (("latitude", self.latitude, -90, 90), ("longitude", self.longitude, -180, 180)):
            if value is None:
                continue
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise Invalid(f"{name} 必须是数字", field=name) from None
            if not lo <= number <= hi:
                raise Invalid(f"{name} 超出范围 [{lo}, {hi}]", field=name)
            setattr(self, name, round(number, 6))


def register(
    intake: Intake, *, actor, channel: str, idempotency_key: str | None = None,
    city_number: str | None = None, city_deadline: dt.datetime | None = None,
    direct_answer: str | None = None, now: dt.datetime | None = None,
) -> tuple[WorkOrder, bool]:
    """Create a work order from any channel. Returns (order, created).

    With an idempotency key, a retried intake returns the order the first try
    created instead of a second one, even when both tries race.
    """
    now = _now(now)
    action = Action.TRANSFER_FROM_CITY if channel == Channel.CITY else Action.REGISTER
    _require_role(actor, roles.CAN_TRANSFER_FROM_CITY if channel == Channel.CITY else roles.CAN_REGISTER, action)
    _choice(channel, Channel, "channel", "渠道")
    intake.clean()
    if channel == Channel.CITY:
        city_number = _text(city_number, "city_number", label_="市级工单编号", max_length=40)
        if city_deadline is None:
            raise Invalid("市级转派工单必须带市级办结时限", field="city_deadline")
    scoped_key = f"{actor.pk}:{idempotency_key.strip()}" if idempotency_key and idempotency_key.strip() else None
    if scoped_key and len(scoped_key) > 200:
        raise Invalid("幂等键不能超过 180 个字符", field="idempotency_key")

    # Insert first and look for an earlier try only when a unique key refuses the row:
    # retries are rare, so the common intake saves a query (bench/intake_load.py).
    try:
        with _intake_transaction(direct_answer is not None):
            order = _create(intake, actor=actor, channel=channel, scoped_key=scoped_key,
                            city_number=city_number, city_deadline=city_deadline, now=now, action=action)
            if direct_answer is not None:
                order = answer_directly(order, actor=actor, answer=direct_answer, now=now)
    except IntegrityError:
        # A concurrent retry with the same key (or city number) won the race.
        existing = _replayed(scoped_key, city_number, intake)
        if existing is None:
            raise
        return existing, False
    transaction.on_commit(lambda: signals.order_registered.send(sender=WorkOrder, order=order))
    return order, True


def _intake_transaction(more_writes: bool):
    """The transaction around an intake's writes, when it needs one.

    On PostgreSQL the order and its event are one statement (``intake_sql``), atomic
    on its own: outside a transaction it needs no BEGIN and COMMIT, two round trips
    of five. Inside one (a caller's, or the tests') it gets a savepoint, so a refused
    idempotency key rolls back only the intake and the replay can still be read.
    """
    if connection.vendor == "postgresql" and not more_writes and not connection.in_atomic_block:
        return contextlib.nullcontext()
    return transaction.atomic()


def _replayed(scoped_key: str | None, city_number: str | None, intake: Intake) -> WorkOrder | None:
    existing = None
    if scoped_key:
        existing = WorkOrder.objects.filter(idempotency_key=scoped_key).first()
    if existing is None and city_number:
        existing = WorkOrder.objects.filter(city_number=city_number).first()
    if existing and (existing.title, existing.content) != (intake.title, intake.content):
        raise Invalid("该幂等键或市级工单编号已用于另一条不同的诉求", code="idempotency_conflict",
                      field="idempotency_key" if scoped_key else "city_number")
    return existing


def order_number(registered_at: dt.datetime, pk: int) -> str:
    """工单编号: HK, the registration day in Shanghai, the id zero-padded to 6 digits."""
    return f"{order_number_prefix(registered_at)}{pk:06d}"


def order_number_prefix(registered_at: dt.datetime) -> str:
    # The district's day (TIME_ZONE), whatever zone a request may have activated.
    return f"HK{timezone.localtime(registered_at, timezone.get_default_timezone()):%Y%m%d}"


def _create(intake: Intake, *, actor, channel, scoped_key, city_number, city_deadline, now, action) -> WorkOrder:
    self_service = actor.role in (Role.CITIZEN, Role.ENTERPRISE)
    order = WorkOrder(
        channel=channel, appeal_type=intake.appeal_type, urgency=intake.urgency,
        title=intake.title, content=intake.content, category=intake.category,
        street=intake.street, committee=intake.committee, address=intake.address,
        latitude=intake.latitude, longitude=intake.longitude,
        appellant_name=intake.appellant_name or (actor.display_name if self_service else ""),
        appellant_phone=intake.appellant_phone or (actor.phone if self_service else ""),
        appellant_user=actor if self_service else None,
        status=Status.REGISTERED, city_number=city_number or None, city_deadline=city_deadline,
        idempotency_key=scoped_key, external_ref=intake.external_ref,
        registered_by=actor, created_at=now,
    )
    data = {"channel": channel}
    if intake.extra:
        # Channel-specific intake data with no column of its own (Open311 media_url, device_id, …).
        data["extra"] = intake.extra
    if city_number:
        data.update(city_number=city_number, city_deadline=city_deadline.isoformat())
    event = _new_event(order, action, None, actor=actor, now=now, data=data)
    if connection.vendor == "postgresql":
        intake_sql.insert_registered(order, event, number_prefix=order_number_prefix(now))
    else:
        # SQLite has no sequence to draw the id from before the INSERT: the number
        # is written once the id is known.
        order.save(force_insert=True)
        order.number = order_number(now, order.pk)
        order.save(update_fields=["number"])
        event.order = order
        event.save(force_insert=True)
    return order


def answer_directly(order: WorkOrder, *, actor, answer: str, now=None) -> WorkOrder:
    """直办: the operator answers a consultation during the call and closes it."""
    now = _now(now)
    _require_role(actor, roles.CAN_ANSWER_DIRECTLY, Action.ANSWER_DIRECTLY)
    answer = _text(answer, "answer", label_="直办答复")
    with transaction.atomic():
        order = _lock(order)
        if order.appeal_type != AppealType.CONSULTATION:
            raise Invalid("只有咨询类诉求可以直办", field="appeal_type", code="not_consultation")
        order.reply, order.direct_answer, order.replied_at, order.closed_at = answer, True, now, now
        _move(order, Action.ANSWER_DIRECTLY, Status.ARCHIVED, actor=actor, now=now, reason=answer,
              fields=("reply", "direct_answer", "replied_at", "closed_at"))
    return order


# --- dispatch and the unit's work -------------------------------------------

def dispatch(order: WorkOrder, *, actor, lead_unit: Unit | None = None, co_units=(), reason: str = "",
             category: Category | None = None, now=None) -> WorkOrder:
    """派单 to a lead unit and co-units; without a lead unit, the routing rules choose.

    ``category`` classifies (or reclassifies) the order as it is dispatched, as a
    dispatcher does when confirming or correcting intelligent dispatch; the event
    keeps the category it had before.
    """
    now = _now(now)
    _require_role(actor, roles.CAN_DISPATCH, Action.DISPATCH)
    with transaction.atomic():
        order = _lock(order)
        _check(order, Action.DISPATCH, Status.DISPATCHED)
        previous_category = order.category_id
        if category is not None:
            order.category = category
        routed = None
        if lead_unit is None:
            routed = route_for(order.category, order.street)
            if routed.lead_unit is None:
                raise Invalid("没有适用的派单规则，请指定主办单位", field="lead_unit", code="no_route")
            lead_unit, co_units = routed.lead_unit, list(co_units) or routed.co_units
        co_units = [u for u in dict.fromkeys(co_units) if u != lead_unit]
        for unit in [lead_unit, *co_units]:
            if not unit.active:
                raise Invalid(f"单位「{unit.name}」已停用", field="lead_unit" if unit == lead_unit else "co_units")
        _assign(order, lead_unit, co_units, actor=actor, now=now)
        order.lead_unit, order.dispatched_at, order.signed_at = lead_unit, now, None
        order.extension_hours = Decimal(0)
        sla.apply_deadlines(order, now=now)
        _move(order, Action.DISPATCH, Status.DISPATCHED, actor=actor, now=now, unit=lead_unit, reason=reason,
              data={"lead_unit": lead_unit.pk, "co_units": [u.pk for u in co_units],
                    "rule": routed.rule.pk if routed and routed.rule else None,
                    "handle_deadline": order.handle_deadline.isoformat(),
                    **({"category": category.pk, "previous_category": previous_category}
                       if category is not None and category.pk != previous_category else {})},
              fields=("lead_unit", "dispatched_at", "signed_at", "extension_hours", "sla_state", "sign_overdue",
                      "sign_deadline", "handle_deadline", "yellow_at", "category"))
    return order


def _assign(order: WorkOrder, lead: Unit, co_units, *, actor, now) -> None:
    Assignment.objects.filter(order=order, active=True).update(active=False)
    Assignment.objects.bulk_create(
        [Assignment(order=order, unit=lead, role=Assignment.Role.LEAD, dispatched_at=now, dispatched_by=actor)]
        + [Assignment(order=order, unit=u, role=Assignment.Role.CO, dispatched_at=now, dispatched_by=actor) for u in co_units]
    )


def sign(order: WorkOrder, *, actor, now=None) -> WorkOrder:
    """签收 by the lead unit; co-units sign their own assignment without moving the order."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        assignment = Assignment.objects.filter(order=order, unit_id=actor.unit_id, active=True).first() if actor.unit_id else None
        if assignment is not None and assignment.role == Assignment.Role.CO:
            _require_role(actor, roles.UNIT_ACTORS, Action.SIGN)
            if assignment.signed_at:
                raise IllegalTransition("本单位已签收该协办工单")
            if order.status not in (Status.DISPATCHED, Status.HANDLING):
                raise IllegalTransition(f"工单当前状态为「{label(order.status)}」，不能签收")
            Assignment.objects.filter(pk=assignment.pk).update(signed_at=now, signed_by=actor)
            _event(order, Action.SIGN, order.status, actor=actor, now=now, unit=actor.unit, data={"role": "co"})
            return order
        _require_lead_unit(actor, order, Action.SIGN)
        order.signed_at = now
        Assignment.objects.filter(order=order, unit=order.lead_unit, active=True).update(signed_at=now, signed_by=actor)
        _move(order, Action.SIGN, Status.HANDLING, actor=actor, now=now, unit=actor.unit, fields=("signed_at",))
    return order


def record_progress(order: WorkOrder, *, actor, note: str, now=None) -> WorkOrder:
    """办理记录 by the lead unit, or 协办意见 by a co-unit."""
    now = _now(now)
    _require_role(actor, roles.UNIT_ACTORS, Action.RECORD_PROGRESS)
    note = _text(note, "note", label_="办理记录")
    with transaction.atomic():
        order = _lock(order)
        assignment = Assignment.objects.filter(order=order, unit_id=actor.unit_id, active=True).first()
        if assignment is None:
            raise Forbidden("本单位不是该工单的承办单位")
        if assignment.role == Assignment.Role.CO:
            Assignment.objects.filter(pk=assignment.pk).update(opinion=note)
        _move(order, Action.RECORD_PROGRESS, order.status, actor=actor, now=now, unit=actor.unit, reason=note,
              data={"role": assignment.role})
    return order


def request_return(order: WorkOrder, *, actor, reason_code: str, reason: str,
                   suggested_unit: Unit | None = None, now=None) -> ReturnRequest:
    """退单: the lead unit says the order is not theirs; a dispatcher arbitrates."""
    now = _now(now)
    reason_code = _choice(reason_code, ReturnReason, "reason_code", "退单原因")
    reason = _text(reason, "reason", label_="退单说明")
    with transaction.atomic():
        order = _lock(order)
        _require_lead_unit(actor, order, Action.REQUEST_RETURN)
        request = ReturnRequest.objects.create(
            order=order, unit=actor.unit, reason_code=reason_code, reason=reason, suggested_unit=suggested_unit,
            requested_by=actor, requested_at=now, previous_status=order.status,
        )
        _move(order, Action.REQUEST_RETURN, Status.RETURN_REQUESTED, actor=actor, now=now, unit=actor.unit,
              reason=reason, data={"reason_code": reason_code, "request": request.pk})
    return request


def decide_return(order: WorkOrder, *, actor, approve: bool, note: str = "", now=None) -> WorkOrder:
    """Arbitration: approved returns go back to the dispatch queue; rejected ones back to the unit."""
    now = _now(now)
    action = Action.APPROVE_RETURN if approve else Action.REJECT_RETURN
    _require_role(actor, roles.CAN_ARBITRATE, action)
    if not approve:
        note = _text(note, "note", label_="驳回理由")
    with transaction.atomic():
        order = _lock(order)
        request = ReturnRequest.objects.filter(order=order, decision=Decision.PENDING).first()
        if request is None or order.status != Status.RETURN_REQUESTED:
            raise IllegalTransition(f"工单当前状态为「{label(order.status)}」，没有待审的退单申请")
        request.decision = Decision.APPROVED if approve else Decision.REJECTED
        request.decided_by, request.decided_at, request.decision_note = actor, now, note
        request.save(update_fields=["decision", "decided_by", "decided_at", "decision_note"])
        if approve:
            Assignment.objects.filter(order=order, active=True).update(active=False)
            order.lead_unit, order.dispatched_at, order.signed_at = None, None, None
            sla.apply_deadlines(order, now=now)
            _move(order, action, Status.REGISTERED, actor=actor, now=now, unit=request.unit, reason=note,
                  data={"request": request.pk},
                  fields=("lead_unit", "dispatched_at", "signed_at", "sign_deadline", "handle_deadline",
                          "yellow_at", "sla_state"))
        else:
            _move(order, action, request.previous_status, actor=actor, now=now, unit=request.unit, reason=note,
                  data={"request": request.pk})
    return order


def request_extension(order: WorkOrder, *, actor, hours, reason: str, now=None) -> ExtensionRequest:
    now = _now(now)
    try:
        hours = Decimal(str(hours))
    except InvalidOperation:
        raise Invalid("延期时长必须是数字（工作小时）", field="hours") from None
    if not Decimal("0.5") <= hours <= Decimal(480):
        raise Invalid("延期时长应在 0.5 到 480 个工作小时之间", field="hours")
    reason = _text(reason, "reason", label_="延期理由")
    with transaction.atomic():
        order = _lock(order)
        _require_lead_unit(actor, order, Action.REQUEST_EXTENSION)
        _check(order, Action.REQUEST_EXTENSION, order.status)
        if ExtensionRequest.objects.filter(order=order, decision=Decision.PENDING).exists():
            raise IllegalTransition("该工单已有待审批的延期申请", code="extension_pending")
        request = ExtensionRequest.objects.create(order=order, unit=actor.unit, hours=hours, reason=reason,
                                                  requested_by=actor, requested_at=now)
        _move(order, Action.REQUEST_EXTENSION, order.status, actor=actor, now=now, unit=actor.unit, reason=reason,
              data={"hours": str(hours), "request": request.pk})
    return request


def decide_extension(order: WorkOrder, *, actor, approve: bool, note: str = "", now=None) -> WorkOrder:
    """Approving pauses the handling clock: the deadline moves by the granted working hours."""
    now = _now(now)
    action = Action.APPROVE_EXTENSION if approve else Action.REFUSE_EXTENSION
    _require_role(actor, roles.CAN_ARBITRATE, action)
    if not approve:
        note = _text(note, "note", label_="拒绝理由")
    with transaction.atomic():
        order = _lock(order)
        request = ExtensionRequest.objects.filter(order=order, decision=Decision.PENDING).first()
        if request is None:
            raise IllegalTransition("该工单没有待审批的延期申请", code="no_pending_extension")
        _check(order, action, order.status)
        request.decision = Decision.APPROVED if approve else Decision.REJECTED
        request.decided_by, request.decided_at, request.decision_note = actor, now, note
        request.save(update_fields=["decision", "decided_by", "decided_at", "decision_note"])
        fields: tuple[str, ...] = ()
        data = {"request": request.pk, "hours": str(request.hours)}
        if approve:
            order.extension_hours += request.hours
            sla.apply_deadlines(order, now=now)
            fields = ("extension_hours", "sign_deadline", "handle_deadline", "yellow_at", "sla_state")
            data["handle_deadline"] = order.handle_deadline.isoformat()
        _move(order, action, order.status, actor=actor, now=now, unit=request.unit, reason=note, data=data, fields=fields)
    return order


def reply(order: WorkOrder, *, actor, text: str, now=None) -> WorkOrder:
    """答复 by the lead unit: the handling clock stops here."""
    now = _now(now)
    text = _text(text, "text", label_="答复内容", max_length=20000)
    with transaction.atomic():
        order = _lock(order)
        _require_lead_unit(actor, order, Action.REPLY)
        order.reply, order.replied_at = text, now
        _move(order, Action.REPLY, Status.REPLIED, actor=actor, now=now, unit=actor.unit, reason=text,
              data={"on_time": bool(order.handle_deadline and now <= order.handle_deadline)},
              fields=("reply", "replied_at"))
    return order


def review_reply(order: WorkOrder, *, actor, approve: bool, note: str = "", now=None) -> WorkOrder:
    now = _now(now)
    action = Action.APPROVE_REPLY if approve else Action.REJECT_REPLY
    _require_role(actor, roles.CAN_REVIEW, action)
    if not approve:
        note = _text(note, "note", label_="退回理由")
    with transaction.atomic():
        order = _lock(order)
        if approve:
            _move(order, action, Status.FOLLOW_UP, actor=actor, now=now, reason=note)
        else:
            order.replied_at = None
            _move(order, action, Status.HANDLING, actor=actor, now=now, unit=order.lead_unit, reason=note,
                  fields=("replied_at",))
    return order


def follow_up(order: WorkOrder, *, actor, satisfaction: str, resolved: bool, note: str = "", now=None) -> FollowUp:
    """回访. Satisfied and basically satisfied close the order; dissatisfied waits for a reopen or archive decision."""
    now = _now(now)
    _require_role(actor, roles.CAN_FOLLOW_UP, Action.FOLLOW_UP)
    satisfaction = _choice(satisfaction, Satisfaction, "satisfaction", "满意度")
    if not isinstance(resolved, bool):
        raise Invalid("实际解决必须是 true 或 false", field="resolved")
    with transaction.atomic():
        order = _lock(order)
        _check(order, Action.FOLLOW_UP, order.status)
        record = FollowUp.objects.create(order=order, round=order.reopen_count + 1, satisfaction=satisfaction,
                                         resolved=resolved, note=note.strip(), by=actor, at=now)
        order.satisfaction, order.resolved = satisfaction, resolved
        closes = satisfaction != Satisfaction.DISSATISFIED
        if closes:
            order.closed_at = now
        _move(order, Action.FOLLOW_UP, Status.ARCHIVED if closes else Status.FOLLOW_UP, actor=actor, now=now,
              reason=note, data={"satisfaction": satisfaction, "resolved": resolved, "follow_up": record.pk},
              fields=("satisfaction", "resolved", "closed_at"))
    return record


def reopen(order: WorkOrder, *, actor, reason: str, now=None) -> WorkOrder:
    """重办 after a dissatisfied follow-up: back to the same units with fresh deadlines."""
    now = _now(now)
    _require_role(actor, roles.CAN_REOPEN_OR_ARCHIVE, Action.REOPEN)
    reason = _text(reason, "reason", label_="重办理由")
    with transaction.atomic():
        order = _lock(order)
        if order.satisfaction != Satisfaction.DISSATISFIED:
            raise IllegalTransition("只有回访不满意的工单可以重办", code="not_dissatisfied")
        previous = list(Assignment.objects.filter(order=order, active=True).select_related("unit"))
        lead = next((a.unit for a in previous if a.role == Assignment.Role.LEAD), order.lead_unit)
        if lead is None:
            raise IllegalTransition("该工单没有主办单位，无法重办")
        _check(order, Action.REOPEN, Status.DISPATCHED)
        _assign(order, lead, [a.unit for a in previous if a.role == Assignment.Role.CO], actor=actor, now=now)
        order.reopen_count += 1
        order.lead_unit, order.dispatched_at = lead, now
        order.signed_at = order.replied_at = order.closed_at = None
        order.reply, order.satisfaction, order.resolved = "", "", None
        order.extension_hours = Decimal(0)
        sla.apply_deadlines(order, now=now)
        _move(order, Action.REOPEN, Status.DISPATCHED, actor=actor, now=now, unit=lead, reason=reason,
              data={"round": order.reopen_count + 1},
              fields=("reopen_count", "lead_unit", "dispatched_at", "signed_at", "replied_at", "closed_at", "reply",
                      "satisfaction", "resolved", "extension_hours", "sla_state", "sign_overdue", "sign_deadline",
                      "handle_deadline", "yellow_at"))
    return order


def archive(order: WorkOrder, *, actor, reason: str, now=None) -> WorkOrder:
    """Close an order in follow-up without a satisfied rating (unreachable appellant, unreasonable demand)."""
    now = _now(now)
    _require_role(actor, roles.CAN_REOPEN_OR_ARCHIVE, Action.ARCHIVE)
    reason = _text(reason, "reason", label_="归档说明")
    with transaction.atomic():
        order = _lock(order)
        order.closed_at = now
        _move(order, Action.ARCHIVE, Status.ARCHIVED, actor=actor, now=now, reason=reason, fields=("closed_at",))
    return order


def escalate(order: WorkOrder, *, actor, note: str, now=None) -> WorkOrder:
    """督办: a supervisor presses the units on an open order."""
    now = _now(now)
    _require_role(actor, roles.CAN_ESCALATE, Action.ESCALATE)
    note = _text(note, "note", label_="督办意见")
    with transaction.atomic():
        order = _lock(order)
        _check(order, Action.ESCALATE, order.status)
        order.escalation_count += 1
        _move(order, Action.ESCALATE, order.status, actor=actor, now=now, unit=order.lead_unit, reason=note,
              data={"level": order.escalation_count}, fields=("escalation_count",))
    return order


# --- repeat calls: link and merge (definitions in repeats.py) ----------------------

def merge(order: WorkOrder, *, actor, master: WorkOrder, reason: str = "", now=None) -> WorkOrder:
    """合并 a duplicate into its master; the duplicate ends, the master carries on.

    ``master`` resolves to its root (an order that is itself a repeat call stands for
    its master); the root must still be open. Merging again into the same root is a
    no-op. A linked repeat call may be merged later (its count does not change).
    """
    now = _now(now)
    _require_role(actor, roles.CAN_MERGE, Action.MERGE)
    with transaction.atomic():
        order, root = _lock_pair(order, master)
        if order.status == Status.MERGED and order.master_id == root.pk:
            return order  # merged there already
        if root.status in TERMINAL:
            raise Invalid(f"主工单 {root.number} 已「{label(root.status)}」，不能作为合并目标", field="master")
        _check(order, Action.MERGE, Status.MERGED)
        Assignment.objects.filter(order=order, active=True).update(active=False)
        data = _attach(order, root)
        order.closed_at = now
        _move(order, Action.MERGE, Status.MERGED, actor=actor, now=now, reason=reason, data=data,
              fields=("master", "repeat_count", "closed_at"))
        _audit_master(actor, order, Action.MERGE, data)
    return order


def link(order: WorkOrder, *, actor, master: WorkOrder, reason: str = "", now=None) -> WorkOrder:
    """关联 a repeat call to the master order of its case; the call stays open and is handled on.

    Unlike :func:`merge` nothing closes: only ``master`` is set and the master's
    ``repeat_count`` grows, in the same transaction. ``master`` resolves to its root;
    linking to the same root again is a no-op, to itself or to one of its own repeat
    calls is refused. An order that has repeat calls of its own brings them along:
    they are moved to the new root so that no master is ever itself a repeat call.
    """
    now = _now(now)
    _require_role(actor, roles.CAN_MERGE, Action.LINK)
    with transaction.atomic():
        order, root = _lock_pair(order, master)
        if order.master_id == root.pk:
            return order  # linked (or merged) there already
        _check(order, Action.LINK, order.status)
        data = _attach(order, root)
        _move(order, Action.LINK, order.status, actor=actor, now=now, reason=reason, data=data,
              fields=("master", "repeat_count"))
        _audit_master(actor, order, Action.LINK, data)
    return order


def unlink(order: WorkOrder, *, actor, reason: str, now=None) -> WorkOrder:
    """取消关联: a call linked by mistake is no repeat call; its master's count drops. Idempotent."""
    now = _now(now)
    _require_role(actor, roles.CAN_MERGE, Action.UNLINK)
    reason = _text(reason, "reason", label_="取消关联理由", max_length=1000)
    with transaction.atomic():
        order = _lock(order)
        if order.master_id is None:
            return order
        _check(order, Action.UNLINK, order.status)
        previous = order.master_id
        WorkOrder.objects.filter(pk=previous).update(repeat_count=F("repeat_count") - 1)
        order.master = None
        data = {"master": None, "previous_master": previous}
        _move(order, Action.UNLINK, order.status, actor=actor, now=now, reason=reason, data=data, fields=("master",))
        _audit_master(actor, order, Action.UNLINK, data)
    return order


def register_repeat_call(intake: Intake, *, actor, master: WorkOrder, merge_it: bool, channel: str,
                         idempotency_key: str | None = None, now=None) -> tuple[WorkOrder, bool]:
    """Register a call and link (or merge) it to ``master`` at once: both happen or neither.

    A replayed intake (same idempotency key) returns the first order untouched: the
    first try linked it already.
    """
    _require_role(actor, roles.CAN_MERGE, Action.MERGE if merge_it else Action.LINK)
    now = _now(now)
    with transaction.atomic():
        order, created = register(intake, actor=actor, channel=channel, idempotency_key=idempotency_key, now=now)
        if created:
            attach = merge if merge_it else link
            order = attach(order, actor=actor, master=master, reason="登记时确认为重复来电", now=now)
    return order, created


def root_master(order: WorkOrder) -> WorkOrder:
    """The order at the top of ``order``'s master chain (itself when it has no master)."""
    seen = {order.pk}
    while order.master_id is not None:
        order = WorkOrder.objects.get(pk=order.master_id)
        if order.pk in seen:  # cannot happen through these services; never loop on bad data
            raise Invalid("主工单关系存在循环，请联系管理员", field="master")
        seen.add(order.pk)
    return order


def _lock_pair(order: WorkOrder, master: WorkOrder) -> tuple[WorkOrder, WorkOrder]:
    """Lock the call and the root of ``master``; refuse itself and its own repeat calls."""
    if master.pk == order.pk:
        raise Invalid("不能把工单关联或合并到自身", field="master")
    order = _lock(order)
    root = root_master(WorkOrder.objects.get(pk=master.pk))
    if root.pk == order.pk:
        raise Invalid(f"工单 {master.number} 是本工单的重复来电，不能反向关联或合并", field="master")
    root = _lock(root)
    if root.master_id is not None:  # linked elsewhere between the read and the lock
        raise IllegalTransition(f"主工单 {root.number} 刚被关联到其他工单，请重试", code="master_changed")
    return order, root


def _attach(order: WorkOrder, root: WorkOrder) -> dict:
    """Point ``order`` (and the repeat calls it had itself) at ``root`` and move the counts.

    Returns the event data from which :func:`repeats.recount_from_events` replays the
    change: the new master, the previous one, and the repeat calls that moved along.
    """
    previous = order.master_id
    moved = list(WorkOrder.objects.filter(master=order).order_by("pk").values_list("pk", flat=True))
    if moved:
        WorkOrder.objects.filter(pk__in=moved).update(master=root)
    if previous is not None:
        WorkOrder.objects.filter(pk=previous).update(repeat_count=F("repeat_count") - 1)
    WorkOrder.objects.filter(pk=root.pk).update(repeat_count=F("repeat_count") + 1 + len(moved))
    order.master, order.repeat_count = root, 0
    data = {"master": root.pk, "master_number": root.number}
    if previous is not None:
        data["previous_master"] = previous
    if moved:
        data["moved"] = moved
    return data


def _audit_master(actor, order: WorkOrder, action: str, data: dict) -> None:
    master = data.get("master_number") or "—"
    audit(actor=actor, action=AuditEntry.Action.TRANSITION, obj=order,
          summary=f"{order.number} {Action(action).label} {master}", changes={"action": action, **data})


def rate_by_appellant(order: WorkOrder, *, actor, satisfaction: str, resolved: bool, note: str = "",
                      now=None) -> FollowUp:
    """The appellant's own rating of the reply (web page): it is this round's follow-up (回访).

    Written exactly as :func:`follow_up` writes a call's result (a FollowUp row, the
    order's satisfaction and resolved, a follow_up event), so the KPIs and the
    timeline count it the same way: satisfied or basically satisfied closes the
    order, dissatisfied leaves it in follow-up for a reopen or archive decision.
    One rating per round: a round already rated (by the appellant or on a call)
    is refused, never overwritten. ``actor`` is the appellant's account or the
    system account the appeal was filed through.
    """
    now = _now(now)
    _require_role(actor, roles.SELF_SERVICE, Action.FOLLOW_UP)
    satisfaction = _choice(satisfaction, Satisfaction, "satisfaction", "满意度")
    if not isinstance(resolved, bool):
        raise Invalid("实际解决必须是 true 或 false", field="resolved")
    note = _text(note, "note", label_="评价内容", required=False, max_length=1000)
    with transaction.atomic():
        order = _lock(order)
        if actor.pk not in (order.appellant_user_id, order.registered_by_id):
            raise Forbidden("只有诉求人可以评价该工单")
        if order.status != Status.FOLLOW_UP:
            raise IllegalTransition(f"工单当前状态为「{label(order.status)}」，不能评价", code="not_ratable")
        if order.satisfaction:
            raise IllegalTransition("本次答复已评价，不能重复评价", code="already_rated")
        record = FollowUp.objects.create(order=order, round=order.reopen_count + 1, satisfaction=satisfaction,
                                         resolved=resolved, note=note, by=actor, at=now)
        order.satisfaction, order.resolved = satisfaction, resolved
        closes = satisfaction != Satisfaction.DISSATISFIED
        if closes:
            order.closed_at = now
        _move(order, Action.FOLLOW_UP, Status.ARCHIVED if closes else Status.FOLLOW_UP, actor=actor, now=now,
              reason=note, data={"satisfaction": satisfaction, "resolved": resolved, "follow_up": record.pk,
                                 "source": "appellant"},
              fields=("satisfaction", "resolved", "closed_at"))
    return record
