"""Pages of case clusters (类案) and governance tasks (治理任务).

Thin: each view checks the role, parses its input and calls :mod:`services` or
:mod:`selectors`. A refused action shows the page again with the field messages
(HTTP 4xx) and writes nothing. Showing unmasked appellants is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from yiwang.accounts import roles
from yiwang.core.audit import audit_personal_data_view
from yiwang.core.errors import DomainError, Invalid
from yiwang.org.models import Street, Unit

from . import selectors, services
from .models import LIVE, CaseCluster, GovernanceTask, TaskStatus

PAGE_SIZE = 30
HEAT_FORMULA = ("热度 = ln(1+工单数) + ln(1+近30天工单数) + 0.5·ln(1+重复来电数) "
                "+ 0.5·ln(1+诉求人数−1) + 0.5·ln(1+回访不满意数)；"
                "近30天以最新登记的工单时间为准；ln 使任何一项都不会压倒其他项。")


def _require(user, allowed, message: str) -> None:
    if not (user.is_superuser or user.role in allowed):
        raise PermissionDenied(message)


def _cluster(pk: int) -> CaseCluster:
    cluster = CaseCluster.objects.select_related("street", "committee", "representative", "merged_into",
                                                 "confirmed_by").filter(pk=pk).first()
    if cluster is None:
        raise Http404("类案不存在")
    return cluster


@login_required
def cluster_list(request):
    _require(request.user, roles.CAN_SEE_CLUSTERS, "当前角色无权查看类案")
    status = request.GET.get("status", "live")
    errors = {}
    if status not in selectors.STATUS_FILTERS:
        errors["status"] = "状态只能是 全部在办/自动聚合/已确认"
    street_id = None
    raw_street = request.GET.get("street", "")
    if raw_street:
        try:
            street_id = Street.objects.get(pk=int(raw_street)).pk
        except (ValueError, Street.DoesNotExist):
            errors["street"] = f"街道「{raw_street}」不存在"
    q = request.GET.get("q", "").strip()
    if len(q) > 50:
        errors["q"] = "关键词不能超过 50 个字"
    context = {"streets": Street.objects.all(), "status": status, "street": raw_street, "q": q,
               "errors": errors, "formula": HEAT_FORMULA,
               "statuses": [("live", "全部"), ("auto", "自动聚合"), ("confirmed", "已确认")]}
    if errors:
        return render(request, "clusters/list.html", context, status=400)
    qs = selectors.ranked_clusters(status=status, street_id=street_id, q=q)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context.update(page=page, rank_offset=(page.number - 1) * PAGE_SIZE)
    if request.GET.get("format") == "json":
        return JsonResponse({"count": page.paginator.count, "results": [_as_dict(c) for c in page]})
    return render(request, "clusters/list.html", context)


def _as_dict(c: CaseCluster) -> dict:
    return {"id": c.pk, "label": c.label, "keywords": c.keywords, "status": c.status, "heat": c.heat,
            "size": c.size, "recent": c.recent, "repeats": c.repeats, "callers": c.callers,
            "dissatisfied": c.dissatisfied, "street": c.street.name if c.street else None,
            "committee": c.committee.name if c.committee else None,
            "first_at": c.first_at.isoformat() if c.first_at else None,
            "last_at": c.last_at.isoformat() if c.last_at else None, "category_mix": c.category_mix,
            "representative": ({"id": c.representative_id, "title": c.representative.title}
                               if c.representative_id else None)}


def _detail(request, cluster: CaseCluster, *, errors: dict | None = None, form: dict | None = None, status: int = 200):
    rows = selectors.members(request.user, cluster)
    shown = [r["order"] for r in rows if not r["person"]["masked"]]
    if shown:
        audit_personal_data_view(actor=request.user, objects=shown, request=request,
                                 summary=f"类案#{cluster.pk} 成员工单")
    return render(request, "clusters/detail.html", {
        "c": cluster, "rows": rows, "errors": errors or {}, "form": form or {}, "formula": HEAT_FORMULA,
        "decisions": cluster.decisions.select_related("actor", "other"),
        "tasks": cluster.tasks.select_related("owner_unit", "owner_person"),
        "units": Unit.objects.filter(active=True),
        "may_curate": request.user.is_superuser or request.user.role in roles.CAN_CURATE_CLUSTERS,
        "may_open_task": request.user.is_superuser or request.user.role in roles.CAN_OPEN_GOVERNANCE_TASKS,
        "live": cluster.status in LIVE,
    }, status=status)


@login_required
def cluster_detail(request, pk: int):
    _require(request.user, roles.CAN_SEE_CLUSTERS, "当前角色无权查看类案")
    return _detail(request, _cluster(pk))


def _act(request, pk: int, action, *, form: dict, success):
    _require(request.user, roles.CAN_SEE_CLUSTERS, "当前角色无权调整类案")
    cluster = _cluster(pk)
    try:
        result = action(cluster)
    except DomainError as exc:
        return _detail(request, cluster, errors={exc.field or "__all__": exc.message}, form=form,
                       status=exc.http_status)
    messages.success(request, success(result))
    target = result if isinstance(result, CaseCluster) and result.status in LIVE else cluster
    return redirect("clusters:detail", target.pk)


@login_required
@require_POST
def confirm(request, pk: int):
    form = {"label": request.POST.get("label", ""), "note": request.POST.get("note", "")}
    return _act(request, pk, lambda c: services.confirm(c, actor=request.user, label=form["label"],
                                                         note=form["note"], request=request),
                form=form, success=lambda c: f"类案#{c.pk} 已确认")


@login_required
@require_POST
def split(request, pk: int):
    form = {"orders": request.POST.getlist("orders"), "label": request.POST.get("split_label", "")}
    return _act(request, pk, lambda c: services.split(c, form["orders"], actor=request.user, label=form["label"],
                                                       request=request),
                form=form, success=lambda new: f"已拆出 {new.size} 件工单为新类案#{new.pk}")


@login_required
@require_POST
def remove(request, pk: int, order_pk: int):
    return _act(request, pk, lambda c: services.remove_member(c, order_pk, actor=request.user,
                                                               note=request.POST.get("note", ""), request=request),
                form={}, success=lambda c: f"已将工单移出类案#{c.pk}")


@login_required
@require_POST
def merge(request, pk: int):
    raw = request.POST.get("other", "").strip().lstrip("#")
    form = {"other": raw}

    def do(cluster):
        try:
            other = CaseCluster.objects.get(pk=int(raw))
        except (ValueError, CaseCluster.DoesNotExist):
            raise Invalid(f"类案「{raw}」不存在", field="other") from None
        return services.merge(cluster, other, actor=request.user, note=request.POST.get("note", ""),
                              request=request)

    return _act(request, pk, do, form=form, success=lambda c: f"已合并，类案#{c.pk} 现有 {c.size} 件工单")


@login_required
@require_POST
def open_task(request, pk: int):
    form = {k: request.POST.get(k, "") for k in ("title", "description", "owner_unit", "owner_person",
                                                 "working_days")}

    def do(cluster):
        try:
            unit = Unit.objects.get(pk=int(form["owner_unit"]), active=True)
        except (ValueError, Unit.DoesNotExist):
            raise Invalid("请选择启用中的责任单位", field="owner_unit") from None
        person = services.owner_person_choice(form["owner_person"])
        return services.open_task(cluster, actor=request.user, title=form["title"], description=form["description"],
                                  owner_unit=unit, owner_person=person, working_days=form["working_days"],
                                  request=request)

    _require(request.user, roles.CAN_OPEN_GOVERNANCE_TASKS, "当前角色无权开启治理任务")
    cluster = _cluster(pk)
    try:
        task = do(cluster)
    except DomainError as exc:
        return _detail(request, cluster, errors={exc.field or "__all__": exc.message}, form=form,
                       status=exc.http_status)
    messages.success(request, f"已开启治理任务「{task.title}」，截止 {task.deadline:%Y-%m-%d %H:%M}")
    return redirect("clusters:task", task.pk)


# --- governance tasks -----------------------------------------------------------------

def _task(user, pk: int) -> GovernanceTask:
    task = selectors.tasks_for(user).filter(pk=pk).first()
    if task is None:
        raise Http404("治理任务不存在或无权查看")
    return task


@login_required
def task_list(request):
    qs = selectors.tasks_for(request.user)
    status = request.GET.get("status", "")
    if status and status not in TaskStatus.values:
        return render(request, "clusters/tasks.html", {"error": "状态无效", "statuses": TaskStatus.choices},
                      status=400)
    if status:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "clusters/tasks.html", {"page": page, "status": status, "statuses": TaskStatus.choices})


def _weeks(request) -> tuple[int, str | None]:
    """The ``weeks`` parameter of the volume chart, or the default and the field message."""
    weeks = request.GET.get("weeks", str(selectors.DEFAULT_WEEKS))
    if not weeks.isdigit() or not 2 <= int(weeks) <= selectors.MAX_WEEKS:
        return selectors.DEFAULT_WEEKS, f"周数应为 2 到 {selectors.MAX_WEEKS}"
    return int(weeks), None


def _task_page(request, task, *, errors=None, form=None, status=200):
    weeks, error = _weeks(request)
    if error:
        errors, status = {**(errors or {}), "weeks": error}, 400
    return render(request, "clusters/task.html", {
        "t": task, "events": task.events.select_related("actor"), "errors": errors or {}, "form": form or {},
        "volume": selectors.volume_around(task, weeks=weeks), "weeks": weeks,
        "may_work": services.may_work_on(request.user, task),
        "may_see_cluster": selectors.may_see_clusters(request.user),
    }, status=status)


@login_required
def task_detail(request, pk: int):
    return _task_page(request, _task(request.user, pk))


@login_required
def task_volume(request, pk: int):
    task = _task(request.user, pk)
    weeks, error = _weeks(request)
    if error:
        return JsonResponse({"code": "invalid", "errors": {"weeks": [error]}}, status=400)
    return JsonResponse(selectors.volume_around(task, weeks=weeks))


@login_required
@require_POST
def task_move(request, pk: int, to: str):
    task = _task(request.user, pk)
    form = {"note": request.POST.get("note", "")}
    try:
        if to == TaskStatus.IN_PROGRESS:
            task = services.start_task(task, actor=request.user, note=form["note"], request=request)
        elif to == TaskStatus.DONE:
            task = services.complete_task(task, actor=request.user, result=form["note"], request=request)
        else:
            raise Http404("未知操作")
    except DomainError as exc:
        field = "note" if exc.field == "result" else exc.field
        return _task_page(request, task, errors={field or "__all__": exc.message}, form=form,
                          status=exc.http_status)
    messages.success(request, f"治理任务已改为「{task.get_status_display()}」")
    return redirect("clusters:task", task.pk)

