"""The suggestion page, one-click confirm, correction with field errors, analytics and the admin."""

import math

import pytest
from django.urls import reverse

from yiwang.org.models import Category
from yiwang.smartdispatch import services
from yiwang.smartdispatch.models import DispatchFeedback, ModelVersion
from yiwang.workorders.states import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(active_model, threshold, training_row, make_order, django_capture_on_commit_callbacks):
    threshold(1.0)
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order(title=training_row["title"][:200], content=training_row["detail"], category=None,
                           address="玉田新村12号")
    return order


def login(client, user):
    client.force_login(user)
    return client


def test_the_page_shows_label_confidence_alternatives_keywords_and_unit(client, world, pending):
    s = pending.dispatch_suggestion
    page = login(client, world.dispatcher).get(reverse("smartdispatch:suggestion", args=[pending.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert s.label in html and "<meter" in html and f"{round(s.confidence * 100)}%" in html
    assert all(label in html for label, _ in s.alternatives)
    assert s.lead_unit.name in html and "确认派至" in html
    for word in s.keywords[:3]:
        assert f"<mark>{word}</mark>" in html


def test_one_click_confirm_dispatches_and_goes_back(client, world, pending):
    url = reverse("smartdispatch:confirm", args=[pending.pk])
    response = login(client, world.dispatcher).post(url, {"next": "/queue/?page=2"})
    assert response.status_code == 302 and response["Location"] == "/queue/?page=2"
    pending.refresh_from_db()
    assert pending.status == Status.DISPATCHED
    assert DispatchFeedback.objects.get().kind == "confirm"


def test_an_outside_next_is_ignored(client, world, pending):
    response = login(client, world.dispatcher).post(reverse("smartdispatch:confirm", args=[pending.pk]),
                                                    {"next": "https://evil.example/"})
    assert response["Location"] == f"/orders/{pending.pk}/"


def test_only_dispatchers_may_confirm_and_nothing_is_written(client, world, pending):
    response = login(client, world.operator).post(reverse("smartdispatch:confirm", args=[pending.pk]))
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == Status.REGISTERED and not DispatchFeedback.objects.exists()


def test_confirming_twice_is_a_409_with_the_reason(client, world, pending):
    c = login(client, world.dispatcher)
    c.post(reverse("smartdispatch:confirm", args=[pending.pk]))
    response = c.post(reverse("smartdispatch:confirm", args=[pending.pk]))
    assert response.status_code == 409 and "不能执行「派单」" in response.content.decode()
    assert DispatchFeedback.objects.count() == 1


def test_correction_with_bad_input_shows_field_errors_and_writes_nothing(client, world, pending):
    c = login(client, world.dispatcher)
    url = reverse("smartdispatch:correct", args=[pending.pk])
    response = c.post(url, {"category": "", "lead_unit": "999999"})
    html = response.content.decode()
    assert response.status_code == 400 and "请选择分类" in html and "主办单位「999999」不存在或已停用" in html
    response = c.post(url, {"category": "abc"})
    assert response.status_code == 400 and "分类「abc」不存在或已停用" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.REGISTERED and not DispatchFeedback.objects.exists()


def test_correction_dispatches_and_records(client, world, pending):
    category = Category.objects.get(level=1, name="环境保护")
    response = login(client, world.dispatcher).post(reverse("smartdispatch:correct", args=[pending.pk]),
                                                    {"category": category.pk, "note": "油烟问题"})
    assert response.status_code == 302
    fb = DispatchFeedback.objects.get()
    assert (fb.kind, fb.final_label, fb.note) == ("correct", "环境保护", "油烟问题")


def test_analytics_page_aggregates(client, world, pending, make_order, threshold, training_row,
                                   django_capture_on_commit_callbacks):
    services.confirm(pending, actor=world.dispatcher)
    other = make_order(title="另一件" + training_row["title"][:100], content=training_row["detail"], category=None)
    services.suggest(other, auto_dispatch=False)
    wrong = Category.objects.get(level=1, name="交通运输" if other.dispatch_suggestion.label != "交通运输" else "环境保护")
    services.correct(other, actor=world.dispatcher, category=wrong)
    confidence = services.classifier_for(services.active_version()).predict(
        "第三件" + training_row["title"][:100], training_row["detail"]).confidence
    threshold(max(0.5, math.floor(confidence * 1000) / 1000))
    with django_capture_on_commit_callbacks(execute=True):
        make_order(title="第三件" + training_row["title"][:100], content=training_row["detail"], category=None)
    page = login(client, world.supervisor).get(reverse("smartdispatch:analytics"), {"days": "all"})
    assert page.status_code == 200
    data = page.context["data"]
    week = data["weekly"][0]
    assert (week["confirmed"], week["corrected"], week["returned"], week["accuracy"]) == (1, 1, 0, 0.5)
    assert data["auto"] == {"total": 3, "auto": 1, "pending": 0, "share": round(1 / 3, 4)}
    assert data["returns"]["auto"]["n"] == 1 and data["returns"]["manual"]["n"] == 2
    assert data["returns"]["auto"]["rate"] == 0.0
    assert sum(n for _, _, n in data["confusion"]["cells"]) == 2
    assert 'id="sd-data"' in page.content.decode() and "echarts.min.js" in page.content.decode()


def test_analytics_refuses_bad_ranges_and_other_roles(client, world):
    assert login(client, world.admin).get(reverse("smartdispatch:analytics"), {"days": "7"}).status_code == 400
    assert login(client, world.handler).get(reverse("smartdispatch:analytics")).status_code == 403


def test_admin_rolls_back_by_activating_an_older_version(client, world, active_model, trained_dir):
    from django.utils import timezone

    newer = ModelVersion.objects.create(number=2, directory=str(trained_dir), trained_at=timezone.now())
    services.activate(newer)
    c = login(client, world.admin)
    response = c.post(reverse("admin:smartdispatch_modelversion_changelist"),
                      {"action": "activate_selected", "_selected_action": [active_model.pk]})
    assert response.status_code == 302
    assert list(ModelVersion.objects.filter(active=True)) == [active_model]
    assert c.get(reverse("admin:smartdispatch_modelversion_changelist")).status_code == 200
    assert c.get(reverse("admin:smartdispatch_dispatchsettings_changelist")).status_code == 302
    assert c.get(reverse("admin:smartdispatch_place_changelist")).status_code == 200


def test_the_dispatch_queue_shows_the_suggestion_with_a_confirm_button(client, world, pending):
    page = login(client, world.dispatcher).get(reverse("workorders:queue"))
    html = page.content.decode()
    assert page.status_code == 200
    assert reverse("smartdispatch:confirm", args=[pending.pk]) in html and "formaction=" in html
    assert pending.dispatch_suggestion.label in html
