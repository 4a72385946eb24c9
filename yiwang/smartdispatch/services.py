"""The only writers of intelligent dispatch: suggestions, automatic dispatch, feedback, model versions.

Dispatching itself always goes through :func:`yiwang.workorders.services.dispatch`,
so the transition table, the role check, deadlines and the timeline apply to
automatic dispatch exactly as to a dispatcher's.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from yiwang.accounts import roles
from yiwang.accounts.roles import Role
from yiwang.accounts.services import system_account
from yiwang.core.errors import Forbidden, IllegalTransition, Invalid
from yiwang.org.models import Category, Unit
from yiwang.org.routing import route_for
from yiwang.workorders import services as orders
from yiwang.workorders.models import WorkOrder
from yiwang.workorders.states import Status

from . import gazetteer
from .models import (
    DispatchFeedback, DispatchSettings, DispatchSuggestion, ModelVersion, Outcome, StreetSource,
)

log = logging.getLogger(__name__)

SYSTEM_USERNAME = "smartdispatch"


# --- model versions ------------------------------------------------------------

def models_dir() -> Path:
    return Path(settings.SMARTDISPATCH_MODELS_DIR)


def version_path(version: ModelVersion) -> Path:
    path = Path(version.directory)
    return path if path.is_absolute() else models_dir() / path


_cache_lock = threading.Lock()
_cache: dict[tuple[int, str], object] = {}


def classifier_for(version: ModelVersion):
    """The loaded classifier of a version, kept in memory per process (loading costs far more than predicting)."""
    from .classifier import Classifier

    key = (version.pk, version.directory)
    with _cache_lock:
        clf = _cache.get(key)
        if clf is None:
            clf = Classifier.load(version_path(version))
            _cache.clear()  # keep one model in memory: the active one
            _cache[key] = clf
        return clf


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(active=True).first()


def activate(version: ModelVersion, *, actor=None, now=None) -> ModelVersion:
    """Make ``version`` the one in use (also how an admin rolls back to an older version)."""
    if actor is not None and not (actor.is_superuser or actor.role in roles.CAN_MANAGE_DISPATCH_MODELS):
        raise Forbidden("当前角色无权切换分类模型版本")
    if not (version_path(version) / "").exists():
        raise Invalid(f"模型 v{version.number} 的目录 {version_path(version)} 不存在", field="directory")
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(active=True).exclude(pk=version.pk).update(active=False)
        version.active, version.activated_at = True, now or timezone.now()
        version.save(update_fields=["active", "activated_at"])
    return version


def register_version(clf, *, directory: Path | None = None, training_data: str = "", n_train: int = 0,
                     n_feedback: int = 0, evaluation: dict | None = None, note: str = "", actor=None,
                     now=None) -> ModelVersion:
    """Save ``clf`` under MODELS_DIR/v<N>/ and record it (inactive)."""
    now = now or timezone.now()
    with transaction.atomic():
        last = ModelVersion.objects.select_for_update().order_by("-number").first()
        number = (last.number if last else 0) + 1
        target = directory or models_dir() / f"v{number}"
        clf.save(target)
        relative = target.relative_to(models_dir()) if target.is_relative_to(models_dir()) else target
        return ModelVersion.objects.create(
            number=number, directory=str(relative), trained_at=now, training_data=training_data,
            n_train=n_train, n_feedback=n_feedback, evaluation=evaluation or {},
            meta=_jsonable(getattr(clf, "meta", {}) or {}), note=note[:255], created_by=actor,
        )


def _jsonable(value):
    """Classifier metadata may hold numpy numbers or tuples; JSON columns want plain types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# --- the system actor ----------------------------------------------------------

def system_actor():
    """The account automatic dispatches are recorded under: a dispatcher nobody can sign in as."""
    return system_account(SYSTEM_USERNAME, role=Role.DISPATCHER, display_name="智能派单", is_active=False)


# --- suggestions ---------------------------------------------------------------

def _category_for(prediction) -> Category | None:
    """The deepest taxonomy node along the predicted path (one query)."""
    path = [p for p in (prediction.path or [prediction.label]) if p]
    if not path or path[0] != prediction.label:
        path = [prediction.label, *path]
    prefixes = ["/".join(path[: i + 1]) for i in range(len(path))]
    nodes = Category.objects.filter(path__in=prefixes, active=True).order_by("-level")
    return nodes.first()


def _street_for(order: WorkOrder) -> gazetteer.Resolution:
    if order.street_id:
        return gazetteer.Resolution(order.street, StreetSource.INTAKE, [])
    return gazetteer.resolve(order.address, f"{order.title} {order.content}")


def suggest(order: WorkOrder | int, *, auto_dispatch: bool = True, force: bool = False,
            now=None) -> DispatchSuggestion | None:
    """Compute (once) the suggestion for an order; dispatch it when confident enough.

    Returns None when no model is active. Idempotent: a second call returns the
    stored suggestion unless ``force`` (a dispatcher asking again after a new model).
    """
    order = order if isinstance(order, WorkOrder) else WorkOrder.objects.select_related("street").get(pk=order)
    existing = DispatchSuggestion.objects.filter(order=order).first()
    if existing is not None and not force:
        return existing
    version = active_version()
    if version is None:
        log.info("No active dispatch model; no suggestion for %s", order.number)
        return None
    clf = classifier_for(version)
    started = time.perf_counter()
    prediction = clf.predict(order.title, order.content)
    category = _category_for(prediction)
    place = _street_for(order)
    route = route_for(category, place.street)
    values = dict(
        label=prediction.label, category=category, path=list(prediction.path or [prediction.label]),
        confidence=float(prediction.confidence),
        alternatives=[[label, float(p)] for label, p in prediction.alternatives],
        keywords=list(prediction.keywords), lead_unit=route.lead_unit, street=place.street,
        street_source=place.source, street_clues=place.clues, model_version=version,
        ms=round((time.perf_counter() - started) * 1000, 2), created_at=now or timezone.now(),
    )
    try:
        with transaction.atomic():
            if existing is not None:
                DispatchSuggestion.objects.filter(pk=existing.pk).update(outcome=Outcome.PENDING,
                                                                         auto_dispatched=False, **values)
                suggestion = DispatchSuggestion.objects.get(pk=existing.pk)
            else:
                suggestion = DispatchSuggestion.objects.create(order=order, **values)
            suggestion.co_units.set(route.co_units)
    except IntegrityError:
        return DispatchSuggestion.objects.get(order=order)  # a concurrent run stored it first
    if auto_dispatch:
        _maybe_auto_dispatch(suggestion, order, now=now)
    return suggestion


def _maybe_auto_dispatch(suggestion: DispatchSuggestion, order: WorkOrder, *, now=None) -> bool:
    config = DispatchSettings.current()
    if not config.auto_dispatch or suggestion.lead_unit is None:
        return False
    if suggestion.confidence < float(config.threshold):
        return False
    order.refresh_from_db(fields=["status"])
    if order.status != Status.REGISTERED:
        return False
    version = suggestion.model_version
    reason = f"智能派单自动派发（{suggestion.label}，置信度 {suggestion.confidence:.2f}，模型 v{version.number if version else '?'}）"
    try:
        with transaction.atomic():
            orders.dispatch(order, actor=system_actor(), lead_unit=suggestion.lead_unit,
                            co_units=list(suggestion.co_units.all()), reason=reason,
                            category=suggestion.category, now=now)
            DispatchSuggestion.objects.filter(pk=suggestion.pk).update(outcome=Outcome.AUTO, auto_dispatched=True)
    except (IllegalTransition, Invalid) as exc:
        # A dispatcher was quicker, or the unit was disabled meanwhile: leave it to people.
        log.info("Automatic dispatch of %s skipped: %s", order.number, exc)
        return False
    suggestion.outcome, suggestion.auto_dispatched = Outcome.AUTO, True
    return True


def unsuggested_orders():
    """Registered orders that have no suggestion yet (the intake follower's and the demo's work list)."""
    return WorkOrder.objects.filter(status=Status.REGISTERED, dispatch_suggestion__isnull=True).select_related("street")


def suggest_open_orders(*, auto_dispatch: bool = False, limit: int | None = None) -> int:
    """Suggestions for registered orders that have none yet (after the first model, or for the demo)."""
    pending = unsuggested_orders().order_by("created_at")
    done = 0
    for order in pending[:limit] if limit else pending:
        if suggest(order, auto_dispatch=auto_dispatch) is not None:
            done += 1
    return done


# --- the dispatcher's answer -----------------------------------------------------

def _suggestion_of(order: WorkOrder) -> DispatchSuggestion:
    suggestion = (DispatchSuggestion.objects.select_related("category", "lead_unit", "model_version")
                  .filter(order=order).first())
    if suggestion is None:
        raise Invalid("该工单还没有智能派单建议", code="no_suggestion")
    return suggestion


def _feedback(suggestion: DispatchSuggestion, order: WorkOrder, kind: str, *, by, now, final_category=None,
              final_unit=None, note: str = "", event=None) -> DispatchFeedback:
    final_label = final_category.top_level.name if final_category is not None else ""
    return DispatchFeedback.objects.create(
        order=order, suggestion=suggestion, kind=kind, suggested_label=suggestion.label, final_label=final_label,
        suggested_category=suggestion.category, final_category=final_category,
        suggested_unit=suggestion.lead_unit, final_unit=final_unit, auto_dispatched=suggestion.auto_dispatched,
        model_version=suggestion.model_version, by=by, note=note[:255], event=event, created_at=now,
    )


def confirm(order: WorkOrder, *, actor, now=None) -> WorkOrder:
    """One click: dispatch as suggested and record the confirmation."""
    now = now or timezone.now()
    suggestion = _suggestion_of(order)
    if suggestion.lead_unit is None:
        raise Invalid("该建议没有可用的主办单位，请改派并指定单位", field="lead_unit", code="no_route")
    reason = f"确认智能派单建议（{suggestion.label}，置信度 {suggestion.confidence:.2f}）"
    with transaction.atomic():
        _still_registered(order)
        order = orders.dispatch(order, actor=actor, lead_unit=suggestion.lead_unit,
                                co_units=list(suggestion.co_units.all()), reason=reason,
                                category=suggestion.category, now=now)
        _feedback(suggestion, order, DispatchFeedback.Kind.CONFIRM, by=actor, now=now,
                  final_category=suggestion.category or _top(suggestion.label), final_unit=suggestion.lead_unit)
        DispatchSuggestion.objects.filter(pk=suggestion.pk).update(outcome=Outcome.CONFIRMED)
    return order


def correct(order: WorkOrder, *, actor, category: Category | None, lead_unit: Unit | None = None, co_units=(),
            note: str = "", now=None) -> WorkOrder:
    """The dispatcher names the right category (and unit, or the routing rules choose) and dispatches."""
    now = now or timezone.now()
    if category is None:
        raise Invalid("请选择正确的分类", field="category")
    suggestion = _suggestion_of(order)
    if lead_unit is None:
        route = route_for(category, order.street or suggestion.street)
        if route.lead_unit is None:
            raise Invalid("该分类没有适用的派单规则，请指定主办单位", field="lead_unit", code="no_route")
        lead_unit, co_units = route.lead_unit, list(co_units) or route.co_units
    reason = f"改派：智能建议「{suggestion.label}」→「{category.path}」" + (f"，{note.strip()}" if note.strip() else "")
    with transaction.atomic():
        _still_registered(order)
        order = orders.dispatch(order, actor=actor, lead_unit=lead_unit, co_units=list(co_units), reason=reason,
                                category=category, now=now)
        _feedback(suggestion, order, DispatchFeedback.Kind.CORRECT, by=actor, now=now, final_category=category,
                  final_unit=lead_unit, note=note)
        DispatchSuggestion.objects.filter(pk=suggestion.pk).update(outcome=Outcome.CORRECTED)
    return order


def _still_registered(order: WorkOrder) -> None:
    """Lock the order and refuse unless it still awaits dispatch (a second click must not re-dispatch)."""
    current = WorkOrder.objects.select_for_update().only("status").get(pk=order.pk)
    if current.status != Status.REGISTERED:
        raise IllegalTransition(f"工单当前状态为「{current.get_status_display()}」，不能执行「派单」",
                                code="not_awaiting_dispatch")


def _top(label: str) -> Category | None:
    return Category.objects.filter(level=1, name=label).first()


def record_return(event) -> DispatchFeedback | None:
    """An approved return (退单) of a dispatch that followed the suggestion is negative feedback.

    Called after the approval commits (see :mod:`receivers`). Only a return by
    the unit the suggestion proposed counts: a unit the dispatcher chose instead
    says nothing about the model. Idempotent per event.
    """
    suggestion = (DispatchSuggestion.objects.select_related("category", "lead_unit", "model_version")
                  .filter(order_id=event.order_id).first())
    if suggestion is None or suggestion.outcome not in (Outcome.AUTO, Outcome.CONFIRMED):
        return None
    if event.unit_id is None or event.unit_id != suggestion.lead_unit_id:
        return None
    try:
        with transaction.atomic():
            feedback = _feedback(suggestion, event.order, DispatchFeedback.Kind.RETURN, by=event.actor,
                                 now=event.created_at, note=event.reason, event=event)
            DispatchSuggestion.objects.filter(pk=suggestion.pk).update(outcome=Outcome.RETURNED)
    except IntegrityError:
        return None  # already recorded for this event
    return feedback


# --- settings ------------------------------------------------------------------

def update_settings(*, actor, auto_dispatch: bool, threshold) -> DispatchSettings:
    if not (actor.is_superuser or actor.role in roles.CAN_MANAGE_DISPATCH_MODELS):
        raise Forbidden("当前角色无权修改智能派单设置")
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(str(threshold))
    except InvalidOperation:
        raise Invalid("阈值必须是 0.5 到 1 之间的数字", field="threshold") from None
    if not Decimal("0.5") <= value <= Decimal("1"):
        raise Invalid("阈值必须是 0.5 到 1 之间的数字", field="threshold")
    config = DispatchSettings.current()
    config.auto_dispatch, config.threshold = bool(auto_dispatch), value
    config.save()
    return config
