"""Inspections and rectifications through the services: scoring on the server, rectifications with
working-day deadlines, the verification lifecycle, overrules, the overdue sweep and who may act."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import Forbidden, IllegalTransition
from yiwang.core.models import AuditEntry
from yiwang.inspections import selectors, services
from yiwang.inspections.models import ChecklistVersion, Inspection, InspectionInterval, Rectification, SpaceStatus
from yiwang.inspections.xlsform import scored_items

from .conftest import png_upload, xlsform

MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


def filled(version: ChecklistVersion, *, fail=(), na=(), **kw) -> services.Submission:
    answers, notes = {}, {}
    for item in scored_items(version.definition):
        name = item["name"]
        answers[name] = "fail" if name in fail else "na" if name in na else "pass"
        if name in fail:
            notes[name] = f"{item['label']}：发现问题"
    return services.Submission(answers=answers, notes=notes, extra={"inspector": "张检查"}, **kw)


@pytest.fixture
def garage(iw):
    return services.form_for(iw.s1)


def test_form_for_picks_the_checklist_by_space_type(iw, garage):
    assert garage.form.form_id == "garage_self_check"
    assert services.form_for(iw.s2).form.form_id == "cd_self_check"


def test_self_inspection_is_scored_on_the_server_and_failed_items_open_rectifications(iw, garage):
    inspection = services.submit_inspection(iw.s1, garage, filled(garage, fail=["lighting", "drainage"],
                                                                   na=["co"]), actor=iw.ent_a, kind="self", now=MONDAY)
    # 25 items, weights sum 52; co (1) is N/A, lighting (1) and drainage (2) failed: 48/51.
    assert (str(inspection.score), inspection.colour, inspection.passed) == ("94.1", "green", True)
    rects = {r.item: r for r in inspection.rectifications.all()}
    assert set(rects) == {"lighting", "drainage"}
    # s1 is high risk: 5 working days for ordinary items; Monday 10:00 + 5 days → next Monday 10:00.
    assert rects["drainage"].deadline == dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
    assert rects["drainage"].section == "结构与设备" and rects["drainage"].problem.endswith("发现问题")
    status = SpaceStatus.objects.get(space=iw.s1)
    assert (status.current, status.last_self_on, status.next_due) == (inspection, dt.date(2026, 11, 23),
                                                                     dt.date(2026, 12, 31))
    assert AuditEntry.objects.filter(object_type="inspections.inspection", object_id=str(inspection.pk)).exists()
    assert selectors.latest_result(iw.s1) == {"date": dt.date(2026, 11, 23), "score": inspection.score,
                                              "colour": "green", "colour_label": "绿（合格）", "passed": True,
                                              "kind": "自查"}


def test_failed_critical_item_vetoes_and_gets_the_short_deadline(iw, garage):
    inspection = services.submit_inspection(iw.s1, garage, filled(garage, fail=["exits"]), actor=iw.ent_a,
                                            kind="self", now=MONDAY)
    assert (inspection.colour, inspection.passed, inspection.vetoed) == ("red", False, True)
    rect = inspection.rectifications.get()
    assert rect.critical and rect.deadline == dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


def test_bad_submissions_are_refused_with_field_messages_and_write_nothing(iw, garage):
    sub = filled(garage, fail=["exits"])
    sub.notes = {}
    del sub.answers["lighting"]
    sub.photos = {"exits": [png_upload(), png_upload(), png_upload(), png_upload()]}
    with pytest.raises(services.FieldErrors) as caught:
        services.submit_inspection(iw.s1, garage, sub, actor=iw.ent_a, kind="self", now=MONDAY)
    assert caught.value.errors == {"note-exits": "不合格项请说明存在的问题", "item-lighting": "请选择检查结果",
                                   "photos-exits": "每项最多上传 3 张照片"}
    all_na = filled(garage, na=[i["name"] for i in scored_items(garage.definition)])
    with pytest.raises(services.FieldErrors):
        services.submit_inspection(iw.s1, garage, all_na, actor=iw.ent_a, kind="self", now=MONDAY)
    bad_photo = filled(garage)
    from django.core.files.uploadedfile import SimpleUploadedFile
    bad_photo.photos = {"exits": [SimpleUploadedFile("x.png", b"not an image", content_type="image/png")]}
    with pytest.raises(services.FieldErrors) as caught:
        services.submit_inspection(iw.s1, garage, bad_photo, actor=iw.ent_a, kind="self", now=MONDAY)
    assert "不是有效的" in caught.value.errors["photos-exits"]
    assert not Inspection.objects.exists() and not Rectification.objects.exists()


@pytest.mark.parametrize("who, kind", [("ent_b", "self"), ("quyang_officer", "self"), ("ent_a", "spot"),
                                       ("jiaxing_officer", "spot"), ("supervisor", "spot"), ("other_dept", "spot")])
def test_only_the_right_party_may_inspect(iw, garage, who, kind):
    with pytest.raises(Forbidden):
        services.submit_inspection(iw.s1, garage, filled(garage), actor=getattr(iw, who), kind=kind, now=MONDAY)
    assert not Inspection.objects.exists()


def test_a_checklist_of_another_space_type_is_refused(iw, garage):
    with pytest.raises(services.Invalid):
        services.submit_inspection(iw.s2, garage, filled(garage), actor=iw.ent_a, kind="self", now=MONDAY)


def test_rectification_lifecycle_submit_reject_resubmit_accept(iw, garage):
    inspection = services.submit_inspection(iw.s1, garage, filled(garage, fail=["lighting"]), actor=iw.ent_a,
                                            kind="self", now=MONDAY)
    rect = inspection.rectifications.get()
    with pytest.raises(services.FieldErrors) as caught:
        services.submit_fix(rect, actor=iw.ent_a, note="", photos=[])
    assert set(caught.value.errors) == {"note", "photos"}
    with pytest.raises(Forbidden):
        services.submit_fix(rect, actor=iw.ent_b, note="已修", photos=[png_upload()])
    with pytest.raises(IllegalTransition):  # nothing submitted yet
        services.verify_fix(rect, actor=iw.quyang_officer, accept=True)
    rect = services.submit_fix(rect, actor=iw.ent_a, note="已更换灯管 12 支", photos=[png_upload()])
    assert rect.status == "submitted" and rect.photos.count() == 1
    with pytest.raises(Forbidden):
        services.verify_fix(rect, actor=iw.jiaxing_officer, accept=True)
    with pytest.raises(services.FieldErrors):
        services.verify_fix(rect, actor=iw.quyang_officer, accept=False, note="")
    rect = services.verify_fix(rect, actor=iw.quyang_officer, accept=False, note="B2 层仍有两处不亮")
    assert rect.status == "open"
    rect = services.submit_fix(rect, actor=iw.ent_a, note="B2 层已修复", photos=[png_upload()])
    rect = services.verify_fix(rect, actor=iw.gdb, accept=True, note="")
    assert (rect.status, rect.verified_by) == ("closed", iw.gdb)
    assert [e.action for e in rect.events.all()] == ["submit", "reject", "submit", "accept"]
    assert AuditEntry.objects.filter(object_type="inspections.rectification", object_id=str(rect.pk)).count() == 4


def test_spot_check_overrules_a_self_inspection_and_becomes_the_current_result(iw, garage):
    own = services.submit_inspection(iw.s1, garage, filled(garage), actor=iw.ent_a, kind="self", now=MONDAY)
    later = MONDAY + dt.timedelta(days=2)
    with pytest.raises(services.FieldErrors):
        services.submit_inspection(iw.s1, garage, filled(garage, fail=["ebike"]), actor=iw.quyang_officer,
                                   kind="spot", overrules=own, reason="", now=later)
    spot = services.submit_inspection(iw.s1, garage, filled(garage, fail=["ebike"]), actor=iw.quyang_officer,
                                      kind="spot", overrules=own, reason="现场发现电动自行车在车库充电，自查不实",
                                      now=later)
    assert (spot.colour, spot.overrules) == ("red", own)
    status = SpaceStatus.objects.get(space=iw.s1)
    assert status.current == spot and status.last_self_on == dt.date(2026, 11, 23)  # a spot check is no self-inspection
    assert selectors.latest_result(iw.s1)["passed"] is False
    entry = AuditEntry.objects.get(object_type="inspections.inspection", object_id=str(own.pk), action="update")
    assert entry.changes["reason"].startswith("现场发现") and entry.changes["before"]["colour"] == "green"
    assert spot.rectifications.get().item == "ebike"
    with pytest.raises(IllegalTransition):
        services.submit_inspection(iw.s1, garage, filled(garage), actor=iw.gdb, kind="spot", overrules=own,
                                   reason="再次推翻", now=later)


def test_sweep_flags_overdue_self_inspections_and_rectifications_once(iw, garage):
    services.submit_inspection(iw.s1, garage, filled(garage, fail=["lighting"]), actor=iw.ent_a, kind="self",
                               now=MONDAY)
    first = services.sweep(MONDAY)
    assert first.statuses_created == 2  # s2 and s3; s1 has its status from the inspection
    # 2027-01-05: s1 (monthly, due 2026-12-31) and s2 (quarterly, due 2026-12-31) are overdue; s3 (half-yearly) too.
    later = dt.datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI)
    result = services.sweep(later)
    assert (result.inspections_overdue, result.rectifications_overdue) == (3, 1)
    assert services.sweep(later).inspections_overdue == 0  # idempotent
    assert set(SpaceStatus.objects.filter(overdue=True).values_list("space__code", flat=True)) == {
        "HK-DX-0001", "HK-DX-0002", "HK-DX-0003"}
    assert Rectification.objects.get().overdue
    assert [r.state for r in selectors.due_rows(iw.ent_a, today=later.date())] == ["overdue", "overdue"]
    # A new self-inspection clears the flag at once.
    services.submit_inspection(iw.s1, garage, filled(garage), actor=iw.ent_a, kind="self", now=later)
    assert not SpaceStatus.objects.get(space=iw.s1).overdue


def test_due_rows_are_scoped_to_the_party(iw, garage):
    services.sweep(MONDAY)
    today = MONDAY.date()
    assert [r.space.code for r in selectors.due_rows(iw.ent_a, today=today)] == ["HK-DX-0001", "HK-DX-0002"]
    assert [r.space.code for r in selectors.due_rows(iw.jiaxing_officer, today=today)] == ["HK-DX-0003"]
    assert len(selectors.due_rows(iw.gdb, today=today)) == 3
    assert selectors.due_rows(iw.citizen, today=today) == []
    assert selectors.due_rows(iw.other_dept, today=today) == []


def test_a_new_upload_of_the_same_form_is_a_new_version_and_old_inspections_keep_theirs(iw, garage):
    inspection = services.submit_inspection(iw.s1, garage, filled(garage), actor=iw.ent_a, kind="self", now=MONDAY)
    content = xlsform([["select_one pfn", "only", "唯一检查项", "1", "no", "消防法"]],
                      settings=[["form_title", "form_id", "space_types"], ["车库检查（简版）", "garage_self_check", "garage"]])
    version = services.upload_checklist(content, filename="v2.xlsx", actor=iw.gdb)
    assert (version.number, version.item_count, version.form) == (2, 1, garage.form)
    assert services.form_for(iw.s1) == version
    inspection.refresh_from_db()
    assert inspection.version == garage and len(scored_items(inspection.version.definition)) == 25
    with pytest.raises(services.Invalid):
        services.upload_checklist(content, filename="again.xlsx", actor=iw.gdb)  # unchanged
    with pytest.raises(Forbidden):
        services.upload_checklist(content, filename="x.xlsx", actor=iw.quyang_officer)
    with pytest.raises(services.ChecklistRejected) as caught:
        services.upload_checklist(xlsform([["select_one pfn", "a", "甲", "x", None, None]]), filename="bad.xlsx",
                                  actor=iw.gdb)
    assert caught.value.errors[0].row == 2


def test_completion_rate_counts_cycles_ending_in_the_period(iw, garage):
    cd = services.form_for(iw.s2)
    services.submit_inspection(iw.s1, garage, filled(garage), actor=iw.ent_a, kind="self",
                               now=dt.datetime(2026, 10, 9, 10, tzinfo=SHANGHAI))
    services.submit_inspection(iw.s2, cd, filled(cd), actor=iw.ent_a, kind="self", now=MONDAY)
    period = selectors.parse_period("2026-Q4", MONDAY.date())
    data = selectors.completion(iw.s1.__class__.objects.all(), period, dt.date(2026, 12, 31))
    # s1 monthly: Oct done, Nov and Dec not; s2 quarterly: done; s3 half-yearly (H2 ends in Q4): not done.
    assert (data["required"], data["done"]) == (5, 2)
    assert {r["street"]: (r["required"], r["done"]) for r in data["by_street"]} == {"曲阳路": (4, 2),
                                                                                  "嘉兴路": (1, 0)}


def test_interval_months_follow_the_admin_table_over_the_fallbacks(db):
    assert services.months_by_grade() == {"high": 1, "medium": 3, "low": 6}
    InspectionInterval.objects.filter(risk_grade="low").update(months=12)
    InspectionInterval.objects.filter(risk_grade="high").delete()
    assert services.months_by_grade() == {"high": 1, "medium": 3, "low": 12}
