"""Suggestions on intake, automatic dispatch, one-click confirm/correct, return feedback."""

import math

import pytest

from yiwang.core.errors import Forbidden, Invalid
from yiwang.demo import factories
from yiwang.org.models import Category
from yiwang.org.routing import route_for
from yiwang.smartdispatch import services
from yiwang.smartdispatch.models import DispatchFeedback, DispatchSuggestion, Outcome, StreetSource
from yiwang.workorders import services as orders
from yiwang.workorders.models import ReturnReason
from yiwang.workorders.states import Action, Status

pytestmark = pytest.mark.django_db

LABELS = {"城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "卫生计生", "环境保护", "交通运输"}


@pytest.fixture
def register(make_order, django_capture_on_commit_callbacks):
    """Register through the engine and run what happens after commit (the intake hook)."""
    def reg(row, **overrides):
        values = dict(title=row["title"][:200], content=row["detail"] or row["title"], category=None, street=None,
                      address="")
        values.update(overrides)
        with django_capture_on_commit_callbacks(execute=True):
            order = make_order(**values)
        order.refresh_from_db()
        return order
    return reg


def confidence_of(version, row):
    return services.classifier_for(version).predict(row["title"][:200], row["detail"] or row["title"]).confidence


def test_intake_computes_a_suggestion_with_category_unit_alternatives_and_keywords(
        active_model, threshold, register, training_row):
    threshold(1.0)  # never automatic here
    order = register(training_row, address="玉田新村12号")
    s = DispatchSuggestion.objects.get(order=order)
    assert s.label in LABELS and s.model_version == active_model
    assert s.category is not None and s.category.top_level.name == s.label
    assert s.path[0] == s.label
    assert 0 < s.confidence <= 1 and len(s.alternatives) == 3
    assert {a for a, _ in s.alternatives} <= LABELS - {s.label}
    assert isinstance(s.keywords, list)
    assert s.street.name == "曲阳路" and s.street_source == StreetSource.GAZETTEER
    assert s.lead_unit == route_for(s.category, s.street).lead_unit is not None
    assert s.outcome == Outcome.PENDING and order.status == Status.REGISTERED


def test_the_street_given_at_intake_is_used_as_is(active_model, threshold, register, training_row):
    threshold(1.0)
    order = register(training_row, street=factories.street("北外滩"), address="嘉兴路100号")
    s = order.dispatch_suggestion
    assert (s.street.name, s.street_source) == ("北外滩", StreetSource.INTAKE)


def test_above_the_threshold_the_order_is_dispatched_automatically(active_model, threshold, register, training_row):
    confidence = confidence_of(active_model, training_row)
    assert confidence >= 0.5, "the sample model should be sure of a row it was trained on"
    threshold(max(0.5, math.floor(confidence * 1000) / 1000))
    order = register(training_row)
    s = order.dispatch_suggestion
    assert order.status == Status.DISPATCHED and order.lead_unit == s.lead_unit
    assert s.outcome == Outcome.AUTO and s.auto_dispatched
    event = order.events.get(action=Action.DISPATCH)
    assert event.actor.username == services.SYSTEM_USERNAME and event.actor.role == "dispatcher"
    assert not event.actor.is_active and not event.actor.has_usable_password()
    assert event.reason.startswith("智能派单自动派发（") and f"模型 v{active_model.number}" in event.reason
    assert f"置信度 {s.confidence:.2f}" in event.reason
    assert not DispatchFeedback.objects.exists()  # nobody has said anything yet


def test_below_the_threshold_or_switched_off_it_waits_for_the_dispatcher(
        active_model, threshold, register, training_row):
    confidence = confidence_of(active_model, training_row)
    threshold(min(1.0, math.ceil(confidence * 1000 + 1) / 1000))
    assert register(training_row).status == Status.REGISTERED
    threshold(0.5, enabled=False)
    order = register(training_row, title=training_row["title"][:190] + "（再次）")
    assert order.status == Status.REGISTERED and order.dispatch_suggestion.outcome == Outcome.PENDING


def test_without_an_active_model_intake_works_and_no_suggestion_is_made(db, models_dir, register, training_row):
    order = register(training_row)
    assert order.status == Status.REGISTERED
    assert not DispatchSuggestion.objects.exists()


def test_confirm_dispatches_as_suggested_and_records_the_confirmation(
        active_model, threshold, register, training_row, world):
    threshold(1.0)
    order = register(training_row, street=factories.street("曲阳路"))
    s = order.dispatch_suggestion
    order = services.confirm(order, actor=world.dispatcher)
    assert order.status == Status.DISPATCHED and order.lead_unit == s.lead_unit
    fb = DispatchFeedback.objects.get()
    assert (fb.kind, fb.suggested_label, fb.final_label) == ("confirm", s.label, s.label)
    assert fb.final_unit == s.lead_unit and fb.by == world.dispatcher and fb.model_version == active_model
    assert order.events.get(action=Action.DISPATCH).reason.startswith("确认智能派单建议")
    s.refresh_from_db()
    assert s.outcome == Outcome.CONFIRMED
    order.refresh_from_db()
    assert order.category == s.category  # confirming classifies the order as suggested


def test_correct_dispatches_by_the_chosen_category_and_records_both_labels(
        active_model, threshold, register, training_row, world):
    threshold(1.0)
    order = register(training_row, street=factories.street("曲阳路"))
    s = order.dispatch_suggestion
    other = Category.objects.get(level=1, name="交通运输" if s.label != "交通运输" else "环境保护")
    order = services.correct(order, actor=world.dispatcher, category=other, note="属于交通管理")
    order.refresh_from_db()
    assert order.category == other
    event = order.events.get(action=Action.DISPATCH)
    assert event.data["category"] == other.pk and "previous_category" in event.data
    expected = route_for(other, order.street).lead_unit
    assert order.status == Status.DISPATCHED and order.lead_unit == expected
    fb = DispatchFeedback.objects.get()
    assert (fb.kind, fb.suggested_label, fb.final_label, fb.final_category) == ("correct", s.label, other.name, other)
    assert "改派：智能建议" in order.events.get(action=Action.DISPATCH).reason


def test_correct_with_an_explicit_unit_and_bad_input(active_model, threshold, register, training_row, world):
    threshold(1.0)
    order = register(training_row)
    with pytest.raises(Invalid) as exc:
        services.correct(order, actor=world.dispatcher, category=None)
    assert exc.value.field == "category"
    category = Category.objects.get(level=1, name="环境保护")
    order = services.correct(order, actor=world.dispatcher, category=category, lead_unit=world.other_unit)
    assert order.lead_unit == world.other_unit
    assert DispatchFeedback.objects.get().final_unit == world.other_unit


def test_only_dispatchers_confirm_and_a_refusal_writes_nothing(active_model, threshold, register, training_row, world):
    threshold(1.0)
    order = register(training_row)
    with pytest.raises(Forbidden):
        services.confirm(order, actor=world.operator)
    order.refresh_from_db()
    assert order.status == Status.REGISTERED and not DispatchFeedback.objects.exists()
    assert order.dispatch_suggestion.outcome == Outcome.PENDING


def test_confirm_without_a_suggestion_is_refused(world, make_order):
    with pytest.raises(Invalid) as exc:
        services.confirm(make_order(), actor=world.dispatcher)
    assert exc.value.code == "no_suggestion"


def _return(order, unit_actor, dispatcher, capture):
    orders.request_return(order, actor=unit_actor, reason_code=ReturnReason.NOT_OUR_DUTY, reason="非本单位职责")
    with capture(execute=True):
        orders.decide_return(order, actor=dispatcher, approve=True, note="同意")


def test_an_approved_return_of_a_followed_suggestion_is_negative_feedback(
        active_model, threshold, register, training_row, world, django_capture_on_commit_callbacks):
    confidence = confidence_of(active_model, training_row)
    threshold(max(0.5, math.floor(confidence * 1000) / 1000))
    order = register(training_row, street=factories.street("曲阳路"))
    assert order.dispatch_suggestion.auto_dispatched
    handler = factories.make_user("lead-handler", "unit_handler", unit=order.lead_unit)
    _return(order, handler, world.dispatcher, django_capture_on_commit_callbacks)
    fb = DispatchFeedback.objects.get()
    assert (fb.kind, fb.auto_dispatched, fb.final_label, fb.suggested_unit) == ("return", True, "", order.lead_unit)
    assert fb.event == order.events.get(action=Action.APPROVE_RETURN)
    order.refresh_from_db()
    assert order.status == Status.REGISTERED and order.dispatch_suggestion.outcome == Outcome.RETURNED
    # Re-dispatching by a correction after the return records the right answer too.
    other = Category.objects.get(level=1, name="环境保护")
    services.correct(order, actor=world.dispatcher, category=other)
    assert list(DispatchFeedback.objects.order_by("id").values_list("kind", flat=True)) == ["return", "correct"]


def test_a_return_after_the_dispatcher_overrode_the_suggestion_says_nothing_about_the_model(
        active_model, threshold, register, training_row, world, django_capture_on_commit_callbacks):
    threshold(1.0)
    order = register(training_row, street=factories.street("曲阳路"))
    category = Category.objects.get(level=1, name="环境保护")
    services.correct(order, actor=world.dispatcher, category=category, lead_unit=world.street_office)
    _return(order, world.handler, world.dispatcher, django_capture_on_commit_callbacks)
    assert list(DispatchFeedback.objects.values_list("kind", flat=True)) == ["correct"]


def test_suggest_is_idempotent_and_force_recomputes(active_model, threshold, register, training_row):
    threshold(1.0)
    order = register(training_row)
    first = order.dispatch_suggestion
    assert services.suggest(order).pk == first.pk
    again = services.suggest(order, force=True, auto_dispatch=False)
    assert again.pk == first.pk and DispatchSuggestion.objects.count() == 1


def test_suggest_open_orders_fills_in_orders_registered_before_the_first_model(
        db, models_dir, register, training_row, trained_dir, threshold):
    threshold(1.0)
    order = register(training_row)
    assert not DispatchSuggestion.objects.exists()
    from django.utils import timezone

    from yiwang.smartdispatch.models import ModelVersion
    services.activate(ModelVersion.objects.create(number=1, directory=str(trained_dir), trained_at=timezone.now()))
    assert services.suggest_open_orders() == 1
    assert DispatchSuggestion.objects.get().order == order
    order.refresh_from_db()
    assert order.status == Status.REGISTERED  # filling in never dispatches
