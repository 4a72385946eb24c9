"""The only writers of alerts: raise or grow from the detector's findings, and the duty officer's actions.

Each write runs in one transaction. A finding for a key that already has an
ongoing alert grows that alert (new orders linked, evidence replaced when
stronger) instead of raising another; so does a finding whose orders mostly
belong to an ongoing alert of another key (the same burst seen by street,
category and place is one alert). Duty officers' actions check the edge,
update the row conditionally and write an audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.core.models import AuditEntry
from yiwang.org.models import Category, Street
from yiwang.workorders import services as orders
from yiwang.workorders.models import Event, Notification, WorkOrder
from yiwang.workorders.states import Action as OrderAction
from yiwang.workorders.states import allowed

from . import detector
from .detector import Finding
from .models import Alert, AlertAction, AlertOrder, AlertStatus, Kind

log = logging.getLogger(__name__)

# Share of a finding's orders that must already be in an ongoing alert for it to count as that burst.
COVERED = 2 / 3
NOTIFY_ROLES = ("supervisor", "dispatcher")
NOTE_MAX = 500

# status -> the statuses a duty officer may move it to.
EDGES = {
    AlertStatus.OPEN: {AlertStatus.ACKNOWLEDGED, AlertStatus.DISMISSED, AlertStatus.ESCALATED},
    AlertStatus.ACKNOWLEDGED: {AlertStatus.DISMISSED, AlertStatus.ESCALATED},
    AlertStatus.ESCALATED: set(),
    AlertStatus.DISMISSED: set(),
}


# --- the detector's side -------------------------------------------------------------

def label_for(kind: str, key: str) -> tuple[str, Street | None, Category | None]:
    if kind == Kind.STREET:
        street = Street.objects.filter(pk=int(key)).first()
        return (street.name if street else f"街道#{key}"), street, None
    if kind == Kind.CATEGORY:
        category = Category.objects.filter(pk=int(key)).first()
        return (category.path if category else f"分类#{key}"), None, category
    return key, None, None


def reason(alert_or_finding, label: str) -> str:
    """One sentence a duty officer reads: what, how far above normal, against which baseline."""
    f = alert_or_finding
    kind = "工作日" if f.workday else "休息日"
    ratio = f.observed / f.expected if f.expected else 0
    p = f.p_value if isinstance(f, Alert) else f.p
    span = f"{f.window_hours}小时"
    return (f"{label}：{span}内{f.observed}件诉求（{f.callers}位来电人），同时段常态约{f.expected:.2f}件，"
            f"为常态的{ratio:.0f}倍（泊松 p={p:.1e}）；基线：过去{detector.RULE.baseline_days}天中{f.baseline_days}个{kind}日均{f.daily_rate:.2f}件，"
            f"按各小时的来件占比折算")


def end_quiet(now: dt.datetime) -> int:
    """Ongoing alerts with no new order for a whole day have ended; their key may alert again."""
    quiet = list(Alert.objects.filter(ongoing=True, last_order_at__lt=now - dt.timedelta(hours=max(detector.WINDOWS)))
                 .values_list("pk", flat=True))
    if not quiet:
        return 0
    with transaction.atomic():
        ended = Alert.objects.filter(pk__in=quiet, ongoing=True).update(ongoing=False, updated_at=now)
        AlertAction.objects.bulk_create([AlertAction(alert_id=pk, action=AlertAction.Action.END, at=now)
                                         for pk in quiet])
    return ended


def record(findings: list[Finding], *, now: dt.datetime) -> list[Alert]:
    """Raise or grow one alert per finding; returns the alerts raised (new ones only).

    A new alert is raised in a transaction of its own, as it is found. Growing an
    ongoing one changes it in memory, and the growth is written at the end, a few
    alerts to a short transaction (their new links, changed rows and timeline entries:
    ``_Growth``). Why: under a mass event every check grows hundreds of alerts, and a
    transaction of five queries per finding took 1.2-8.4 s of CPU per check, every 15 s
    (bench/burst_check.py --new-orders). Only one check runs at a time
    (``jobs.run_check``), and a duty officer's action writes other columns than growth,
    so the rows need no lock between the read and the write.
    """
    raised = []
    growth = _Growth.of_ongoing()
    known = _KnownBursts.read(list(growth.ongoing.values()))
    for finding in findings:
        if known.adds_nothing(finding):
            continue
        alert = growth.alert_of(finding, known)
        if alert is None:
            alert, created = _raise_or_grow(finding, now=now, known=known, growth=growth)
            if created:
                raised.append(alert)
        else:
            _grow(alert, finding, now=now, known=known, growth=growth)
        known.note(alert, finding)
    growth.write()
    return raised


class _Growth:
    """The ongoing alerts as the check read them, and what growing them will write when it is done."""

    # Alerts written per transaction. Why not all at once: on SQLite a transaction holds
    # the database's only write lock, and intakes wait for it. 50 alerts took 10 ms under
    # bench/intake_load.py --only yiwang-sqlite; a mass event may grow thousands.
    WRITE_CHUNK = 50

    def __init__(self, ongoing: dict[int, Alert]):
        self.ongoing = ongoing
        self.by_key = {(a.kind, a.key): a for a in ongoing.values()}
        self.links: dict[int, list[AlertOrder]] = defaultdict(list)  # alert id -> new links
        self.actions: dict[int, list[AlertAction]] = defaultdict(list)  # alert id -> new timeline entries
        self.changed: dict[int, set[str]] = defaultdict(set)  # alert id -> fields changed

    @classmethod
    def of_ongoing(cls) -> "_Growth":
        return cls({a.pk: a for a in Alert.objects.filter(ongoing=True).order_by("pk")})

    def alert_of(self, finding: Finding, known: "_KnownBursts") -> Alert | None:
        """The ongoing alert of the finding's key, else the one that already holds most of its orders."""
        alert = self.by_key.get((finding.kind, finding.key))
        if alert is None and (covering := known.covering(finding)) is not None:
            alert = self.ongoing.get(covering)
        return alert

    def add(self, alert: Alert) -> None:
        self.ongoing[alert.pk] = self.by_key[(alert.kind, alert.key)] = alert

    def write(self) -> None:
        grown = sorted(self.links.keys() | self.actions.keys() | self.changed.keys())
        for start in range(0, len(grown), self.WRITE_CHUNK):
            with transaction.atomic():
                self._write(grown[start:start + self.WRITE_CHUNK])

    def _write(self, alert_ids: list[int]) -> None:
        AlertOrder.objects.bulk_create([link for pk in alert_ids for link in self.links.get(pk, ())],
                                       ignore_conflicts=True, batch_size=1000)
        # One UPDATE per changed alert, of its changed fields only: for 300 alerts,
        # bulk_update's CASE expressions took 3.9 s to build under the profiler,
        # these 300 statements 0.4 s.
        for pk in alert_ids:
            if fields := self.changed.get(pk):
                alert = self.ongoing[pk]
                Alert.objects.filter(pk=pk).update(**{name: getattr(alert, name) for name in fields})
        AlertAction.objects.bulk_create([action for pk in alert_ids for action in self.actions.get(pk, ())])


class _KnownBursts:
    """The ongoing alerts as one check found them: their orders, keys and evidence.

    Why: every check finds each ongoing burst again, by its own key and by the keys
    that see the same orders (street, category, places), and recording each finding
    is a transaction of several queries. A finding whose orders are all linked already
    to its own key's alert, with evidence no stronger, or to the alert that already
    lists its key among the other views of the same burst, changes nothing; it is
    skipped without a query. Under a flood of 3,000 orders in 40 minutes (1,916
    findings a check, bench/burst_check.py) recording a check that found nothing new
    took 6.4-7.3 s of CPU without this, 0.02-0.04 s with it.
    A finding skipped here by mistake would only be recorded by the next check
    after its next order, so the test is strict: every order, and the same alert.

    The same index answers which alert already holds most of a finding's orders
    (``covering``), which was one grouped query per finding. It is exact because one
    check runs at a time (``jobs.run_check``) and ``note`` adds what each finding
    changes as the check goes.
    """

    def __init__(self, by_key: dict, alerts_of_order: dict, also: dict):
        self.by_key = by_key  # (kind, key) -> (alert id, p value)
        self.alerts_of_order = alerts_of_order  # order id -> ids of ongoing alerts linking it
        self.also = also  # alert id -> the (kind, key) pairs in its detail["also"]

    @classmethod
    def read(cls, ongoing: list[Alert]) -> "_KnownBursts":
        """The index of the ``ongoing`` alerts (as :meth:`_Growth.of_ongoing` read them) and their orders."""
        by_key, also = {}, {}
        for alert in ongoing:
            by_key[(alert.kind, alert.key)] = (alert.pk, alert.p_value)
            also[alert.pk] = {(a["kind"], a["key"]) for a in (alert.detail or {}).get("also", [])}
        alerts_of_order: dict[int, set[int]] = {}
        for order_id, alert_id in AlertOrder.objects.filter(alert__ongoing=True).values_list("order_id", "alert_id"):
            alerts_of_order.setdefault(order_id, set()).add(alert_id)
        return cls(by_key, alerts_of_order, also)

    def adds_nothing(self, finding: Finding) -> bool:
        if not finding.order_ids:
            return False
        linked_to_all = set.intersection(*(self.alerts_of_order.get(pk, set()) for pk in finding.order_ids))
        own = self.by_key.get((finding.kind, finding.key))
        if own is not None:
            alert_id, p_value = own
            return alert_id in linked_to_all and finding.p >= p_value
        return any((finding.kind, finding.key) in self.also.get(alert_id, ()) for alert_id in linked_to_all)

    def covering(self, finding: Finding) -> int | None:
        """The ongoing alert that has the most of the finding's orders, if that is ``COVERED`` of them."""
        ids = list(dict.fromkeys(finding.order_ids))
        counts: dict[int, int] = {}
        for pk in ids:
            for alert_id in self.alerts_of_order.get(pk, ()):
                counts[alert_id] = counts.get(alert_id, 0) + 1
        if not counts:
            return None
        alert_id, n = min(counts.items(), key=lambda item: (-item[1], item[0]))  # ties: the oldest alert
        return alert_id if n >= COVERED * len(ids) else None

    def unlinked(self, alert_id: int, finding: Finding) -> list[int]:
        """The finding's orders (each once) that ``alert_id`` does not link yet."""
        return [pk for pk in dict.fromkeys(finding.order_ids) if alert_id not in self.alerts_of_order.get(pk, ())]

    def note(self, alert: Alert, finding: Finding) -> None:
        """What recording ``finding`` on ``alert`` changed: its orders are linked, its key known."""
        for pk in finding.order_ids:
            self.alerts_of_order.setdefault(pk, set()).add(alert.pk)
        if (alert.kind, alert.key) == (finding.kind, finding.key):
            self.by_key[(alert.kind, alert.key)] = (alert.pk, alert.p_value)
        else:
            self.also.setdefault(alert.pk, set()).add((finding.kind, finding.key))


def _raise_or_grow(finding: Finding, *, now: dt.datetime, known: _KnownBursts,
                   growth: _Growth) -> tuple[Alert, bool]:
    try:
        with transaction.atomic():
            alert = _raise(finding, now=now, known=known)
    except IntegrityError:  # a check that outlived its lease raised it a moment ago: grow that one
        alert = Alert.objects.get(kind=finding.kind, key=finding.key, ongoing=True)
        growth.add(alert)
        _grow(alert, finding, now=now, known=known, growth=growth)
        return alert, False
    growth.add(alert)
    return alert, True


def _evidence(finding: Finding) -> dict:
    return dict(window_hours=finding.window_hours, observed=finding.observed, expected=finding.expected,
                daily_rate=finding.daily_rate, baseline_days=finding.baseline_days, workday=finding.workday,
                p_value=finding.p, callers=finding.callers)


def _link(alert: Alert, finding: Finding, now: dt.datetime, known: _KnownBursts) -> list[AlertOrder]:
    """The links of the finding's orders that ``alert`` does not have yet.

    Only the new ones are written, as the check's index tells them. Why: every check
    finds an ongoing burst again with all of its orders, and writing them all each time
    (the database skipping the ones it has) grew with the burst, every 15 s
    (bench/burst_check.py: recording a check took 9.9-11.4 s of CPU before, 6.4-7.3 s
    after). Conflicts are still ignored, for a check that outlived its lease.
    """
    return [AlertOrder(alert=alert, order_id=pk, added_at=now) for pk in known.unlinked(alert.pk, finding)]


def _raise(finding: Finding, *, now: dt.datetime, known: _KnownBursts) -> Alert:
    label, street, category = label_for(finding.kind, finding.key)
    alert = Alert.objects.create(
        kind=finding.kind, key=finding.key, label=label, street=street, category=category,
        raised_at=now, updated_at=now, first_order_at=finding.first_at, last_order_at=finding.last_at,
        detail={"baseline": finding.baseline, "also": []}, **_evidence(finding))
    AlertOrder.objects.bulk_create(_link(alert, finding, now, known), ignore_conflicts=True, batch_size=1000)
    text = reason(finding, label)
    AlertAction.objects.create(alert=alert, action=AlertAction.Action.RAISE, at=now, note=text,
                               data={"orders": finding.order_ids, **_evidence(finding)})
    _notify(alert, newest_order_id=finding.members[-1].order_id, text=text)
    return alert


def _grow(alert: Alert, finding: Finding, *, now: dt.datetime, known: _KnownBursts, growth: _Growth) -> None:
    """Link the finding's new orders and keep the stronger evidence; the alert is written only if it changed."""
    links = _link(alert, finding, now, known)
    if links:
        growth.links[alert.pk] += links
    changes = {}
    last, first = max(alert.last_order_at, finding.last_at), min(alert.first_order_at, finding.first_at)
    if last != alert.last_order_at:
        changes["last_order_at"] = last
    if first != alert.first_order_at:
        changes["first_order_at"] = first
    same_key = (alert.kind, alert.key) == (finding.kind, finding.key)
    if same_key and finding.p < alert.p_value:
        changes.update(_evidence(finding), detail={**alert.detail, "baseline": finding.baseline})
    elif not same_key:
        also = {"kind": finding.kind, "key": finding.key, "label": label_for(finding.kind, finding.key)[0],
                "observed": finding.observed, "window_hours": finding.window_hours, "expected": finding.expected}
        seen = alert.detail.get("also", [])
        key = (finding.kind, finding.key)
        entries = [also if (a["kind"], a["key"]) == key else a for a in seen]  # in place: order is first seen
        if key not in {(a["kind"], a["key"]) for a in seen}:
            entries.append(also)
        detail = {**alert.detail, "also": entries}
        if detail != alert.detail:
            changes["detail"] = detail
    if changes:
        changes["updated_at"] = now
        for name, value in changes.items():
            setattr(alert, name, value)
        growth.changed[alert.pk].update(changes)
    if links:
        growth.actions[alert.pk].append(AlertAction(alert=alert, action=AlertAction.Action.GROW, at=now,
                                          data={"added": len(links), "via": f"{finding.kind}:{finding.key}",
                                                "observed": finding.observed}))


def _notify(alert: Alert, *, newest_order_id: int, text: str) -> None:
    """An inbox item for the duty officers (supervisors and dispatchers), on the order that tipped it."""
    event = Event.objects.filter(order_id=newest_order_id).order_by("created_at", "id").first()
    if event is None:
        log.warning("alert %s: order %s has no event to notify on", alert.pk, newest_order_id)
        return
    message = f"【突发预警#{alert.pk}】{text}"[:255]
    for role in NOTIFY_ROLES:
        try:
            with transaction.atomic():
                Notification.objects.create(order_id=newest_order_id, event=event, role=role, message=message)
        except IntegrityError:
            pass  # this order's event already told this role


# --- the duty officer's side ---------------------------------------------------------

def _require(actor, allowed_roles, what: str) -> None:
    if not (getattr(actor, "is_superuser", False) or getattr(actor, "role", None) in allowed_roles):
        raise Forbidden(f"当前角色无权{what}")


def _note(note: str, *, required: bool, label: str) -> str:
    note = (note or "").strip()
    if required and not note:
        raise Invalid(f"请填写{label}", field="note")
    if len(note) > NOTE_MAX:
        raise Invalid(f"{label}不能超过 {NOTE_MAX} 个字", field="note")
    return note


def _move(alert: Alert, to: str, *, actor, note: str, action: str, request=None, now=None,
          data: dict | None = None) -> Alert:
    now = now or timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        old = alert.status
        if to not in EDGES.get(old, set()):
            raise IllegalTransition(f"预警已「{AlertStatus(old).label}」，不能再{AlertAction.Action(action).label}")
        # Conditional on the status just read: two officers acting at once cannot both win.
        Alert.objects.filter(pk=alert.pk, status=old).update(status=to, handled_by=actor, handled_at=now,
                                                             handling_note=note, updated_at=now)
        AlertAction.objects.create(alert=alert, action=action, actor=actor, note=note, at=now, data=data or {})
        audit(actor=actor, action=AuditEntry.Action.TRANSITION, obj=alert, request=request,
              summary=f"突发预警#{alert.pk} {AlertStatus(old).label}→{AlertStatus(to).label}",
              changes={"status": [old, to], "note": note, **(data or {})})
        alert.refresh_from_db()
    return alert


def acknowledge(alert: Alert, *, actor, note: str = "", request=None, now=None) -> Alert:
    _require(actor, roles.CAN_HANDLE_ALERTS, "处置预警")
    note = _note(note, required=False, label="确认说明")
    return _move(alert, AlertStatus.ACKNOWLEDGED, actor=actor, note=note, action=AlertAction.Action.ACKNOWLEDGE,
                 request=request, now=now)


def dismiss(alert: Alert, *, actor, note: str = "", request=None, now=None) -> Alert:
    """A false alarm: counted in the false-alarm rate (:func:`yiwang.alerts.selectors.false_alarm_rate`)."""
    _require(actor, roles.CAN_HANDLE_ALERTS, "处置预警")
    note = _note(note, required=False, label="误报说明")
    return _move(alert, AlertStatus.DISMISSED, actor=actor, note=note, action=AlertAction.Action.DISMISS,
                 request=request, now=now)


def escalate(alert: Alert, *, actor, note: str, request=None, now=None) -> Alert:
    """督办: the note becomes the supervision note on the alert and a 督办 on each of its open orders."""
    _require(actor, roles.CAN_HANDLE_ALERTS & roles.CAN_ESCALATE, "督办预警")
    note = _note(note, required=True, label="督办意见")
    now = now or timezone.now()
    with transaction.atomic():
        alert = _move(alert, AlertStatus.ESCALATED, actor=actor, note=note, action=AlertAction.Action.ESCALATE,
                      request=request, now=now)
        pressed = []
        for order in WorkOrder.objects.filter(alert_links__alert=alert).order_by("created_at", "id"):
            if allowed(OrderAction.ESCALATE, order.status, order.status):
                orders.escalate(order, actor=actor, note=f"突发预警#{alert.pk}：{note}", now=now)
                pressed.append(order.pk)
        if pressed:
            AlertAction.objects.filter(alert=alert, action=AlertAction.Action.ESCALATE).order_by("-id").update(
                data={"escalated_orders": pressed})
    return alert
