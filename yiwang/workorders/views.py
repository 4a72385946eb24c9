"""The HTML pages of the work-order lifecycle.

Thin by design: each view parses a form and calls a service or a selector.
Services refuse with a :class:`DomainError`; the page is then rendered again
with the message next to the field it concerns and nothing written.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from yiwang.accounts import roles
from yiwang.core.audit import audit_personal_data_view
from yiwang.core.errors import DomainError, Invalid
from yiwang.org.models import Unit

from . import forms, repeats, selectors, services
from .models import Channel, WorkOrder
from .pagination import list_paginator
from .states import Status

PAGE_SIZE = 50


# --- home ------------------------------------------------------------------

@login_required
def home(request):
    user = request.user
    counts = selectors.status_counts(user)
    return render(request, "workorders/home.html", {
        "counts": [(value, label, counts.get(value, 0)) for value, label in Status.choices],
        "total": sum(counts.values()),
        "queues": selectors.todo(user),
        "inbox": selectors.inbox(user),
        "can_register": _can_register(user),
    })


def _can_register(user) -> bool:
    return user.is_superuser or user.role in roles.CAN_REGISTER


# --- list ------------------------------------------------------------------

@login_required
def order_list(request):
    user = request.user
    filters = forms.order_filters(request.GET, selectors.order_list(user), user=user)
    page = list_paginator(filters.qs, request.GET, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(order, selectors.personal_data(user, order)) for order in page.object_list]
    _audit_unmasked(request, [order for order, pd in rows if not pd["masked"] and _has_personal_data(order)],
                    "工单列表")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "workorders/order_list.html", {
        "filters": [filters.form[name] for name in forms.LIST_FILTERS],
        "page": page, "rows": rows, "query": query.urlencode(),
    })


def _has_personal_data(order: WorkOrder) -> bool:
    return bool(order.appellant_name or order.appellant_phone or order.address)


def _audit_unmasked(request, orders, summary: str) -> None:
    audit_personal_data_view(actor=request.user, objects=orders, request=request, summary=summary)


# --- the dispatcher's queue (派单队列) ------------------------------------------

@login_required
def dispatch_queue(request):
    """Orders awaiting dispatch with the unit the routing rules propose; checked rows are dispatched at once."""
    user = request.user
    if not (user.is_superuser or user.role in roles.CAN_DISPATCH):
        raise PermissionDenied("当前角色无权派单")
    if request.method == "POST":
        done = _dispatch_checked(request)
        if done:
            return redirect(_back_to(request, "workorders:queue"))
        status = 400  # nothing dispatched: the page again, with the reasons
    else:
        status = 200
    queue = selectors.dispatch_queue(user)
    filters, page, query = _filtered_page(request, queue)
    orders = list(page.object_list)
    routes = selectors.suggested_routes(orders)
    return render(request, "workorders/queue.html", {
        "filters": _filter_fields(filters), "page": page, "query": query,
        "rows": [(order, routes[order.pk]) for order in orders],
        "units": list(Unit.objects.filter(active=True)),
    }, status=status)


def _dispatch_checked(request) -> int:
    """Dispatch every checked order, each in its own transaction (in ``services.dispatch``).

    A row that fails is left untouched and its reason is shown; the others go through.
    A row follows the suggestion (lead and co-units) unless the dispatcher picked another
    lead unit in its selector; then that unit alone is the lead.
    """
    user = request.user
    ids = _checked_ids(request)
    if not ids:
        return 0
    orders = {o.pk: o for o in selectors.dispatch_queue(user).filter(pk__in=ids)}
    routes = selectors.suggested_routes(list(orders.values()))
    picked = {pk: request.POST.get(f"unit-{pk}", "").strip() for pk in ids}
    units = {str(u.pk): u for u in Unit.objects.filter(active=True, pk__in=[v for v in picked.values() if v.isdigit()])}
    done = []
    for pk in ids:
        order = orders.get(pk)
        if order is None:
            messages.error(request, f"工单（ID {pk}）已不在待派单队列，未派单")
            continue
        route, choice = routes[pk], picked[pk]
        if choice and choice not in units:
            messages.error(request, f"{order.number}：所选主办单位不存在或已停用，未派单")
            continue
        lead = units[choice] if choice else route.lead_unit
        co_units = route.co_units if lead == route.lead_unit else []
        try:
            services.dispatch(order, actor=user, lead_unit=lead, co_units=co_units, reason="派单队列批量派单")
        except DomainError as err:
            messages.error(request, f"{order.number}：{err.message}")
        else:
            done.append(f"{order.number} → {lead.name}" if lead else order.number)
    if done:
        messages.success(request, f"已派单 {len(done)} 件：" + "；".join(done))
    return len(done)


def _checked_ids(request) -> list[int]:
    raw = request.POST.getlist("orders")
    ids = [int(v) for v in raw if v.isdigit()]
    if not raw:
        messages.error(request, "请至少勾选一件工单")
    elif len(ids) != len(raw):
        messages.error(request, "勾选的工单编号无效")
        return []
    return list(dict.fromkeys(ids))


def _back_to(request, name: str) -> str:
    """The page the bulk form came from, with its filters (kept in a hidden ``query`` field)."""
    query = request.POST.get("query", "")
    return reverse(name) + (f"?{query}" if query else "")


def _filtered_page(request, queryset):
    filters = forms.order_filters(request.GET, queryset, user=request.user)
    page = list_paginator(filters.qs, request.GET, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return filters, page, query.urlencode()


def _filter_fields(filters) -> list:
    return [filters.form[name] for name in forms.LIST_FILTERS]


# --- the unit's inbox (承办单位待办) -----------------------------------------------

@login_required
def unit_inbox(request):
    """The unit's open orders, overdue first, then due today, then by deadline; bulk sign-for."""
    user = request.user
    if not (user.role in roles.UNIT_BOUND and user.unit_id):
        raise PermissionDenied("仅承办单位人员可查看本单位待办")
    now = timezone.now()
    if request.method == "POST":
        if _sign_checked(request, now):
            return redirect(_back_to(request, "workorders:inbox"))
        status = 400
    else:
        status = 200
    filters, page, query = _filtered_page(request, selectors.unit_inbox(user, now=now))
    return render(request, "workorders/inbox.html", {
        "filters": _filter_fields(filters), "page": page, "query": query, "orders": page.object_list,
        "can_sign": user.role in roles.UNIT_ACTORS,
    }, status=status)


def _sign_checked(request, now) -> int:
    """Sign for every checked order, each in its own transaction (in ``services.sign``)."""
    user = request.user
    ids = _checked_ids(request)
    if not ids:
        return 0
    orders = {o.pk: o for o in selectors.unit_inbox(user, now=now).filter(pk__in=ids)}
    done = []
    for pk in ids:
        order = orders.get(pk)
        if order is None:
            messages.error(request, f"工单（ID {pk}）不在本单位待办中，未签收")
            continue
        try:
            services.sign(order, actor=user)
        except DomainError as err:
            messages.error(request, f"{order.number}：{err.message}")
        else:
            done.append(order.number)
    if done:
        messages.success(request, f"已签收 {len(done)} 件：" + "、".join(done))
    return len(done)


# --- registration ------------------------------------------------------------

@login_required
@require_GET
def caller_history(request):
    """The caller's earlier orders as JSON, fetched by the intake form while the phone is typed."""
    user = request.user
    if not _can_register(user) or user.role in (roles.Role.CITIZEN, roles.Role.ENTERPRISE):
        raise PermissionDenied("当前角色无权查看来电历史")
    phone = request.GET.get("phone", "").strip()
    if len(phone) > 32:
        return JsonResponse({"error": "来电号码过长（最多 32 位）"}, status=400)
    orders = list(selectors.caller_history(user, phone)) if len(phone) >= 5 else []
    return JsonResponse({"phone": phone, "orders": [{
        "number": o.number, "title": o.title, "status": o.status, "status_label": o.get_status_display(),
        "created_at": timezone.localtime(o.created_at).strftime("%Y-%m-%d"),
        "url": reverse("workorders:detail", args=[o.pk]),
    } for o in orders]})


@login_required
@require_GET
def similar_orders(request):
    """Probable earlier orders of the same case (疑似重复) as JSON, fetched while the title is typed."""
    from yiwang.insight.lookup import similar_open_orders

    user = request.user
    if not _can_register(user) or user.role in (roles.Role.CITIZEN, roles.Role.ENTERPRISE):
        raise PermissionDenied("当前角色无权查看疑似重复工单")
    q = {k: request.GET.get(k, "").strip() for k in ("title", "content", "phone", "street")}
    errors = {}
    if len(q["phone"]) > 32:
        errors["phone"] = "来电号码过长（最多 32 位）"
    if len(q["title"]) > 200:
        errors["title"] = "标题过长（最多 200 字）"
    if q["street"] and not q["street"].isdigit():
        errors["street"] = "街道参数无效"
    if errors:
        return JsonResponse({"error": "；".join(errors.values()), "errors": errors}, status=400)
    # Two characters of a title are too little to call anything similar; a phone needs five digits.
    title = q["title"] if len(q["title"]) >= 3 else ""
    phone = q["phone"] if len(q["phone"]) >= 5 else ""
    found = similar_open_orders(user, title, q["content"][:200], phone,
                                int(q["street"]) if q["street"] else None) if title or phone else []
    return JsonResponse({"title": q["title"], "phone": q["phone"], "orders": [{
        "number": c.number, "title": c.title, "status": c.status, "status_label": c.status_label,
        "street": c.street, "created_at": timezone.localtime(c.created_at).strftime("%Y-%m-%d"),
        "score": c.score, "reason": c.reason, "url": reverse("workorders:detail", args=[c.pk]),
        "repeat_count": c.repeat_count, "master_number": c.master_number,
    } for c in found]})


@login_required
def order_new(request):
    user = request.user
    if not _can_register(user):
        raise PermissionDenied("当前角色无权登记工单")
    self_service = user.role in (roles.Role.CITIZEN, roles.Role.ENTERPRISE)
    form_class = forms.SelfServiceForm if self_service else forms.RepeatCallForm
    phone = request.GET.get("phone", "").strip()
    status = 200
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            try:
                order, created = _register(user, form.cleaned_data, self_service)
            except DomainError as err:
                forms.add_domain_error(form, err)
            else:
                if not created:
                    messages.info(request, f"该诉求已登记过（重复提交），工单 {order.number}")
                elif order.master_id:
                    how = "合并到" if order.status == Status.MERGED else "关联到"
                    messages.success(request, f"已登记工单 {order.number}，并作为重复来电{how}主工单 "
                                              f"{order.master.number}")
                else:
                    messages.success(request, f"已登记工单 {order.number}")
                return redirect("workorders:detail", pk=order.pk)
        status = 400
        phone = form.data.get("appellant_phone", "").strip() or phone
    else:
        form = form_class(initial={"appellant_phone": phone} if phone else None)
    history = selectors.caller_history(user, phone) if phone and not self_service else []
    return render(request, "workorders/order_new.html", {
        "form": form, "self_service": self_service, "phone": phone, "history": history,
        "can_link": user.is_superuser or user.role in roles.CAN_MERGE,
    }, status=status)


def _register(user, data: dict, self_service: bool):
    """Register the call; with a choice from the 疑似重复 panel, link or merge it in the same transaction."""
    repeat = data.get("repeat")
    if not repeat:
        return _register_plain(user, data, self_service)
    mode, number = repeat
    if (data.get("direct_answer") or "").strip():
        raise Invalid("直办的来电当场办结，不能同时作为重复来电关联或合并", field="direct_answer")
    master = selectors.visible_orders(user).filter(number=number).first()
    if master is None:
        raise Invalid(f"主工单「{number}」不存在或不在可见范围内", field="repeat")
    return services.register_repeat_call(
        _intake(data), actor=user, master=master, merge_it=mode == "merge", channel=Channel.PHONE,
        idempotency_key=data["idempotency_key"])


def _intake(data: dict) -> services.Intake:
    return services.Intake(
        title=data["title"], content=data["content"], appeal_type=data["appeal_type"],
        street=data.get("street"), address=data.get("address", ""),
        urgency=data.get("urgency") or "normal", category=data.get("category"), committee=data.get("committee"),
        appellant_name=data.get("appellant_name", ""), appellant_phone=data.get("appellant_phone", ""),
    )


def _register_plain(user, data: dict, self_service: bool):
    intake = _intake(data)
    if self_service:
        channel = Channel.ENTERPRISE if user.role == roles.Role.ENTERPRISE else Channel.WEB
    else:
        channel = Channel.PHONE
    answer = (data.get("direct_answer") or "").strip() or None
    return services.register(intake, actor=user, channel=channel, idempotency_key=data["idempotency_key"],
                             direct_answer=answer)


# --- detail and actions --------------------------------------------------------

def _visible(user, pk: int, *, page: bool = True) -> WorkOrder:
    """The order if ``user`` may see it (404 otherwise, so its existence is not revealed)."""
    try:
        return selectors.order_page(user, pk) if page else selectors.order_list(user).get(pk=pk)
    except WorkOrder.DoesNotExist:
        raise Http404("工单不存在或无权查看") from None


@login_required
def order_detail(request, pk: int):
    return _render_detail(request, _visible(request.user, pk))


def _render_detail(request, order: WorkOrder, bound: forms.ActionForm | None = None, status: int = 200):
    user = request.user
    available = set(selectors.available_actions(user, order))
    action_forms = []
    for slug, form_class in forms.ACTION_FORMS.items():
        if bound is not None and bound.slug == slug:
            action_forms.append(bound)
        elif form_class.actions & available:
            action_forms.append(form_class(order=order, user=user))
    pd = selectors.personal_data(user, order)
    if not pd["masked"] and _has_personal_data(order):
        _audit_unmasked(request, [order], "工单详情")
    return render(request, "workorders/order_detail.html", {
        "order": order, "pd": pd, "action_forms": action_forms,
    }, status=status)


@login_required
@require_POST
def order_action(request, pk: int, action: str):
    form_class = forms.ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404("没有这个操作")
    user = request.user
    order = _visible(user, pk, page=False)
    form = form_class(request.POST, order=order, user=user)
    status = 400
    if form.is_valid():
        try:
            message = PERFORM[action](order, user, form)
        except DomainError as err:
            forms.add_domain_error(form, err)
            status = err.http_status
        else:
            messages.success(request, message)
            return redirect("workorders:detail", pk=order.pk)
    # Re-read: the page shows the order as it is now, untouched by the refused action.
    return _render_detail(request, _visible(user, pk), bound=form, status=status)


# One function per form: call the service, say what happened.

def _answer(order, user, form):
    services.answer_directly(order, actor=user, answer=form.cleaned_data["answer"])
    return "已直办答复并归档"


def _dispatch(order, user, form):
    data = form.cleaned_data
    order = services.dispatch(order, actor=user, lead_unit=data["lead_unit"], co_units=list(data["co_units"]),
                              reason=data["reason"])
    return f"已派单至「{order.lead_unit.name}」"


def _sign(order, user, form):
    services.sign(order, actor=user)
    return "已签收"


def _progress(order, user, form):
    services.record_progress(order, actor=user, note=form.cleaned_data["note"])
    return "已记录办理情况"


def _return(order, user, form):
    data = form.cleaned_data
    services.request_return(order, actor=user, reason_code=data["reason_code"], reason=data["reason"],
                            suggested_unit=data["suggested_unit"])
    return "已提交退单申请，等待派单员仲裁"


def _return_decision(order, user, form):
    services.decide_return(order, actor=user, approve=form.approve(), note=form.cleaned_data["note"])
    return "已同意退单，工单回到待派单" if form.approve() else "已驳回退单，工单退回承办单位"


def _extension(order, user, form):
    services.request_extension(order, actor=user, hours=form.cleaned_data["hours"], reason=form.cleaned_data["reason"])
    return "已提交延期申请"


def _extension_decision(order, user, form):
    services.decide_extension(order, actor=user, approve=form.approve(), note=form.cleaned_data["note"])
    return "已同意延期，办结时限已顺延" if form.approve() else "已拒绝延期"


def _reply(order, user, form):
    services.reply(order, actor=user, text=form.cleaned_data["text"])
    return "已提交答复，等待审核"


def _review(order, user, form):
    services.review_reply(order, actor=user, approve=form.approve(), note=form.cleaned_data["note"])
    return "审核通过，待回访" if form.approve() else "已退回承办单位重新办理"


def _follow_up(order, user, form):
    data = form.cleaned_data
    record = services.follow_up(order, actor=user, satisfaction=data["satisfaction"], resolved=data["resolved"],
                                note=data["note"])
    return f"已记录回访：{record.get_satisfaction_display()}"


def _reopen(order, user, form):
    services.reopen(order, actor=user, reason=form.cleaned_data["reason"])
    return "已重办，工单重新派至原承办单位"


def _archive(order, user, form):
    services.archive(order, actor=user, reason=form.cleaned_data["reason"])
    return "已归档"


def _escalate(order, user, form):
    order = services.escalate(order, actor=user, note=form.cleaned_data["note"])
    return f"已督办（第 {order.escalation_count} 次）"


def _merge(order, user, form):
    order = services.merge(order, actor=user, master=form.cleaned_data["master"], reason=form.cleaned_data["reason"])
    return f"已合并到主工单 {order.master.number}"


def _link(order, user, form):
    order = services.link(order, actor=user, master=form.cleaned_data["master"], reason=form.cleaned_data["reason"])
    return f"已作为重复来电关联到主工单 {order.master.number}"


def _unlink(order, user, form):
    services.unlink(order, actor=user, reason=form.cleaned_data["reason"])
    return "已取消关联，本工单不再计为重复来电"


PERFORM = {
    "answer": _answer, "dispatch": _dispatch, "sign": _sign, "progress": _progress, "return": _return,
    "return-decision": _return_decision, "extension": _extension, "extension-decision": _extension_decision,
    "reply": _reply, "review": _review, "follow-up": _follow_up, "reopen": _reopen, "archive": _archive,
    "escalate": _escalate, "merge": _merge, "link": _link, "unlink": _unlink,
}


# --- repeat calls (重复来电) -------------------------------------------------------

@login_required
@require_GET
def repeat_calls(request):
    """Masters with most repeat calls, and repeat calls per unit and per street, for a period in the URL."""
    user = request.user
    if not (user.is_superuser or user.role in roles.CAN_SEE_REPEAT_CALLS):
        raise PermissionDenied("当前角色无权查看重复来电统计")
    form = forms.RepeatPeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "workorders/repeat_calls.html", {"form": form}, status=400)
    period = form.period()
    return render(request, "workorders/repeat_calls.html", {
        "form": form, "period": period, "data": form.cleaned_data,
        "summary": repeats.summary(period), "masters": repeats.top_masters(period),
        "units": repeats.by_unit(period), "streets": repeats.by_street(period),
    })
