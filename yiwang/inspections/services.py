"""The only writers of inspections: checklist uploads, inspections, rectifications, the sweep.

Each function checks who acts, runs in one transaction, writes audit rows and
raises a coded :class:`DomainError` (4xx at the edge) when it refuses; a refused
call writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from yiwang.citizen import photos as photo_rules
from yiwang.core.audit import audit
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.core.models import AuditEntry, load_calendar
from yiwang.spaces.models import Space, SpaceType

from . import rules, schedule, scoring
from .models import (
    ChecklistForm,
    ChecklistVersion,
    Evidence,
    Inspection,
    InspectionInterval,
    Rectification,
    RectificationEvent,
    SpaceStatus,
)
from .xlsform import ChecklistInvalid, parse_checklist, scored_items

BUNDLED_DIR = Path(__file__).resolve().parent / "checklists"
MAX_PHOTOS_PER_ITEM = 3
MAX_PHOTOS_PER_INSPECTION = 20
MAX_NOTE = 500
# Fallbacks when the admin table lacks a grade (it is loaded by migration 0002).
DEFAULT_INTERVAL = {"high": (1, 5, 2), "medium": (3, 10, 3), "low": (6, 15, 5)}


class FieldErrors(Invalid):
    """Several fields are wrong at once; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]):
        first_field, first = next(iter(errors.items()))
        super().__init__(first, field=first_field)
        self.errors = errors

    def as_dict(self) -> dict:
        return {"code": self.code, "detail": self.message, "errors": {k: [v] for k, v in self.errors.items()}}


class ChecklistRejected(Invalid):
    code = "checklist_invalid"

    def __init__(self, errors):
        super().__init__(f"检查表有 {len(errors)} 处问题", field="file")
        self.errors = errors


# --- checklists -----------------------------------------------------------------------------------

@transaction.atomic
def upload_checklist(content: bytes, *, filename: str, actor, space_types: list[str] | None = None,
                     request=None) -> ChecklistVersion:
    """Parse an XLSForm and store it as the next version of its ``form_id``."""
    if actor is not None and not rules.can_manage_checklists(actor):
        raise Forbidden("只有区国动办和系统管理员可以上传检查表")
    try:
        definition = parse_checklist(content)
    except ChecklistInvalid as error:
        raise ChecklistRejected(error.errors) from None
    types = list(space_types or definition["space_types"])
    valid = set(SpaceType.values)
    unknown = [t for t in types if t not in valid]
    if unknown or not types:
        raise Invalid("请选择适用的空间类型" if not types else f"未知的空间类型：{'、'.join(unknown)}",
                      field="space_types")
    digest = hashlib.sha256(content).hexdigest()
    form, created = ChecklistForm.objects.select_for_update().get_or_create(
        form_id=definition["form_id"], defaults={"title": definition["title"], "space_types": types})
    latest = form.versions.order_by("-number").first()
    if latest is not None and latest.sha256 == digest:
        raise Invalid(f"该文件与「{form.title}」当前版本 v{latest.number} 完全相同", code="unchanged", field="file")
    if not created:
        form.title, form.space_types, form.active = definition["title"], types, True
        form.save(update_fields=["title", "space_types", "active"])
    version = ChecklistVersion.objects.create(
        form=form, number=(latest.number + 1) if latest else 1, label=definition["version"],
        definition=definition, source=content, source_name=filename[:200], sha256=digest,
        item_count=len(scored_items(definition)), uploaded_by=actor,
    )
    audit(actor=actor, action=AuditEntry.Action.CREATE, obj=version, request=request,
          summary=f"上传检查表 {form.form_id} v{version.number}（{version.item_count} 项）",
          changes={"form_id": form.form_id, "version": version.number, "space_types": types})
    return version


def install_bundled(actor=None) -> list[ChecklistVersion]:
    """Load the checklists shipped with the app, skipping any already stored unchanged."""
    installed = []
    for path in sorted(BUNDLED_DIR.glob("*.xlsx")):
        content = path.read_bytes()
        if ChecklistVersion.objects.filter(sha256=hashlib.sha256(content).hexdigest()).exists():
            continue
        installed.append(upload_checklist(content, filename=path.name, actor=actor))
    return installed


def form_for(space: Space) -> ChecklistVersion | None:
    """The latest version of the active checklist for the space's type (forms are few: filtered here)."""
    for form in ChecklistForm.objects.filter(active=True).order_by("form_id"):
        if space.space_type in form.space_types:
            return form.versions.order_by("-number").first()
    return None


# --- schedule ----------------------------------------------------------------------------------------

def interval_for(risk_grade: str) -> tuple[int, int, int]:
    """(months, rectify working days, critical rectify working days) for a risk grade."""
    row = InspectionInterval.objects.filter(risk_grade=risk_grade).first()
    if row is None:
        return DEFAULT_INTERVAL.get(risk_grade, DEFAULT_INTERVAL["medium"])
    return row.months, row.rectify_days, row.critical_rectify_days


def months_by_grade() -> dict[str, int]:
    """Self-inspection interval (months) per risk grade: the admin table over the fallbacks, in one query."""
    months = {grade: values[0] for grade, values in DEFAULT_INTERVAL.items()}
    months.update(InspectionInterval.objects.values_list("risk_grade", "months"))
    return months


def ensure_status(space: Space, today: dt.date | None = None) -> SpaceStatus:
    today = today or timezone.localdate()
    months = interval_for(space.risk_grade)[0]
    status, _ = SpaceStatus.objects.get_or_create(
        space=space, defaults={"next_due": schedule.next_due(None, months, today)})
    return status


# --- inspections -------------------------------------------------------------------------------------

@dataclass
class Submission:
    """What a filled form sends: per scored item answer and note, other answers, photos per item."""

    answers: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    photos: dict[str, list] = field(default_factory=dict)


def submit_inspection(space: Space, version: ChecklistVersion, submission: Submission, *, actor, kind: str,
                      overrules: Inspection | None = None, reason: str = "", now: dt.datetime | None = None,
                      request=None) -> Inspection:
    """Check, score and store a filled checklist; open a rectification for each failed item."""
    now = now or timezone.now()
    _check_may_inspect(space, actor, kind)
    _check_version(space, version)
    if overrules is not None:
        _check_overrule(space, kind, overrules, reason)
    items = scored_items(version.definition)
    answers, extra, errors = _validate(version.definition, submission)
    cleaned_photos = _clean_photos(submission.photos, {i["name"] for i in items}, errors)
    if errors:
        raise FieldErrors(errors)
    try:
        result = scoring.compute(items, {name: a["answer"] for name, a in answers.items()})
    except scoring.NothingApplicable:
        raise FieldErrors({"__all__": "所有检查项都选了“不适用”，无法评分；请核对后再提交"}) from None
    with transaction.atomic():
        status = _locked_status(space, now)
        if overrules is not None and Inspection.objects.filter(overrules=overrules).exists():
            raise IllegalTransition("该自查已被推翻过", code="already_overruled")
        inspection = Inspection.objects.create(
            space=space, kind=kind, version=version, inspector=actor, inspected_on=timezone.localdate(now),
            submitted_at=now, answers=answers, extra=extra, score=result.score, colour=result.colour,
            passed=result.passed, vetoed=result.vetoed, failed_count=len(result.failed),
            overrules=overrules, overrule_reason=reason.strip() if overrules else "",
        )
        _store_photos(cleaned_photos, actor, now, inspection=inspection)
        _open_rectifications(inspection, items, result.failed, answers, now)
        _update_status(status, inspection, now)
        audit(actor=actor, action=AuditEntry.Action.CREATE, obj=inspection, request=request,
              summary=f"{inspection.get_kind_display()} {space.code}：{result.score} 分，"
                      f"{scoring.COLOUR_LABELS[result.colour]}，不合格 {len(result.failed)} 项",
              changes={"score": str(result.score), "colour": result.colour, "failed": result.failed})
        if overrules is not None:
            audit(actor=actor, action=AuditEntry.Action.UPDATE, obj=overrules, request=request,
                  summary=f"抽查推翻自查 {space.code}（{overrules.score} → {result.score}）",
                  changes={"overruled_by": inspection.pk, "reason": reason.strip(),
                           "before": {"score": str(overrules.score), "colour": overrules.colour},
                           "after": {"score": str(result.score), "colour": result.colour}})
    return inspection


def _check_may_inspect(space: Space, actor, kind: str) -> None:
    if kind == Inspection.Kind.SELF:
        if not rules.can_self_inspect(actor, space):
            raise Forbidden("只有该空间使用单位的账号可以提交自查")
    elif kind == Inspection.Kind.SPOT:
        if not rules.can_supervise(actor, space):
            raise Forbidden("只有所在街道和区国动办可以抽查该空间")
    else:
        raise Invalid("未知的检查类型", field="kind")
    if not space.active:
        raise Invalid("该空间已不在册", code="inactive")


def _check_version(space: Space, version: ChecklistVersion) -> None:
    if not version.form.active or space.space_type not in version.form.space_types:
        raise Invalid("该检查表不适用于此空间类型", field="version")


def _check_overrule(space: Space, kind: str, target: Inspection, reason: str) -> None:
    if kind != Inspection.Kind.SPOT:
        raise Invalid("只有抽查可以推翻自查", field="overrules")
    if target.space_id != space.pk or target.kind != Inspection.Kind.SELF:
        raise Invalid("只能推翻本空间的自查记录", field="overrules")
    if len(reason.strip()) < 4:
        raise FieldErrors({"reason": "推翻自查须写明理由（至少 4 个字）"})


def _validate(definition: dict, sub: Submission) -> tuple[dict, dict, dict[str, str]]:
    answers, extra, errors = {}, {}, {}
    for section in definition["sections"]:
        for item in section["items"]:
            name, kind = item["name"], item["kind"]
            if kind == "scored":
                answer = (sub.answers.get(name) or "").strip()
                note = (sub.notes.get(name) or "").strip()
                if answer not in scoring.ANSWERS:
                    errors[f"item-{name}"] = "请选择检查结果"
                elif answer == scoring.FAIL and not note:
                    errors[f"note-{name}"] = "不合格项请说明存在的问题"
                elif len(note) > MAX_NOTE:
                    errors[f"note-{name}"] = f"说明不能超过 {MAX_NOTE} 字"
                else:
                    answers[name] = {"answer": answer, "note": note}
            elif kind != "note":
                value, problem = _plain_value(item, (sub.extra.get(name) or "").strip())
                if problem:
                    errors[f"extra-{name}"] = problem
                elif value != "":
                    extra[name] = value
    return answers, extra, errors


def _plain_value(item: dict, raw: str) -> tuple[str, str]:
    if not raw:
        return "", ("此项为必填" if item.get("required") else "")
    if len(raw) > MAX_NOTE:
        return "", f"不能超过 {MAX_NOTE} 字"
    kind = item["kind"]
    try:
        if kind == "integer":
            return str(int(raw)), ""
        if kind == "decimal":
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
            return str(value), ""
        if kind == "date":
            return dt.date.fromisoformat(raw).isoformat(), ""
    except (ValueError, InvalidOperation):
        return "", {"integer": "请填写整数", "decimal": "请填写数字", "date": "请填写日期（YYYY-MM-DD）"}[kind]
    if kind == "choice" and raw not in {c[0] for c in item["choices"]}:
        return "", "请选择列表中的选项"
    return raw, ""


def _clean_photos(photos: dict[str, list], allowed_items: set[str] | None, errors: dict) -> list:
    """Re-encoded photos as (item, Photo); problems go to ``errors`` under ``photos-<item>``."""
    cleaned, total = [], 0
    for item, uploads in photos.items():
        if not uploads:
            continue
        key = f"photos-{item}" if item else "photos"
        if allowed_items is not None and item not in allowed_items:
            errors[key] = "未知的检查项"
            continue
        if len(uploads) > MAX_PHOTOS_PER_ITEM:
            errors[key] = f"每项最多上传 {MAX_PHOTOS_PER_ITEM} 张照片"
            continue
        total += len(uploads)
        for upload in uploads:
            try:
                cleaned.append((item, photo_rules.clean_photo(upload)))
            except ValidationError as error:
                errors[key] = error.messages[0]
                break
    if total > MAX_PHOTOS_PER_INSPECTION:
        errors["photos"] = f"一次最多上传 {MAX_PHOTOS_PER_INSPECTION} 张照片"
    return cleaned


def _store_photos(cleaned: list, actor, now: dt.datetime, *, inspection=None, rectification=None) -> None:
    for item, photo in cleaned:
        evidence = Evidence(inspection=inspection, rectification=rectification, item=item,
                            content_type=photo.content_type, size=len(photo.content), uploaded_by=actor,
                            uploaded_at=now)
        evidence.file.save(f"photo{photo.suffix}", ContentFile(photo.content), save=False)
        evidence.save()


def _open_rectifications(inspection: Inspection, items: list[dict], failed: list[str], answers: dict,
                         now: dt.datetime) -> None:
    if not failed:
        return
    _, days, critical_days = interval_for(inspection.space.risk_grade)
    calendar = load_calendar(timezone.localdate(now) - dt.timedelta(days=1))
    by_name = {i["name"]: i for i in items}
    section_of = {i["name"]: s["label"] for s in inspection.version.definition["sections"] for i in s["items"]}
    rows = []
    for name in failed:
        item = by_name[name]
        rows.append(Rectification(
            inspection=inspection, space=inspection.space, item=name, item_label=item["label"][:255],
            section=section_of.get(name, "")[:128], critical=item["critical"],
            legal_basis=item.get("legal_basis", "")[:255], problem=answers[name]["note"],
            deadline=calendar.add_working_days(now, critical_days if item["critical"] else days), created_at=now,
        ))
    Rectification.objects.bulk_create(rows)


def _locked_status(space: Space, now: dt.datetime) -> SpaceStatus:
    ensure_status(space, timezone.localdate(now))
    return SpaceStatus.objects.select_for_update().get(space=space)


def _update_status(status: SpaceStatus, inspection: Inspection, now: dt.datetime) -> None:
    today = timezone.localdate(now)
    fields = ["current", "updated_at"]
    status.current = inspection
    if inspection.kind == Inspection.Kind.SELF:
        months = interval_for(inspection.space.risk_grade)[0]
        status.last_self_on = inspection.inspected_on
        status.next_due = schedule.next_due(inspection.inspected_on, months, today)
        status.overdue = status.next_due < today
        fields += ["last_self_on", "next_due", "overdue"]
    status.save(update_fields=fields)


# --- rectifications ----------------------------------------------------------------------------------

def submit_fix(rect: Rectification, *, actor, note: str, photos: list, now: dt.datetime | None = None,
               request=None) -> Rectification:
    """The using unit reports the problem fixed, with a description and at least one photo."""
    now = now or timezone.now()
    if not rules.can_self_inspect(actor, rect.space):
        raise Forbidden("只有该空间使用单位的账号可以提交整改")
    errors: dict[str, str] = {}
    note = (note or "").strip()
    if not note:
        errors["note"] = "请说明整改情况"
    elif len(note) > MAX_NOTE:
        errors["note"] = f"说明不能超过 {MAX_NOTE} 字"
    if not photos:
        errors["photos"] = "请上传至少一张整改后的照片"
    cleaned = _clean_photos({"": photos}, None, errors) if photos else []
    if errors:
        raise FieldErrors(errors)
    with transaction.atomic():
        _move(rect, Rectification.Status.OPEN, Rectification.Status.SUBMITTED, actor=actor, action="submit",
              note=note, now=now, fix_note=note, submitted_at=now)
        _store_photos(cleaned, actor, now, rectification=rect)
        audit(actor=actor, action=AuditEntry.Action.TRANSITION, obj=rect, request=request,
              summary=f"提交整改 {rect.space.code}：{rect.item_label}", changes={"to": "submitted"})
    rect.refresh_from_db()
    return rect


def verify_fix(rect: Rectification, *, actor, accept: bool, note: str = "", now: dt.datetime | None = None,
               request=None) -> Rectification:
    """复查: the street (or 国动办) accepts the fix, closing it, or rejects it back to the unit."""
    now = now or timezone.now()
    if not rules.can_supervise(actor, rect.space):
        raise Forbidden("只有所在街道和区国动办可以复查整改")
    note = (note or "").strip()
    if not accept and not note:
        raise FieldErrors({"note": "退回整改须说明原因"})
    with transaction.atomic():
        if accept:
            _move(rect, Rectification.Status.SUBMITTED, Rectification.Status.CLOSED, actor=actor, action="accept",
                  note=note, now=now, verified_by=actor, verified_at=now, overdue=False)
        else:
            _move(rect, Rectification.Status.SUBMITTED, Rectification.Status.OPEN, actor=actor, action="reject",
                  note=note, now=now, verified_by=actor, verified_at=now, overdue=rect.deadline < now)
        audit(actor=actor, action=AuditEntry.Action.TRANSITION, obj=rect, request=request,
              summary=f"复查{'通过' if accept else '退回'} {rect.space.code}：{rect.item_label}",
              changes={"to": "closed" if accept else "open", "note": note})
    rect.refresh_from_db()
    return rect


def _move(rect: Rectification, old: str, new: str, *, actor, action: str, note: str, now: dt.datetime,
          **values) -> None:
    """A conditional UPDATE: two officers clicking at once cannot both move the same task."""
    moved = Rectification.objects.filter(pk=rect.pk, status=old).update(status=new, **values)
    if not moved:
        current = Rectification.objects.filter(pk=rect.pk).values_list("status", flat=True).first()
        label = dict(Rectification.Status.choices).get(current, current)
        raise IllegalTransition(f"整改任务当前为「{label}」，不能执行此操作")
    RectificationEvent.objects.create(rectification=rect, action=action, from_status=old, to_status=new,
                                      actor=actor, note=note, at=now)


# --- the sweep ------------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    statuses_created: int = 0
    due_changed: int = 0
    inspections_overdue: int = 0
    inspections_cleared: int = 0
    rectifications_overdue: int = 0


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Bring every space's schedule up to date and flag what is overdue. Safe to run concurrently.

    Recomputes ``next_due`` (a risk grade or an interval may have changed in the
    register or the admin), then flips the flags with conditional updates and
    writes one audit row or event per flip.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = SweepResult()
    months = months_by_grade()
    spaces = Space.objects.filter(active=True, using_unit__isnull=False).only("pk", "risk_grade")
    have = dict(SpaceStatus.objects.values_list("space_id", "last_self_on"))
    new = [SpaceStatus(space_id=s.pk, next_due=schedule.next_due(None, months.get(s.risk_grade, 3), today))
           for s in spaces if s.pk not in have]
    SpaceStatus.objects.bulk_create(new, ignore_conflicts=True)
    result.statuses_created = len(new)
    grades = {s.pk: s.risk_grade for s in spaces}
    changed = []
    for status in SpaceStatus.objects.filter(space_id__in=list(grades)).only("space_id", "next_due", "last_self_on"):
        due = schedule.next_due(status.last_self_on, months.get(grades[status.space_id], 3), today) \
            if status.last_self_on else status.next_due
        if due != status.next_due:
            status.next_due = due
            changed.append(status)
    SpaceStatus.objects.bulk_update(changed, ["next_due"])
    result.due_changed = len(changed)
    result.inspections_overdue = _flip_status(today, overdue=True)
    result.inspections_cleared = _flip_status(today, overdue=False)
    result.rectifications_overdue = _flag_rectifications(now)
    return result


def _flip_status(today: dt.date, *, overdue: bool) -> int:
    if overdue:
        candidates = SpaceStatus.objects.filter(overdue=False, next_due__lt=today, space__active=True,
                                                space__using_unit__isnull=False)
    else:
        candidates = SpaceStatus.objects.filter(overdue=True, next_due__gte=today)
    flipped = 0
    for space_id, code, due in candidates.values_list("space_id", "space__code", "next_due"):
        if SpaceStatus.objects.filter(space_id=space_id, overdue=not overdue).update(overdue=overdue):
            flipped += 1
            audit(actor=None, action=AuditEntry.Action.TRANSITION, object_type="spaces.space", object_id=space_id,
                  summary=f"{code} 自查{'逾期' if overdue else '逾期解除'}（截止 {due}）",
                  changes={"overdue": overdue, "next_due": due.isoformat()})
    return flipped


def _flag_rectifications(now: dt.datetime) -> int:
    flipped = 0
    due = Rectification.objects.filter(status=Rectification.Status.OPEN, overdue=False, deadline__lt=now)
    for pk in due.values_list("pk", flat=True):
        if Rectification.objects.filter(pk=pk, overdue=False, status=Rectification.Status.OPEN).update(overdue=True):
            flipped += 1
            RectificationEvent.objects.create(rectification_id=pk, action="overdue", from_status="open",
                                              to_status="open", note="超过整改期限", at=now)
    return flipped
