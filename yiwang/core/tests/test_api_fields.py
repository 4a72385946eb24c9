"""The serializer plumbing of core.api gives DRF's and Django's answers, at less cost."""

from yiwang.core.api import ChoiceLabelField
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
