"""Reads of inspections, each scoped by the spaces app's access rules."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, When
from django.utils import timezone

from yiwang.core.calendar import SHANGHAI
from yiwang.org.models import Street
from yiwang.spaces.access import visible_spaces
from yiwang.spaces.models import Space, SpaceReport, SpaceType

from . import schedule, scoring, services
from .models import Inspection, Rectification, SpaceStatus


def latest_result(space: Space) -> dict | None:
    """The result the public page shows: the current one (a spot check that overruled a
    self-inspection wins over it), else the latest inspection; None if never inspected."""
    status = SpaceStatus.objects.filter(space=space).select_related("current").first()
    inspection = status.current if status and status.current_id else (
        Inspection.objects.filter(space=space).order_by("-submitted_at", "-id").first())
    if inspection is None:
        return None
    return {
        "date": inspection.inspected_on,
        "score": inspection.score,
        "colour": inspection.colour,
        "colour_label": scoring.COLOUR_LABELS[inspection.colour],
        "passed": inspection.passed,
        "kind": inspection.get_kind_display(),
    }


# --- the schedule as each party sees it ---------------------------------------------------------------

DUE_LABELS = {"overdue": "已逾期", "due": "本期待查", "done": "本期已完成", "none": "无需自查"}


@dataclass
class DueRow:
    space: Space
    status: SpaceStatus | None
    state: str

    @property
    def label(self) -> str:
        return DUE_LABELS[self.state]


def due_state(status: SpaceStatus | None, months: int, today: dt.date) -> str:
    if status is None:
        return "due"
    if status.next_due < today:
        return "overdue"
    return "due" if status.next_due <= schedule.cycle_of(today, months)[1] else "done"


def due_rows(user, *, today: dt.date | None = None, state: str = "", street: str = "") -> list[DueRow]:
    """Visible spaces that have a using unit (someone who must inspect), with their state this cycle."""
    today = today or timezone.localdate()
    spaces = (visible_spaces(user).filter(active=True, using_unit__isnull=False)
              .select_related("street", "using_unit", "inspection_status", "inspection_status__current"))
    if street:
        spaces = spaces.filter(street__code=street)
    months = services.months_by_grade()
    rows = []
    for space in spaces.order_by("code"):
        status = getattr(space, "inspection_status", None)
        row = DueRow(space, status, due_state(status, months.get(space.risk_grade, 3), today))
        if not state or row.state == state:
            rows.append(row)
    order = {"overdue": 0, "due": 1, "done": 2}
    rows.sort(key=lambda r: (order[r.state], r.status.next_due if r.status else today, r.space.code))
    return rows


# --- lists ------------------------------------------------------------------------------------------------

def visible_inspections(user) -> QuerySet[Inspection]:
    return Inspection.objects.filter(space__in=visible_spaces(user))


def inspection_list(user, *, kind: str = "", colour: str = "", street: str = "", space: str = "",
                    since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[Inspection]:
    rows = visible_inspections(user).select_related("space", "space__street", "inspector", "version__form",
                                                    "overruled_by")
    if kind:
        rows = rows.filter(kind=kind)
    if colour:
        rows = rows.filter(colour=colour)
    if street:
        rows = rows.filter(space__street__code=street)
    if space:
        rows = rows.filter(space__code=space)
    if since:
        rows = rows.filter(inspected_on__gte=since)
    if until:
        rows = rows.filter(inspected_on__lte=until)
    return rows


def visible_rectifications(user) -> QuerySet[Rectification]:
    return Rectification.objects.filter(space__in=visible_spaces(user))


def rectification_list(user, *, status: str = "", overdue: bool = False, street: str = "",
                       space: str = "") -> QuerySet[Rectification]:
    rows = visible_rectifications(user).select_related("space", "space__street", "inspection")
    if status:
        rows = rows.filter(status=status)
    if overdue:
        rows = rows.filter(overdue=True)
    if street:
        rows = rows.filter(space__street__code=street)
    if space:
        rows = rows.filter(space__code=space)
    # Open first, then awaiting 复查, then closed; the earliest deadline first within each.
    stage = Case(When(status=Rectification.Status.OPEN, then=0), When(status=Rectification.Status.SUBMITTED, then=1),
                 default=2, output_field=IntegerField())
    return rows.order_by(stage, "deadline", "id")


# --- the district view -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: dt.date
    end: dt.date

    # Moments bounding the period in Shanghai time: a range on the stored column uses its index,
    # where a __date lookup converts every row (in Python, on SQLite).
    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(0), tzinfo=SHANGHAI)

    @property
    def before(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI)


def parse_period(value: str, today: dt.date) -> Period:
    """``2026``, ``2026-H2``, ``2026-Q3`` or ``2026-07``; anything else means the current quarter."""
    value = (value or "").strip().upper()
    if m := re.fullmatch(r"(\d{4})", value):
        y = int(m.group(1))
        return Period(value, f"{y} 年", dt.date(y, 1, 1), dt.date(y, 12, 31))
    if m := re.fullmatch(r"(\d{4})-H([12])", value):
        y, h = int(m.group(1)), int(m.group(2))
        start, end = schedule.cycle_of(dt.date(y, 6 * h - 5, 1), 6)
        return Period(value, f"{y} 年{'上' if h == 1 else '下'}半年", start, end)
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", value):
        y, q = int(m.group(1)), int(m.group(2))
        start, end = schedule.cycle_of(dt.date(y, 3 * q - 2, 1), 3)
        return Period(value, f"{y} 年第 {q} 季度", start, end)
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", value)) and 1 <= int(m.group(2)) <= 12:
        y, mo = int(m.group(1)), int(m.group(2))
        start, end = schedule.cycle_of(dt.date(y, mo, 1), 1)
        return Period(value, f"{y} 年 {mo} 月", start, end)
    start, end = schedule.cycle_of(today, 3)
    q = (start.month - 1) // 3 + 1
    return Period(f"{start.year}-Q{q}", f"{start.year} 年第 {q} 季度", start, end)


def completion(spaces: QuerySet[Space], period: Period, today: dt.date) -> dict:
    """Self-inspection completion for the cycles that end within the period and have begun.

    A monthly space counts three cycles in a quarter, a quarterly one one, a
    half-yearly one only in the quarter its half-year ends in. A cycle is done
    when a self-inspection was submitted within it.
    """
    months = services.months_by_grade()
    spaces = list(spaces.filter(active=True, using_unit__isnull=False).select_related("street")
                  .only("pk", "risk_grade", "street__name", "street__code"))
    cycles = {s.pk: [c for c in schedule.cycles_ending_within(period.start, period.end, months.get(s.risk_grade, 3))
                     if c[0] <= today] for s in spaces}
    earliest = min((c[0] for cs in cycles.values() for c in cs), default=period.start)
    done_days = defaultdict(list)
    for space_id, day in (Inspection.objects.filter(kind=Inspection.Kind.SELF, space__in=[s.pk for s in spaces],
                                                    inspected_on__gte=earliest, inspected_on__lte=period.end)
                          .values_list("space_id", "inspected_on")):
        done_days[space_id].append(day)
    by_street: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    required = done = 0
    for space in spaces:
        for first, last in cycles[space.pk]:
            hit = any(first <= d <= last for d in done_days[space.pk])
            required += 1
            done += hit
            by_street[space.street.name][0] += 1
            by_street[space.street.name][1] += hit
    return {
        "required": required, "done": done, "rate": (done / required) if required else None,
        "by_street": [{"street": name, "required": r, "done": d, "rate": d / r if r else None}
                      for name, (r, d) in sorted(by_street.items())],
    }


def district_view(user, period: Period, *, today: dt.date | None = None) -> dict:
    """Everything the 国动办's page and its xlsx export show, scoped to what ``user`` sees."""
    today = today or timezone.localdate()
    spaces = visible_spaces(user)
    rects = Rectification.objects.filter(space__in=spaces)
    in_period = rects.filter(created_at__gte=period.since, created_at__lt=period.before)
    open_q = Q(status__in=[Rectification.Status.OPEN, Rectification.Status.SUBMITTED])
    street_names = dict(Street.objects.values_list("code", "name"))
    type_names = dict(SpaceType.choices)
    hazards_by_street = Counter({street_names.get(code, code): n for code, n in
                                 in_period.values_list("space__street__code").annotate(n=Count("id"))})
    return {
        "period": period,
        "completion": completion(spaces, period, today),
        "rectifications": {
            "open": rects.filter(open_q).count(),
            "overdue": rects.filter(open_q, overdue=True).count(),
            "closed_in_period": in_period.filter(status=Rectification.Status.CLOSED).count(),
            "opened_in_period": in_period.count(),
        },
        "hazards_by_section": [{"section": s or "（未分组）", "n": n} for s, n in
                               in_period.values_list("section").annotate(n=Count("id")).order_by("-n", "section")],
        "hazards_by_street": [{"street": s, "n": n} for s, n in hazards_by_street.most_common()],
        "hazards_by_type": [{"type": type_names.get(t, t), "n": n} for t, n in
                            in_period.values_list("space__space_type").annotate(n=Count("id")).order_by("-n")],
        "reports": citizen_reports(spaces, period),
        "points": map_points(spaces),
        "overdue_spaces": SpaceStatus.objects.filter(space__in=spaces, overdue=True).count(),
    }


def citizen_reports(spaces: QuerySet[Space], period: Period) -> dict:
    """Site-code reports (the spaces app's SpaceReport) in the period."""
    rows = SpaceReport.objects.filter(space__in=spaces, created_at__gte=period.since, created_at__lt=period.before)
    return {
        "total": rows.count(),
        "by_street": [{"street": s, "n": n} for s, n in
                      rows.values_list("space__street__name").annotate(n=Count("id")).order_by("-n")],
        "recent": list(rows.select_related("space", "order").order_by("-created_at")[:10]),
    }


def map_points(spaces: QuerySet[Space]) -> list[dict]:
    """Spaces with coordinates as points coloured by their current result (no polygons: none are published)."""
    rows = (spaces.filter(active=True, latitude__isnull=False, longitude__isnull=False)
            .values_list("code", "name", "latitude", "longitude", "inspection_status__current__colour",
                         "inspection_status__overdue"))
    return [{"code": code, "name": name, "lat": float(lat), "lng": float(lng), "colour": colour or "none",
             "overdue": bool(overdue)} for code, name, lat, lng, colour, overdue in rows]
