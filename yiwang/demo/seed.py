"""Demo data: one account per role (and per unit for unit staff), a history of
closed work orders and about 150 live ones in every stage of their lifecycle."""

from __future__ import annotations

import datetime as dt
import logging
import random
import sys
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from yiwang.accounts.roles import Role
from yiwang.core.models import load_calendar
from yiwang.org.models import Category, Committee, Street
from yiwang.org.routing import route_for
from yiwang.workorders import services, sla
from yiwang.workorders.models import AppealType, Channel, ReturnReason, Urgency, WorkOrder

from yiwang.smartdispatch import demo as smartdispatch_demo
from yiwang.spaces import demo as spaces_demo
from yiwang.inspections import demo as inspections_demo

from . import factories, history

# (username, role, unit code, display name)
ACCOUNTS = [
    ("admin", Role.ADMIN, None, "数据局管理员"),
    ("operator", Role.OPERATOR, None, "话务员王敏"),
    ("dispatcher", Role.DISPATCHER, None, "派单员陈刚"),
    ("supervisor", Role.SUPERVISOR, None, "督办员刘洋"),
    ("quyang", Role.UNIT_HANDLER, "ST-310109010", "曲阳路街道 承办人"),
    ("quyang-lead", Role.UNIT_LEADER, "ST-310109010", "曲阳路街道 负责人"),
    ("jgw", Role.UNIT_HANDLER, "JGW", "区建管委 承办人"),
    ("scjg", Role.UNIT_HANDLER, "SCJG", "区市场监管局 承办人"),
    ("deputy", Role.NPC_DEPUTY, "RDLLZ", "人大代表赵静"),
    ("citizen", Role.CITIZEN, None, "市民周华"),
    ("enterprise", Role.ENTERPRISE, None, "上海虹口示例科技有限公司"),
    ("gdb", Role.UNIT_HANDLER, "GDB", "区国动办 监管员"),
    ("space-unit", Role.ENTERPRISE, None, "上海瑞虹物业 安全员"),  # using unit of three demo underground spaces
]


def seed_accounts() -> list:
    return [
        factories.make_user(username, role, unit=factories.unit(code) if code else None, display_name=name,
                            phone="13800000000" if role in (Role.CITIZEN, Role.ENTERPRISE) else "")
        for username, role, code, name in ACCOUNTS
    ]


def seed_demo(stdout=None, *, now: dt.datetime | None = None) -> dict:
    """Idempotent: accounts are created once; work orders only into a database that has none."""
    stdout = stdout or sys.stdout
    accounts = {user.username: user for user in seed_accounts()}
    spaces = spaces_demo.seed_spaces(unit_account=accounts["space-unit"])
    if spaces:
        stdout.write(f"  underground spaces: {spaces}\n")
    inspections = inspections_demo.seed(stdout, now=now)
    if inspections:
        stdout.write(f"  inspections: {inspections} (with rectifications in every state)\n")
    existing = WorkOrder.objects.count()
    if existing:
        stdout.write(f"Demo data already loaded ({existing} work orders).\n")
        return {"orders": existing, "created": 0}
    started = time.monotonic()
    # The job queue logs every enqueued notification; a few hundred lines would bury the summary.
    queue_log = logging.getLogger("django-q")
    level = queue_log.level
    queue_log.setLevel(logging.WARNING)
    try:
        # One transaction: an interrupted seed leaves an empty database, which the next start seeds again.
        with transaction.atomic():
            totals = history.seed_history(stdout=stdout, now=now)
            stdout.write(f"  history: {totals['orders']} orders, {totals['events']} events in {totals['seconds']} s\n")
            live = seed_live_orders(now=now or timezone.now(), stdout=stdout)
            smartdispatch_demo.prepare(stdout)
    finally:
        queue_log.setLevel(level)
    seconds = round(time.monotonic() - started, 1)
    count = WorkOrder.objects.count()
    stdout.write(f"Demo work orders: {count} ({totals['orders']} history + {live} live) in {seconds} s\n")
    stdout.flush()
    return {"orders": count, "created": count, "history": totals, "live": live, "seconds": seconds}


def print_accounts(stdout, *, port: int = 8000) -> None:
    stdout.write(f"\nyiwang demo: http://127.0.0.1:{port}/   (admin: /admin/, API: /api/v1/, Open311: /open311/v2/)\n")
    stdout.write(f"Demo accounts (password for all: {factories.DEMO_PASSWORD}):\n")
    for username, role, code, name in ACCOUNTS:
        stdout.write(f"  {username:<14} {Role(role).label:<10} {name}\n")
    stdout.flush()


# --- live work ---------------------------------------------------------------------
#
# The live orders are real lifecycles: every step goes through the services with
# an explicit ``now`` in the last ten working days, then the SLA sweep runs at
# the present moment and raises the warnings those timestamps deserve.

STAFFED_UNITS = {"ST-310109010": ("quyang", "quyang-lead"), "JGW": ("jgw",), "SCJG": ("scjg",)}

# (name, count, needs a unit with demo staff, age range in working hours, steps)
SCENARIOS = [
    ("registered", 12, False, (0.1, 5), []),
    ("dispatched", 18, False, (0.5, 30), ["dispatch"]),
    ("handling", 24, True, (3, 50), ["dispatch", "sign", "progress"]),
    ("handling_yellow", 8, True, (66, 78), ["dispatch", "sign"]),
    ("handling_red", 6, True, (20, 60), ["dispatch", "sign", "escalate"]),
    ("extension_pending", 8, True, (8, 40), ["dispatch", "sign", "request_extension"]),
    ("return_requested", 10, True, (2, 30), ["dispatch", "request_return"]),
    ("replied", 12, True, (6, 60), ["dispatch", "sign", "reply"]),
    ("follow_up", 12, True, (8, 70), ["dispatch", "sign", "reply", "approve"]),
    ("dissatisfied", 4, True, (12, 70), ["dispatch", "sign", "reply", "approve", "dissatisfied"]),
    ("reopened", 3, True, (20, 75), ["dispatch", "sign", "reply", "approve", "dissatisfied", "reopen", "sign"]),
    ("archived", 25, True, (10, 78), ["dispatch", "sign", "reply", "approve", "satisfied"]),
    ("direct_answer", 5, False, (0.2, 70), ["answer"]),
    ("merged", 3, False, (0.5, 20), ["merge"]),
]
LIVE_ORDER_COUNT = sum(s[1] for s in SCENARIOS)


@dataclass
class _Text:
    title: str
    content: str
    category: Category
    street: Street
    appeal_type: str
    lead_code: str


class _Clock:
    """Working time measured back from now."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.calendar = load_calendar(now.date() - dt.timedelta(days=60), days=90)
        self.start = now - dt.timedelta(days=45)
        self.total = self.calendar.working_hours_between(self.start, now)

    def ago(self, hours: float) -> dt.datetime:
        return self.calendar.add_working_hours(self.start, max(self.total - hours, 0.0))

    def after(self, moment: dt.datetime, hours: float) -> dt.datetime:
        return min(self.calendar.add_working_hours(moment, hours), self.now)


class _Live:
    def __init__(self, now: dt.datetime, rng: random.Random):
        User = get_user_model()
        self.users = {u.username: u for u in User.objects.filter(username__in=[a[0] for a in ACCOUNTS])}
        self.clock, self.rng = _Clock(now), rng
        self.categories = {c.path: c for c in Category.objects.filter(level=3)}
        self.streets = {s.name: s for s in Street.objects.all()}
        self.committees = {}
        for committee in Committee.objects.order_by("code"):
            self.committees.setdefault(committee.street_id, []).append(committee)
        self.texts = self._texts()
        self.open_masters: list[WorkOrder] = []

    def _texts(self) -> list[_Text]:
        """Each template filled in a few times, with the unit its routing gives."""
        texts, names = [], list(self.streets)
        for round_ in range(4):
            for i in range(len(history.TEMPLATES)):
                title, content, path, appeal_type, street_name = history.fill_template(i, self.rng, names)
                category, street = self.categories[path], self.streets[street_name]
                lead = route_for(category, street).lead_unit
                texts.append(_Text(title, content, category, street, appeal_type, lead.code if lead else ""))
        return texts

    def pick(self, staffed: bool, scenario: str) -> _Text:
        pool = [t for t in self.texts if not staffed or t.lead_code in STAFFED_UNITS]
        if scenario == "handling_yellow":  # the yellow light needs the 80-hour limit of requests and complaints
            pool = [t for t in pool if t.appeal_type in (AppealType.REQUEST, AppealType.COMPLAINT)]
        if scenario == "direct_answer":
            pool = [t for t in pool if t.appeal_type == AppealType.CONSULTATION]
        return self.rng.choice(pool)

    def staff(self, order: WorkOrder):
        return self.users[self.rng.choice(STAFFED_UNITS[order.lead_unit.code])]

    def register(self, text: _Text, at: dt.datetime, *, urgency: str = Urgency.NORMAL, direct_answer=None,
                 by_phone: bool = False):
        roll = 1.0 if by_phone else self.rng.random()
        if roll < 0.12:
            actor, channel = self.users["citizen"], Channel.WEB
        elif roll < 0.18:
            actor, channel = self.users["citizen"], Channel.QR
        elif roll < 0.22 and text.lead_code in ("SCJG", "JGW"):
            actor, channel = self.users["enterprise"], Channel.ENTERPRISE
        else:
            actor, channel = self.users["operator"], Channel.PHONE
        caller = f"live-caller-{self.rng.randrange(90)}"
        committees = self.committees.get(text.street.pk) or [None]
        committee = self.rng.choice(committees)
        self_service = actor.role in (Role.CITIZEN, Role.ENTERPRISE)
        intake = services.Intake(
            title=text.title, content=text.content, appeal_type=text.appeal_type, urgency=urgency,
            category=text.category, street=text.street, committee=committee,
            address=f"{committee.name}辖区" if committee else "",
            appellant_name="" if self_service else history.synthetic_name(caller),
            appellant_phone="" if self_service else history.synthetic_phone(caller),
            external_ref="yiwang-demo:live",
        )
        order, _ = services.register(intake, actor=actor, channel=channel, now=at, direct_answer=direct_answer)
        return order

    def play(self, scenario: str, staffed: bool, ages: tuple[float, float], steps: list[str]) -> WorkOrder:
        text = self.pick(staffed, scenario)
        age = self.rng.uniform(*ages)
        created = self.clock.ago(age)
        urgency = Urgency.URGENT if scenario == "handling_red" else Urgency.NORMAL
        if steps == ["answer"]:
            return self.register(text, created, by_phone=True,
                                 direct_answer="您好，已按相关政策为您解答，如有疑问可再次来电。")
        if steps == ["merge"]:  # a repeat call about an order already being handled
            master = self.rng.choice(self.open_masters)
            created = max(created, master.created_at + dt.timedelta(minutes=30))
            duplicate = self.register(_Text(master.title, master.content, master.category, master.street,
                                            master.appeal_type, ""), created, by_phone=True)
            return services.merge(duplicate, actor=self.users["operator"], master=master,
                                  reason="重复来电，合并至主工单", now=created)
        order = self.register(text, created, urgency=urgency)
        # Dispatch soon after intake, then spread the remaining steps over the time left until now.
        moments = [self.clock.after(created, min(0.5, age * 0.05))]
        remaining = self.clock.calendar.working_hours_between(moments[0], self.clock.now)
        offsets = sorted(self.rng.uniform(0.02, 0.95) * remaining for _ in steps[1:])
        moments += [self.clock.after(moments[0], h) for h in offsets]
        for step, at in zip(steps, moments):
            order = self.step(order, step, at)
        if order.status in ("handling", "dispatched") and order.reopen_count == 0:
            self.open_masters.append(order)
        return order

    def step(self, order: WorkOrder, step: str, at: dt.datetime) -> WorkOrder:
        u = self.users
        if step == "dispatch":
            return services.dispatch(order, actor=u["dispatcher"], now=at)
        if step == "sign":
            return services.sign(order, actor=self.staff(order), now=at)
        if step == "progress":
            return services.record_progress(order, actor=self.staff(order), note="已联系诉求人，安排人员现场查看。", now=at)
        if step == "escalate":
            return services.escalate(order, actor=u["supervisor"], note="该工单已超期，请承办单位加快办理并反馈进展。", now=at)
        if step == "request_extension":
            services.request_extension(order, actor=self.staff(order), hours=40, reason=history.EXTENSION_NOTE, now=at)
        elif step == "request_return":
            services.request_return(order, actor=self.staff(order), reason_code=ReturnReason.NOT_OUR_DUTY,
                                    reason="经核实，该事项不属于本单位职责范围，建议改派相关主管部门。", now=at)
        elif step == "reply":
            return services.reply(order, actor=self.staff(order), now=at,
                                  text=history.REPLY_TEMPLATE.format(title=order.title[:40], unit=order.lead_unit.name))
        elif step == "approve":
            return services.review_reply(order, actor=self.rng.choice([u["dispatcher"], u["supervisor"]]), approve=True,
                                         now=at)
        elif step in ("satisfied", "dissatisfied"):
            satisfaction = ("dissatisfied" if step == "dissatisfied" else
                            self.rng.choice(["satisfied", "satisfied", "satisfied", "basically"]))
            services.follow_up(order, actor=u["operator"], satisfaction=satisfaction,
                               resolved=step == "satisfied", note="已电话回访诉求人。", now=at)
        elif step == "reopen":
            return services.reopen(order, actor=u["dispatcher"], reason=history.REOPEN_NOTE, now=at)
        else:
            raise ValueError(f"unknown demo step {step!r}")
        order.refresh_from_db()
        return order


def seed_live_orders(*, now: dt.datetime, stdout=None, seed: int = 20240101) -> int:
    """About 150 open and recently closed orders created through the services; returns how many."""
    live = _Live(now, random.Random(seed))
    created = 0
    for scenario, count, staffed, ages, steps in SCENARIOS:
        for _ in range(count):
            live.play(scenario, staffed, ages, steps)
            created += 1
    flipped = 0
    while batch := sla.sweep(now):
        flipped += len(batch)
    if stdout:
        stdout.write(f"  live: {created} work orders in every stage; the SLA sweep raised {flipped} warnings\n")
        stdout.flush()
    return WorkOrder.objects.filter(external_ref="yiwang-demo:live").count()
