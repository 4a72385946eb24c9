"""The serializer plumbing of core.api gives DRF's and Django's answers, at less cost."""

import datetime as dt
import threading
from types import SimpleNamespace

from rest_framework import serializers

from yiwang.core.api import ChoiceLabelField, FieldsBuiltOnce, Representer
from yiwang.workorders.models import Event, WorkOrder
from yiwang.workorders.serializers import WorkOrderDetailSerializer
from yiwang.workorders.states import Action, Status


def test_choice_label_is_djangos_display_for_every_choice_and_an_unknown_value():
    for value in [*Status.values, "no-such-status"]:
        order = WorkOrder(status=value)
        assert ChoiceLabelField("status").to_representation(order) == order.get_status_display()
    for value in Action.values:
        event = Event(action=value)
        assert ChoiceLabelField("action").to_representation(event) == event.get_action_display()
    assert ChoiceLabelField("from_status").to_representation(Event(from_status="")) == ""


def test_each_serializer_gets_its_own_fields_and_the_template_stays_unused():
    first, second = WorkOrderDetailSerializer(), WorkOrderDetailSerializer()
    for name in ("title", "status_label", "category", "personal_data", "assignments"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    # A list serializer's child is bound to its own list, and builds its own fields.
    for serializer in (first, second):
        assignments = serializer.fields["assignments"]
        assert assignments.child.parent is assignments
        assert assignments.child.root is serializer
    assert first.fields["assignments"].child.fields["unit"] is not second.fields["assignments"].child.fields["unit"]
    template = WorkOrderDetailSerializer._fields_template
    assert "fields" not in vars(template["assignments"].child)
    assert "fields" not in vars(template["category"])
    assert template["title"].parent is None and template["assignments"].parent is None


# --- Representer: one bound serializer per thread, the request's context per call ---

class _Echo(FieldsBuiltOnce, serializers.Serializer):
    name = serializers.CharField()
    who = serializers.SerializerMethodField()

    def get_who(self, obj) -> str:
        return self.context["who"]


def test_the_representer_gives_each_call_its_own_context_and_keeps_none():
    represent = Representer(_Echo)
    assert represent(SimpleNamespace(name="甲"), {"who": "a"}) == {"name": "甲", "who": "a"}
    bound = represent._local.serializer
    assert represent(SimpleNamespace(name="乙"), {"who": "b"}) == {"name": "乙", "who": "b"}
    assert represent._local.serializer is bound  # bound once, not per call
    assert bound._context == {}  # the last request is not kept alive

    other = {}

    def in_another_thread():
        other["answer"] = represent(SimpleNamespace(name="丙"), {"who": "c"})
        other["serializer"] = represent._local.serializer

    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert other["answer"] == {"name": "丙", "who": "c"}
    assert other["serializer"] is not bound  # fields are bound to their serializer: one per thread


def test_the_representer_answers_as_a_new_detail_serializer_for_every_user(world, make_order, rf):
    from yiwang.workorders import selectors, services

    dispatched = make_order(title="井盖缺失", appellant_name="王五", appellant_phone="13800001234")
    services.dispatch(dispatched, actor=world.dispatcher, lead_unit=world.street_office, reason="")
    fresh = make_order(title="噪音扰民")
    orders = list(selectors.order_list(world.admin).filter(pk__in=[dispatched.pk, fresh.pk]).order_by("pk"))
    represent = Representer(WorkOrderDetailSerializer)
    answers = []
    # Users whose answers differ (masking, allowed actions) in turns, so a context kept
    # from the call before would show.
    for user in (world.dispatcher, world.handler, world.supervisor, world.deputy, world.dispatcher):
        request = rf.get("/")
        request.user = user
        for order in orders:
            expected = WorkOrderDetailSerializer(order, context={"request": request}).data
            assert represent(order, {"request": request}) == expected
            actions = tuple(a["action"] for a in expected["allowed_actions"])
            answers.append((expected["personal_data"]["masked"], actions))
    assert {masked for masked, _ in answers} == {True, False}
    assert len({actions for _, actions in answers}) > 2


def test_a_lone_surrogate_is_refused_with_drfs_own_message_and_clean_text_passes():
    from rest_framework.validators import ProhibitSurrogateCharactersValidator

    from yiwang.core.api import SurrogateFreeValidator
    from yiwang.workorders.serializers import IntakeSerializer

    def refusal(validator, value):
        try:
            validator(value)
        except Exception as error:  # DRF's ValidationError, or Django's from DRF's validator
            return [str(message) for message in getattr(error, "messages", None) or error.detail]
        return None

    for value in ("楼上漏水", "", "a\ud800b", "\udfff", "emoji 😀 is not a surrogate", "x\udbff\udc00"):
        assert refusal(SurrogateFreeValidator(), value) == refusal(ProhibitSurrogateCharactersValidator(), value)
    serializer = IntakeSerializer(data={"title": "路灯不亮", "content": "四川北路\ud83d路灯"})
    assert not serializer.is_valid()
    assert serializer.errors["content"] == refusal(ProhibitSurrogateCharactersValidator(), "\ud83d")
    assert serializer.errors["content"][0].code == "surrogate_characters_not_allowed"
    assert not any(type(v) is ProhibitSurrogateCharactersValidator for v in serializer.fields["content"].validators)


class _Varied(FieldsBuiltOnce, serializers.Serializer):
    name = serializers.CharField()
    nick = serializers.CharField(default="无")  # absent: the default
    age = serializers.IntegerField(required=False)  # absent: left out
    note = serializers.CharField(allow_null=True, required=False)  # absent: None or left out, as DRF decides
    shout = serializers.CharField(source="upper")  # a method: called
    city = serializers.CharField(source="home.city")  # a path of two
    label = ChoiceLabelField("status")  # source "*"
    counts = serializers.ListField(child=serializers.IntegerField())


def test_reading_plain_attributes_directly_answers_as_drf(world, make_order, rf):
    from yiwang.workorders import selectors, services

    order = make_order(title="井盖缺失", appellant_name="王五", appellant_phone="13800001234")
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office, reason="")
    request = rf.get("/")
    request.user = world.dispatcher
    detail = WorkOrderDetailSerializer(context={"request": request})
    instance = selectors.order_list(world.admin).get(pk=order.pk)
    assert detail.to_representation(instance) == serializers.Serializer.to_representation(detail, instance)
    assert detail.to_representation(instance)["title"] == "井盖缺失"

    varied = _Varied()
    row = WorkOrder(status="dispatched")
    row.name, row.upper, row.home, row.counts = "甲", lambda: "JIA", SimpleNamespace(city="上海"), [1, 2]
    as_dict = {"name": "乙", "nick": "小乙", "age": 3, "upper": "YI", "home": {"city": "北京"}, "counts": []}
    for instance in (row, as_dict):
        try:
            theirs = serializers.Serializer.to_representation(varied, instance)
        except Exception as error:  # a dict has no _meta for the label: both must fail alike
            theirs = type(error)
        try:
            ours = varied.to_representation(instance)
        except Exception as error:
            ours = type(error)
        assert ours == theirs
    assert varied.to_representation(row) == {"name": "甲", "nick": "无", "note": None, "shout": "JIA",
                                             "city": "上海", "label": "待签收", "counts": [1, 2]}


def test_a_kept_input_serializer_validates_each_call_as_a_new_one(world):
    import pytest
    from rest_framework.exceptions import ValidationError

    from yiwang.core.api import KeptInput
    from yiwang.workorders.serializers import IntakeSerializer

    from yiwang.org.models import Street

    street = Street.objects.order_by("code").values_list("code", flat=True).first()
    inputs = [
        {"title": "路灯不亮", "content": "四川北路路灯不亮三天"},
        {"title": "", "content": "x" * 20001, "urgency": "whenever"},  # three errors
        {"title": "井盖缺失", "content": "井盖缺失", "appeal_type": "complaint", "street": street},
        {"content": "没有标题"},
        {"title": "噪音", "content": "夜间施工", "latitude": "31.2851", "appellant_phone": "13800001111"},
    ]
    intake_input = KeptInput(IntakeSerializer)
    kept = set()
    for data in inputs + inputs:
        fresh = IntakeSerializer(data=data)
        fresh_valid = fresh.is_valid()
        try:
            with intake_input(data) as serializer:
                kept.add(id(serializer))
                serializer.is_valid(raise_exception=True)
                assert fresh_valid and serializer.validated_data == fresh.validated_data
                assert serializer.to_intake() == fresh.to_intake()
        except ValidationError as error:
            assert not fresh_valid and error.detail == fresh.errors
            assert serializer.initial_data is data  # an error's answer may still read it
        else:
            assert not {"initial_data", "_validated_data", "_errors"} & vars(serializer).keys()  # nothing kept
    assert len(kept) == 1
    other = {}

    def in_another_thread():
        with intake_input(inputs[0]) as serializer:
            other["id"] = id(serializer)
            other["valid"] = serializer.is_valid()

    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert other["valid"] and other["id"] not in kept  # fields are bound to their serializer: one per thread
    with pytest.raises(ValidationError):  # and a kept serializer never answers from an earlier call
        with intake_input({}) as serializer:
            serializer.is_valid(raise_exception=True)


class _Times(FieldsBuiltOnce, serializers.Serializer):
    at = serializers.DateTimeField()


class _DrfTimes(serializers.Serializer):
    at = serializers.DateTimeField()


def test_datetimes_are_written_and_read_in_the_default_zone_without_asking_for_the_current_one(monkeypatch):
    from django.utils import timezone

    values = [dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.timezone.utc),
              dt.datetime(2026, 1, 1, 23, 59, tzinfo=dt.timezone.utc)]
    inputs = ["2026-11-23 09:30", "2026-11-23T09:30:00Z", "2026-11-23T09:30:00+09:00"]
    djangos = ([_DrfTimes(SimpleNamespace(at=v)).data for v in values],
               [(lambda s: (s.is_valid(), s.validated_data))(_DrfTimes(data={"at": text})) for text in inputs])

    def current_zone_asked():
        raise AssertionError("the field asked for the current time zone")

    monkeypatch.setattr(timezone, "get_current_timezone", current_zone_asked)
    ours = ([_Times(SimpleNamespace(at=v)).data for v in values],
            [(lambda s: (s.is_valid(), s.validated_data))(_Times(data={"at": text})) for text in inputs])
    assert ours == djangos
    assert ours[0][0] == {"at": "2026-11-23T09:02:03+08:00"}
