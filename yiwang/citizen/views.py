"""The public pages (no sign-in): file an appeal, follow it, rate the answer; and the staff photo view.

Thin like the staff pages: each view parses a form and calls a service. Access
to one's own order is granted in the session once the verification code has
been checked, so the code is typed once and never travels in a URL.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from yiwang.core.audit import audit, client_ip
from yiwang.core.errors import DomainError, NotFound
from yiwang.core.masking import mask_name, mask_phone
from yiwang.core.models import AuditEntry
from yiwang.workorders import selectors as workorder_selectors
from yiwang.workorders.models import Attachment, WorkOrder
from yiwang.workorders.services import Intake

from . import photos, selectors, services
from .forms import AppealForm, FollowForm, RatingForm

# Six photos of 5 MB and the text: anything larger is refused before Django parses the upload.
MAX_REQUEST_BYTES = photos.MAX_PHOTOS * photos.MAX_BYTES + 1024 * 1024
ACCESS_TTL = dt.timedelta(minutes=30)
_GRANTS = "citizen_orders"
_RECEIPT = "citizen_receipt"
_INTAKE_FIELDS = {"title", "content", "appeal_type", "address", "appellant_name", "appellant_phone", "category",
                  "street"}


def index(request):
    return render(request, "citizen/index.html")


@never_cache
def appeal_new(request):
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES:
            return render(request, "citizen/appeal_new.html", {
                "form": AppealForm(), "too_large": True}, status=413)
        form = AppealForm(request.POST, request.FILES)
        if form.is_valid():
            filed = _file(form)
            if filed is not None:
                _grant(request, filed.order)
                pending = request.session.get(_RECEIPT) or {}
                # A double click: keep the code the first submission put in the session, not yet shown.
                if filed.created or pending.get("number") != filed.order.number:
                    request.session[_RECEIPT] = {"number": filed.order.number, "code": filed.code}
                return redirect("citizen:receipt")
        return render(request, "citizen/appeal_new.html", {"form": form}, status=400)
    return render(request, "citizen/appeal_new.html", {"form": AppealForm()})


def _file(form: AppealForm):
    data = form.cleaned_data
    intake = Intake(**{name: data[name] for name in _INTAKE_FIELDS})
    try:
        return services.file_appeal(intake, data["photos"], form_token=data["form_token"])
    except DomainError as error:
        if error.code == "idempotency_conflict":
            form.add_error(None, "该表单已提交过一条不同的诉求，请刷新页面后重新填写")
        else:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


@never_cache
def receipt(request):
    """The receipt, shown once: the code is taken out of the session as it is shown."""
    shown = request.session.pop(_RECEIPT, None)
    if shown is None:
        messages.info(request, "回执只显示一次。请使用受理编号和查询码查询办理进度。")
        return redirect("citizen:follow")
    return render(request, "citizen/receipt.html", {"number": shown["number"], "code": shown["code"]})


@never_cache
def follow(request):
    if request.method != "POST":
        return render(request, "citizen/follow.html", {"form": FollowForm(initial={"number": request.GET.get("number", "")})})
    form = FollowForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            order = services.open_receipt(form.cleaned_data["number"], form.cleaned_data["code"],
                                          client=client_ip(request) or "")
        except services.RateLimited as error:
            form.add_error(None, error.message)
            status = 429
        except (NotFound, services.WrongCode) as error:
            form.add_error(error.field, error.message)
        else:
            _grant(request, order)
            return redirect("citizen:progress", number=order.number)
    return render(request, "citizen/follow.html", {"form": form}, status=status)


@never_cache
def progress(request, number: str):
    order = _granted_order(request, number)
    if order is None:
        messages.info(request, "请输入受理编号和查询码查看办理进度。")
        return redirect(_follow_url(number))
    return render(request, "citizen/progress.html", _progress_context(order, RatingForm()))


@require_POST
def rate(request, number: str):
    order = _granted_order(request, number)
    if order is None:
        return redirect(_follow_url(number))
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.rate(order, satisfaction=form.cleaned_data["satisfaction"],
                          resolved=form.cleaned_data["resolved"], note=form.cleaned_data["note"])
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("citizen:progress", number=order.number)
        messages.success(request, "感谢您的评价！")
        return redirect("citizen:progress", number=order.number)
    return render(request, "citizen/progress.html", _progress_context(order, form), status=400)


def _progress_context(order: WorkOrder, form: RatingForm) -> dict:
    return {
        "order": order,
        "status": selectors.public_status(order),
        "steps": selectors.timeline(order),
        "reply_visible": selectors.reply_visible(order),
        "can_rate": selectors.can_rate(order),
        "rating": order.follow_ups.order_by("-at", "-id").first() if order.satisfaction else None,
        "form": form,
        "appellant": {"name": mask_name(order.appellant_name), "phone": mask_phone(order.appellant_phone)},
        "photo_count": order.attachments.count(),
    }


def _follow_url(number: str) -> str:
    return f"{reverse('citizen:follow')}?{urlencode({'number': number})}"


def _grant(request, order: WorkOrder) -> None:
    grants = request.session.get(_GRANTS, {})
    now = timezone.now()
    grants = {k: v for k, v in grants.items() if dt.datetime.fromisoformat(v) > now}  # drop expired ones
    grants[str(order.pk)] = (now + ACCESS_TTL).isoformat()
    request.session[_GRANTS] = grants


def _granted_order(request, number: str) -> WorkOrder | None:
    order = WorkOrder.objects.filter(number=number).first()
    if order is None:
        return None
    expiry = request.session.get(_GRANTS, {}).get(str(order.pk))
    if expiry is None or dt.datetime.fromisoformat(expiry) <= timezone.now():
        return None
    return order


# --- staff: the photos of an order they may see -----------------------------

@login_required
def attachment(request, pk: int):
    """One photo, to staff who may see its order; every view is written to the audit trail."""
    item = get_object_or_404(Attachment.objects.select_related("order"), pk=pk)
    if not workorder_selectors.visible_orders(request.user).filter(pk=item.order_id).exists():
        raise Http404("附件不存在")
    audit(actor=request.user, action=AuditEntry.Action.VIEW_PERSONAL_DATA, obj=item, request=request,
          summary=f"查看工单 {item.order.number} 的照片")
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    response["Content-Disposition"] = f'inline; filename="{item.order.number}-{item.pk}{_suffix(item)}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def _suffix(item: Attachment) -> str:
    name = item.file.name
    return name[name.rfind("."):] if "." in name else ""
