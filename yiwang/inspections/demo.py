"""Demo inspections: the shipped checklists, a season of self-inspections with failures, rectifications
in every state (open, overdue, awaiting 复查, rejected once, closed) and one overruling spot check.

Everything goes through the services, with the accounts that would really act: each using unit's
account self-inspects, the 区国动办 (or the street) verifies and spot-checks. Deterministic and
created once (skipped when any inspection exists).
"""

from __future__ import annotations

import datetime as dt
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from yiwang.accounts.roles import Role
from yiwang.demo import factories
from yiwang.spaces.access import CIVIL_DEFENCE_OFFICE_CODE
from yiwang.spaces.models import Space

from . import services
from .models import Inspection
from .xlsform import scored_items

SPACES = 14  # how many spaces get a history of inspections


def _photo(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 140, 160)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def _unit_account(space: Space):
    """The using unit's first account, or a demo account made for it."""
    user = space.using_unit.users.order_by("pk").first()
    if user is None:
        user = factories.make_user(f"space-unit-{space.using_unit_id}", Role.ENTERPRISE,
                                   display_name=f"{space.using_unit.name} 安全员")
        space.using_unit.users.add(user)
    return user


def _submission(version, rng: random.Random, fail_rate: float) -> services.Submission:
    sub = services.Submission(extra={"inspector": rng.choice(["张伟", "王芳", "李强", "陈静"])})
    for item in scored_items(version.definition):
        roll = rng.random()
        answer = "fail" if roll < fail_rate else "na" if roll > 0.95 else "pass"
        sub.answers[item["name"]] = answer
        if answer == "fail":
            sub.notes[item["name"]] = f"现场检查：{item['label'][:20]}未达到要求"
    return sub


@transaction.atomic
def seed(stdout=None, *, now: dt.datetime | None = None, seed: int = 11) -> int:
    """Returns how many inspections were created (0 when there are some already).

    One transaction: an interrupted seed leaves no half history that would stop the next one.
    """
    installed = services.install_bundled()
    if stdout and installed:
        stdout.write(f"  checklists: {', '.join(v.form.title for v in installed)}\n")
    if Inspection.objects.exists():
        return 0
    now = now or timezone.now()
    rng = random.Random(seed)
    office = factories.make_user("gdb", Role.UNIT_HANDLER, unit=factories.unit(CIVIL_DEFENCE_OFFICE_CODE),
                                 display_name="区国动办 监管员")
    candidates = list(Space.objects.filter(active=True, using_unit__isnull=False)
                      .select_related("using_unit", "street").order_by("code"))
    spaces = sorted(rng.sample(candidates, min(SPACES, len(candidates))), key=lambda s: s.code)
    created = 0
    for n, space in enumerate(spaces):
        version = services.form_for(space)
        if version is None:
            continue
        actor = _unit_account(space)
        # Two rounds, about seven and about two weeks ago; some units fail more items than others.
        fail_rate = [0.02, 0.06, 0.12][n % 3]
        # Every fifth space was inspected once, three months ago, and is now overdue.
        rounds = (rng.randint(80, 95),) if n % 5 == 4 else (rng.randint(40, 55), rng.randint(8, 16))
        for days_ago in rounds:
            at = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 6))
            try:
                inspection = services.submit_inspection(space, version, _submission(version, rng, fail_rate),
                                                        actor=actor, kind="self", now=at)
            except services.FieldErrors:
                continue  # a draw with every item N/A: that round was skipped
            created += 1
            _move_rectifications(inspection, actor, office, rng, at, now)
    created += _overrule(spaces, office, rng, now)
    services.sweep(now)
    return created


def _move_rectifications(inspection, unit_user, officer, rng: random.Random, at: dt.datetime, now: dt.datetime):
    """Older failures are mostly fixed and verified; recent ones are still open or awaiting 复查."""
    old = (now - at).days > 30
    for rect in inspection.rectifications.all():
        roll = rng.random()
        if roll < (0.25 if old else 0.5):
            continue  # still open (the sweep flags it overdue once the deadline has passed)
        fixed_at = at + dt.timedelta(days=rng.randint(1, 4))
        rect = services.submit_fix(rect, actor=unit_user, note="已整改完毕，见照片", photos=[_photo("fix.jpg")],
                                   now=fixed_at)
        if roll < (0.4 if old else 0.8):
            continue  # awaiting 复查
        checked_at = fixed_at + dt.timedelta(days=1)
        if roll > 0.93:
            rect = services.verify_fix(rect, actor=officer, accept=False, note="复查发现未彻底整改，请重新整改",
                                       now=checked_at)
            continue
        services.verify_fix(rect, actor=officer, accept=True, note="", now=checked_at)


def _overrule(spaces: list[Space], officer, rng: random.Random, now: dt.datetime) -> int:
    """One spot check that finds what a passing self-inspection missed."""
    target = (Inspection.objects.filter(space__in=spaces, kind=Inspection.Kind.SELF, passed=True)
              .order_by("-submitted_at").first())
    if target is None:
        return 0
    version = services.form_for(target.space)
    sub = services.Submission(extra={"inspector": "区国动办 监管员"})
    items = scored_items(version.definition)
    critical = next(i["name"] for i in items if i["critical"])
    for item in items:
        previous = target.answers.get(item["name"], {})
        sub.answers[item["name"]] = previous.get("answer", "pass")
        sub.notes[item["name"]] = previous.get("note", "")
    sub.answers[critical] = "fail"
    sub.notes[critical] = "抽查发现：现场情况与自查不符"
    services.submit_inspection(target.space, version, sub, actor=officer, kind="spot", overrules=target,
                               reason="抽查发现否决项不合格，自查结果不实", now=now - dt.timedelta(days=2))
    return 1
