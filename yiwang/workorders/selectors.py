"""Reads of work orders, scoped to what the asking user may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, When, prefetch_related_objects

from yiwang.accounts import roles
from yiwang.accounts.roles import DISTRICT_WIDE, SELF_SERVICE, UNIT_BOUND
from yiwang.core.calendar import SHANGHAI
from yiwang.core.masking import mask_address, mask_name, mask_phone
from yiwang.org.models import RoutingRule, Unit
from yiwang.org.routing import Route

from .models import (
    AppealType, Assignment, Decision, Event, ExtensionRequest, FollowUp, Notification, ReturnRequest, Satisfaction,
    WorkOrder,
)
from .states import UNIT_STAGE, Action, Status, actions_from


def visible_orders(user) -> QuerySet[WorkOrder]:
    """District-wide roles see all; unit staff and deputies see their unit's; citizens, enterprises and systems their own."""
    qs = WorkOrder.objects.all()
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser or user.role in DISTRICT_WIDE:
        return qs
    if user.role in UNIT_BOUND:
        if user.unit_id is None:
            return qs.none()
        # An IN over the unit's assignments, not a correlated EXISTS: SQLite answers
        # EXISTS by walking the (unit, active) index once per order (0.7 s at 7,000 orders).
        return qs.filter(pk__in=Assignment.objects.filter(unit_id=user.unit_id).values("order_id"))
    if user.role in SELF_SERVICE:
        return qs.filter(registered_by=user) | qs.filter(appellant_user=user)
    return qs.none()


def order_list(user, *, with_assignments: bool = True) -> QuerySet[WorkOrder]:
    """The list query: every related row the list shows, in a fixed number of queries."""
    qs = visible_orders(user).select_related("category", "street", "committee", "lead_unit")
    if with_assignments:
        qs = qs.prefetch_related(
            Prefetch("assignments", queryset=Assignment.objects.filter(active=True).select_related("unit"),
                     to_attr="active_assignments")
        )
    return qs


def order_detail(user, pk: int) -> WorkOrder:
    return (
        order_list(user)
        .select_related("master", "registered_by", "appellant_user")
        .prefetch_related(Prefetch("events", queryset=Event.objects.select_related("actor", "unit")))
        .get(pk=pk)
    )


def can_see_personal_data(user, order: WorkOrder) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if order.appellant_user_id == user.pk or (order.registered_by_id == user.pk and user.role in SELF_SERVICE):
        return True
    return user.sees_personal_data


def personal_data(user, order: WorkOrder) -> dict:
    """The appellant's data as this user may see it: clear or masked."""
    if can_see_personal_data(user, order):
        return {"appellant_name": order.appellant_name, "appellant_phone": order.appellant_phone,
                "address": order.address, "masked": False}
    return {"appellant_name": mask_name(order.appellant_name), "appellant_phone": mask_phone(order.appellant_phone),
            "address": mask_address(order.address), "masked": True}


def caller_history(user, phone: str, *, limit: int = 20) -> QuerySet[WorkOrder]:
    """Earlier orders from the same phone number (for operators at intake)."""
    if not phone:
        return WorkOrder.objects.none()
    return visible_orders(user).filter(appellant_phone=phone).order_by("-created_at")[:limit]


# --- what the user may do next (buttons in the HTML pages, ``allowed_actions`` in the API) ---

# Actions open to a role anywhere in the district. The engine's own actions
# (intake, the SLA sweep) are absent, so they are never offered to a person.
_ROLE_ACTIONS = {
    Action.ANSWER_DIRECTLY: roles.CAN_ANSWER_DIRECTLY,
    Action.DISPATCH: roles.CAN_DISPATCH,
    Action.APPROVE_RETURN: roles.CAN_ARBITRATE,
    Action.REJECT_RETURN: roles.CAN_ARBITRATE,
    Action.APPROVE_EXTENSION: roles.CAN_ARBITRATE,
    Action.REFUSE_EXTENSION: roles.CAN_ARBITRATE,
    Action.APPROVE_REPLY: roles.CAN_REVIEW,
    Action.REJECT_REPLY: roles.CAN_REVIEW,
    Action.FOLLOW_UP: roles.CAN_FOLLOW_UP,
    Action.REOPEN: roles.CAN_REOPEN_OR_ARCHIVE,
    Action.ARCHIVE: roles.CAN_REOPEN_OR_ARCHIVE,
    Action.ESCALATE: roles.CAN_ESCALATE,
    Action.MERGE: roles.CAN_MERGE,
    Action.LINK: roles.CAN_MERGE,
    Action.UNLINK: roles.CAN_MERGE,
}
# Actions only the staff of the order's lead unit may take.
_LEAD_UNIT_ACTIONS = {Action.SIGN, Action.REQUEST_RETURN, Action.REQUEST_EXTENSION, Action.REPLY}
_EXTENSION_ACTIONS = {Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION}
_ACTION_ORDER = {a: i for i, a in enumerate(Action)}


def available_actions(user, order: WorkOrder) -> list[str]:
    """The actions ``user`` may take on ``order`` now, in lifecycle order.

    Mirrors the checks in :mod:`services` (role, lead unit, assignment, pending
    requests) so a button is offered only when pressing it can succeed, input
    permitting. Uses the ``active_assignments`` prefetched by :func:`order_list`
    when present; otherwise at most two small queries.
    """
    if user is None or not user.is_authenticated:
        return []
    mine = _my_assignment(user, order)
    candidates = [action for action in actions_from(order.status) if _may(user, order, action, mine)]
    pending = not _EXTENSION_ACTIONS.isdisjoint(candidates) and _pending_extension(order)
    result = [action for action in candidates if _precondition_holds(action, order, pending_extension=pending)]
    if Action.SIGN not in result and _may_sign_as_co_unit(user, order, mine):
        result.append(Action.SIGN)
    return sorted(result, key=_ACTION_ORDER.__getitem__)


def _may(user, order: WorkOrder, action: str, mine: Assignment | None) -> bool:
    if action in _LEAD_UNIT_ACTIONS:
        return _is_lead_actor(user, order)
    if action == Action.RECORD_PROGRESS:
        return mine is not None and _has_role(user, roles.UNIT_ACTORS)
    return action in _ROLE_ACTIONS and _has_role(user, _ROLE_ACTIONS[action])


def _has_role(user, allowed_roles) -> bool:
    return user.is_superuser or user.role in allowed_roles


def _is_lead_actor(user, order: WorkOrder) -> bool:
    return _has_role(user, roles.UNIT_ACTORS) and order.lead_unit_id is not None and user.unit_id == order.lead_unit_id


def _my_assignment(user, order: WorkOrder) -> Assignment | None:
    if not user.unit_id:
        return None
    active = getattr(order, "active_assignments", None)
    if active is None:
        return Assignment.objects.filter(order=order, unit_id=user.unit_id, active=True).first()
    return next((a for a in active if a.unit_id == user.unit_id), None)


def _may_sign_as_co_unit(user, order: WorkOrder, mine: Assignment | None) -> bool:
    return (
        mine is not None and mine.role == Assignment.Role.CO and mine.signed_at is None
        and _has_role(user, roles.UNIT_ACTORS) and order.status in (Status.DISPATCHED, Status.HANDLING)
    )


def _precondition_holds(action: str, order: WorkOrder, *, pending_extension: bool) -> bool:
    """The checks the services make beyond role and edge."""
    if action == Action.ANSWER_DIRECTLY:
        return order.appeal_type == AppealType.CONSULTATION
    if action == Action.REOPEN:
        return order.satisfaction == Satisfaction.DISSATISFIED
    if action in (Action.APPROVE_EXTENSION, Action.REFUSE_EXTENSION):
        return pending_extension
    if action == Action.REQUEST_EXTENSION:
        return not pending_extension
    if action == Action.LINK:
        return order.master_id is None  # a linked call is unlinked first, then linked elsewhere
    if action == Action.UNLINK:
        return order.master_id is not None
    return True


def _pending_extension(order: WorkOrder) -> bool:
    return ExtensionRequest.objects.filter(order=order, decision=Decision.PENDING).exists()


# --- the home page: counts, to-do lists and the inbox ----------------------------

_SLA_FIRST = Case(When(sla_state="red", then=0), When(sla_state="yellow", then=1), default=2)

# District-wide roles' to-do lists: (heading, filter) per role.
_ROLE_TODO = {
    roles.Role.DISPATCHER: [("待派单", Q(status=Status.REGISTERED)), ("退单待审", Q(status=Status.RETURN_REQUESTED)),
                            ("待审核答复", Q(status=Status.REPLIED))],
    roles.Role.OPERATOR: [("待回访", Q(status=Status.FOLLOW_UP, satisfaction="")),
                          ("待派单", Q(status=Status.REGISTERED))],
    roles.Role.SUPERVISOR: [("待审核答复", Q(status=Status.REPLIED)), ("红灯超期", Q(sla_state="red", status__in=UNIT_STAGE)),
                            ("回访不满意待决定", Q(status=Status.FOLLOW_UP, satisfaction=Satisfaction.DISSATISFIED))],
}


def status_counts(user) -> dict[str, int]:
    """Orders visible to ``user`` by status (one query)."""
    rows = visible_orders(user).order_by().values_list("status").annotate(n=Count("id"))
    return dict(rows)


def todo(user, *, limit: int = 20) -> list[tuple[str, list[WorkOrder]]]:
    """The user's work queues, most urgent first: a unit's orders awaiting sign-for and in handling
    (red, then yellow), or the queues of a district role."""
    base = visible_orders(user).select_related("lead_unit", "street")
    if user.role in UNIT_BOUND and user.unit_id:
        mine = Assignment.objects.filter(order=OuterRef("pk"), unit_id=user.unit_id, active=True)
        unsigned = mine.filter(signed_at__isnull=True)
        to_sign = base.filter(Exists(unsigned), status__in=[Status.DISPATCHED, Status.HANDLING])
        handling = base.filter(Exists(mine), status__in=[Status.HANDLING, Status.RETURN_REQUESTED]).exclude(
            Exists(unsigned))
        return [
            ("待签收", list(to_sign.order_by("sign_deadline", "id")[:limit])),
            ("办理中", list(handling.order_by(_SLA_FIRST, "handle_deadline", "id")[:limit])),
        ]
    queues = _ROLE_TODO.get(user.role, [])
    return [(heading, list(base.filter(where).order_by(_SLA_FIRST, "created_at", "id")[:limit]))
            for heading, where in queues]


def inbox(user, *, limit: int = 20) -> QuerySet[Notification]:
    """Notifications for the user's unit or role, newest first."""
    audience = Q(role=user.role) if user.role else Q(pk__in=[])
    if user.unit_id:
        audience |= Q(unit_id=user.unit_id)
    return Notification.objects.filter(audience).select_related("order").order_by("-created_at", "-id")[:limit]


def order_page(user, pk: int) -> WorkOrder:
    """:func:`order_detail` plus every record the detail page lists, in a fixed number of queries."""
    order = order_detail(user, pk)
    prefetch_related_objects(
        [order],
        Prefetch("assignments", to_attr="all_assignments",
                 queryset=Assignment.objects.select_related("unit", "signed_by").order_by("-dispatched_at", "id")),
        Prefetch("return_requests", queryset=ReturnRequest.objects.select_related(
            "unit", "suggested_unit", "requested_by", "decided_by").order_by("requested_at")),
        Prefetch("extension_requests", queryset=ExtensionRequest.objects.select_related(
            "unit", "requested_by", "decided_by").order_by("requested_at")),
        Prefetch("follow_ups", queryset=FollowUp.objects.select_related("by")),
        Prefetch("duplicates", queryset=WorkOrder.objects.only("id", "number", "title", "status", "created_at",
                                                               "master_id").order_by("created_at", "id")),
    )
    return order


# --- the dispatcher's queue and the unit's inbox -----------------------------------

def dispatch_queue(user) -> QuerySet[WorkOrder]:
    """Orders awaiting dispatch, urgent and oldest first, with what the queue shows and routes on."""
    return (
        visible_orders(user).filter(status=Status.REGISTERED)
        # The queue row shows intelligent dispatch's suggestion (smartdispatch) beside the rules' route.
        .select_related("category__parent__parent", "street", "committee",
                        "dispatch_suggestion__lead_unit", "dispatch_suggestion__street")
        .order_by(_URGENT_FIRST, "created_at", "id")
    )


_URGENT_FIRST = Case(When(urgency="urgent", then=0), default=1)


def suggested_routes(orders) -> dict:
    """``org.routing.route_for`` for every order of a page, in four queries whatever the page size.

    route_for answers one appeal with up to five queries; the queue shows fifty at once.
    This loads the rules of all the page's categories and the street offices once and
    then ranks exactly as route_for does (tests compare the two on every page they build).
    """
    lineages = {o.pk: o.category.lineage() if o.category_id else [] for o in orders}
    category_ids = {c.pk for chain in lineages.values() for c in chain}
    rules_by_category: dict = {}
    rules = (RoutingRule.objects.filter(category_id__in=category_ids, active=True)
             .select_related("lead_unit").prefetch_related("co_units"))
    for rule in rules:
        rules_by_category.setdefault(rule.category_id, []).append(rule)
    offices: dict = {}
    street_ids = {o.street_id for o in orders if o.street_id}
    for unit in Unit.objects.filter(kind=Unit.Kind.STREET, street_id__in=street_ids, active=True):
        offices.setdefault(unit.street_id, unit)  # the first in Unit's ordering, as route_for's .first()

    routes = {}
    for order in orders:
        routes[order.pk] = Route(lead_unit=None)
        lineage = lineages[order.pk]
        depth = {c.pk: i for i, c in enumerate(lineage)}
        candidates = [r for c in lineage for r in rules_by_category.get(c.pk, [])
                      if r.street_id is None or r.street_id == order.street_id]
        for rule in sorted(candidates, key=lambda r: (depth[r.category_id], r.street_id is None)):
            office = offices.get(order.street_id) if (rule.lead_is_street_office or rule.co_street_office) else None
            lead = office if rule.lead_is_street_office else rule.lead_unit
            if lead is None:
                continue
            co = [u for u in rule.co_units.all() if u.active and u != lead]
            if rule.co_street_office and office and office != lead and office not in co:
                co.append(office)
            routes[order.pk] = Route(lead_unit=lead, co_units=co, rule=rule)
            break
    return routes


def unit_inbox(user, *, now) -> QuerySet[WorkOrder]:
    """The orders the user's unit must act on: overdue first, then due today, then by deadline.

    Each row carries ``due_rank`` (0 overdue, 1 due today, 2 later or no deadline) and
    ``to_sign`` (the unit has not signed for it yet).
    """
    if not user.unit_id:
        return WorkOrder.objects.none()
    local = now.astimezone(SHANGHAI)
    tomorrow = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    mine = Assignment.objects.filter(order=OuterRef("pk"), unit_id=user.unit_id, active=True)
    return (
        visible_orders(user)
        .filter(Exists(mine), status__in=UNIT_STAGE)
        .select_related("category", "street", "committee", "lead_unit")
        .annotate(
            to_sign=Exists(mine.filter(signed_at__isnull=True)),
            due_rank=Case(When(handle_deadline__lt=now, then=0), When(handle_deadline__lt=tomorrow, then=1),
                          default=2),
        )
        .order_by("due_rank", F("handle_deadline").asc(nulls_last=True), "id")
    )
