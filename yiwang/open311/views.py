"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the work-order engine.

Services are the active level-3 categories of the taxonomy. A POSTed request
becomes a work order through :func:`yiwang.workorders.services.register` on the
``open311`` channel, acting as the API key's user; GET requests read through
the selectors, so a key sees what its user may see and addresses are masked
for users who do not need them. Every error is the spec's ``errors`` document
with the HTTP status as its code.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from yiwang.accounts.auth import raw_key_from_request
from yiwang.accounts.models import ApiKey
from yiwang.core.audit import audit_personal_data_view
from yiwang.core.errors import DomainError
from yiwang.core.masking import mask_address
from yiwang.org.models import Category
from yiwang.workorders import selectors, services
from yiwang.workorders.models import Channel, Event, WorkOrder
from yiwang.workorders.states import TERMINAL, Action, Status

from .render import FORMATS, render

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this server's Open311 interface last changed (discovery's changeset).
CHANGESET = "2026-11-21T00:00:00+08:00"
CONTACT = "上海市虹口区 12345 市民服务热线，区数据局负责本接口的对接与运维"
KEY_SERVICE = "API 密钥由区数据局发放（yiwang apikey create 名称），请联系区数据局申请"

MAX_REQUESTS = 1000  # the spec's ceiling for one GET requests answer
DEFAULT_WINDOW = dt.timedelta(days=90)  # the spec's default when no start_date is given
MAX_DESCRIPTION = 4000  # the spec's limit on a request's description
TITLE_LENGTH = 30
# Precision of coordinates shown with a masked address: 3 decimals is about 100 m,
# enough for a map of the district, not enough to point at one door.
MASKED_COORDINATE = Decimal("0.001")


class Open311Error(Exception):
    """A refused call, answered with the spec's ``errors`` document."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def error_response(status: int, description: str, fmt: str) -> HttpResponse:
    return render([{"code": status, "description": description}], fmt, root="errors", status=status)


def endpoint(*methods: str):
    """The frame every endpoint shares: format check, method check, OPTIONS, errors in the spec's shape."""
    allowed = {*methods, "OPTIONS"} | ({"HEAD"} if "GET" in methods else set())

    def decorate(func):
        @csrf_exempt
        @functools.wraps(func)
        def view(request, fmt: str, **kwargs):
            if fmt not in FORMATS:
                return error_response(404, f"不支持的格式「{fmt}」，可用：xml、json", "xml")
            if request.method == "OPTIONS":
                response = HttpResponse(status=200)
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            if request.method not in allowed:
                response = error_response(405, f"该接口不支持 {request.method} 方法", fmt)
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            try:
                return func(request, fmt, **kwargs)
            except Open311Error as exc:
                return error_response(exc.status, exc.description, fmt)
            except DomainError as exc:
                return error_response(exc.http_status, exc.message, fmt)

        return view

    return decorate


# --- parameters, key and jurisdiction ----------------------------------------

def _body_params(request) -> dict[str, str]:
    """Form (urlencoded or multipart) or JSON body of a POST, as strings."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise Open311Error(400, "请求体不是有效的 JSON") from None
        if not isinstance(body, dict):
            raise Open311Error(400, "JSON 请求体必须是一个对象")
        # Nested values (an "attribute" object) are extensions this server does not define.
        return {k: _scalar(v) for k, v in body.items() if not isinstance(v, (dict, list))}
    return {k: request.POST.get(k) for k in request.POST}


def _scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param(params, name: str) -> str:
    return (params.get(name) or "").strip()


def _check_jurisdiction(params) -> None:
    """An absent or empty jurisdiction_id means this server's own; any other is unknown."""
    value = _param(params, "jurisdiction_id")
    if value and value != settings.OPEN311_JURISDICTION:
        raise Open311Error(404, f"jurisdiction_id not found：本接口只服务辖区「{settings.OPEN311_JURISDICTION}」")


def _api_key(request, params) -> ApiKey:
    raw = raw_key_from_request(request) or _param(params, "api_key")
    if not raw:
        raise Open311Error(403, "缺少 api_key")
    key = ApiKey.authenticate(raw)
    if key is None:
        raise Open311Error(403, "api_key 无效或已吊销")
    return key


# --- discovery and services --------------------------------------------------

@endpoint("GET")
def discovery(request, fmt: str):
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt})).rsplit("/", 1)[0]
    return render({
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": base,
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }, fmt, root="discovery")


def _services_queryset():
    return Category.objects.filter(level=3, active=True).select_related("parent__parent").order_by("code")


def _service(category: Category) -> dict:
    level2 = category.parent
    level1 = level2.parent if level2 else None
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.path,
        "metadata": False,  # no extra attributes: the definition is an empty list
        "type": "realtime",  # the order number is known as soon as the POST returns
        "keywords": level2.name if level2 else None,
        "group": level1.name if level1 else None,
    }


@endpoint("GET")
def service_list(request, fmt: str):
    _check_jurisdiction(request.GET)
    return render([_service(c) for c in _services_queryset()], fmt, root="services")


@endpoint("GET")
def service_definition(request, fmt: str, code: str):
    _check_jurisdiction(request.GET)
    category = _services_queryset().filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"service_code「{code}」不存在")
    return render({"service_code": category.code, "attributes": []}, fmt, root="service_definition")


# --- POST requests ------------------------------------------------------------

@endpoint("GET", "POST")
def request_collection(request, fmt: str):
    if request.method == "POST":
        return _create_request(request, fmt)
    return _request_list(request, fmt)


def _create_request(request, fmt: str):
    params = {**{k: request.GET.get(k) for k in request.GET}, **_body_params(request)}
    _check_jurisdiction(params)
    key = _api_key(request, params)
    intake = _intake(params, _posted_service(params))
    order, _ = services.register(
        intake, actor=key.user, channel=Channel.OPEN311,
        idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY") or None,
    )
    return render([{
        "service_request_id": order.number,
        "service_notice": f"诉求已受理，工单编号 {order.number}，将按规定时限派单办理，可凭编号查询进度。",
        "account_id": _param(params, "account_id") or None,
    }], fmt, root="service_requests")


def _posted_service(params) -> Category:
    code = _param(params, "service_code")
    if not code:
        raise Open311Error(400, "service_code 不能为空")
    category = _services_queryset().filter(code=code).first()
    if category is None:
        raise Open311Error(400, f"service_code「{code}」不存在")
    return category


def _intake(params, category: Category) -> services.Intake:
    description = _param(params, "description")
    if not description:
        raise Open311Error(400, "description 不能为空：请描述诉求内容")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description 不能超过 {MAX_DESCRIPTION} 个字")
    lat, long = _coordinate(params, "lat", 90), _coordinate(params, "long", 180)
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat 和 long 必须同时提供")
    address, address_id = _param(params, "address_string"), _param(params, "address_id")
    if lat is None and not address and not address_id:
        raise Open311Error(400, "必须提供位置：lat 和 long、address_string 或 address_id 之一")
    return services.Intake(
        title=" ".join(description.split())[:TITLE_LENGTH],
        content=description,
        category=category,
        address=address,
        latitude=lat,
        longitude=long,
        # Chinese names are written family name first, without a space.
        appellant_name=_param(params, "last_name") + _param(params, "first_name"),
        appellant_phone=_param(params, "phone"),
        extra=_extra(params),
    )


def _coordinate(params, name: str, bound: int) -> Decimal | None:
    text = _param(params, name)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Open311Error(400, f"{name} 必须是数字") from None
    if not value.is_finite() or not -bound <= value <= bound:
        raise Open311Error(400, f"{name} 超出范围 [-{bound}, {bound}]")
    return value


def _extra(params) -> dict[str, str]:
    """What the spec lets a client send that has no work-order column; kept on the intake event."""
    email, media_url = _param(params, "email"), _param(params, "media_url")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Open311Error(400, "email 格式不正确") from None
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise Open311Error(400, "media_url 必须是 http 或 https 地址") from None
    extra = {name: _param(params, name) for name in ("email", "device_id", "account_id", "address_id", "media_url")}
    return {name: value for name, value in extra.items() if value}


# --- GET requests -------------------------------------------------------------

def _orders_for(user):
    """Everything a request document shows, in a fixed number of queries."""
    intake_events = Event.objects.filter(action__in=[Action.REGISTER, Action.TRANSFER_FROM_CITY])
    return (
        selectors.order_list(user, with_assignments=False)
        .select_related("master")
        .prefetch_related(Prefetch("events", queryset=intake_events, to_attr="intake_events"))
    )


def _request_list(request, fmt: str):
    params = request.GET
    _check_jurisdiction(params)
    key = _api_key(request, params)
    orders = _filtered(_orders_for(key.user), params)
    page, page_size = _positive(params, "page", 1, None), _positive(params, "page_size", MAX_REQUESTS, MAX_REQUESTS)
    shown = list(orders.order_by("-created_at", "-id")[(page - 1) * page_size: page * page_size])
    return _request_documents(request, key.user, shown, fmt)


@endpoint("GET")
def request_detail(request, fmt: str, number: str):
    params = request.GET
    _check_jurisdiction(params)
    key = _api_key(request, params)
    order = _orders_for(key.user).filter(number=number).first()
    if order is None:
        raise Open311Error(404, f"service_request_id「{number}」不存在")
    return _request_documents(request, key.user, [order], fmt)


def _filtered(orders, params):
    ids = _list_param(params, "service_request_id")
    if ids:
        return orders.filter(number__in=ids)  # the spec: this overrides every other filter
    codes = _list_param(params, "service_code")
    if codes:
        orders = orders.filter(category__code__in=codes)
    statuses = set(_list_param(params, "status"))
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status 只能是 open 或 closed")
    if statuses == {"open"}:
        orders = orders.exclude(status__in=TERMINAL)
    elif statuses == {"closed"}:
        orders = orders.filter(status__in=TERMINAL)
    end = _datetime_param(params, "end_date", end_of_day=True)
    start = _datetime_param(params, "start_date") or (end or timezone.now()) - DEFAULT_WINDOW
    orders = orders.filter(created_at__gte=start)
    if end is not None:
        orders = orders.filter(created_at__lte=end)
    return orders


def _list_param(params, name: str) -> list[str]:
    return [part.strip() for part in _param(params, name).split(",") if part.strip()]


def _positive(params, name: str, default: int, ceiling: int | None) -> int:
    text = _param(params, name)
    if not text:
        return default
    if not text.isdigit() or int(text) < 1 or (ceiling and int(text) > ceiling):
        limit = f"1 到 {ceiling} 之间" if ceiling else "正"
        raise Open311Error(400, f"{name} 必须是{limit}整数")
    return int(text)


def _datetime_param(params, name: str, *, end_of_day: bool = False) -> dt.datetime | None:
    """A W3C date-time (2026-11-23T09:30:00+08:00) or date; without an offset, Shanghai time."""
    text = _param(params, name)
    if not text:
        return None
    if "T" in text and " " in text:
        text = text.replace(" ", "+")  # an unencoded "+08:00" arrives as " 08:00"
    parsed = None
    try:
        # A bare date first: datetime parsing would read it as midnight, cutting an end_date short.
        if "T" not in text and (day := parse_date(text)) is not None:
            parsed = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        else:
            parsed = parse_datetime(text)
    except ValueError:
        pass
    if parsed is None:
        raise Open311Error(400, f"{name} 必须是 W3C 日期时间格式，例如 2026-11-23T09:30:00+08:00")
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _request_documents(request, user, orders: list[WorkOrder], fmt: str):
    documents, unmasked = [], []
    for order in orders:
        clear = selectors.can_see_personal_data(user, order)
        if clear and order.address:
            unmasked.append(order)
        documents.append(_request_document(order, clear))
    audit_personal_data_view(actor=user, objects=unmasked, request=request, summary="Open311 查询诉求")
    return render(documents, fmt, root="service_requests")


def _request_document(order: WorkOrder, clear: bool) -> dict:
    extra = _intake_extra(order)
    lat, long = order.latitude, order.longitude
    if not clear:
        lat = lat.quantize(MASKED_COORDINATE) if lat is not None else None
        long = long.quantize(MASKED_COORDINATE) if long is not None else None
    return {
        "service_request_id": order.number,
        "status": "closed" if order.status in TERMINAL else "open",
        "status_notes": _status_notes(order),
        "service_name": order.category.name if order.category else None,
        "service_code": order.category.code if order.category else "",
        "description": order.content[:MAX_DESCRIPTION],
        "agency_responsible": order.lead_unit.name if order.lead_unit else None,
        "service_notice": None,
        "requested_datetime": _w3(order.created_at),
        "updated_datetime": _w3(order.closed_at if order.status in TERMINAL and order.closed_at else order.updated_at),
        "expected_datetime": _w3(order.handle_deadline),
        "address": (order.address if clear else mask_address(order.address)) or None,
        "address_id": extra.get("address_id"),
        "zipcode": None,
        "lat": lat,
        "long": long,
        "media_url": extra.get("media_url"),
    }


def _intake_extra(order: WorkOrder) -> dict:
    events = getattr(order, "intake_events", [])
    return events[0].data.get("extra", {}) if events else {}


def _status_notes(order: WorkOrder) -> str:
    """The reply once closed (or where a duplicate went); before that, where in the process it is."""
    if order.status == Status.MERGED:
        master = order.master.number if order.master else ""
        return f"重复诉求，已合并至工单 {master}".strip()
    if order.status in TERMINAL and order.reply:
        return order.reply
    return Status(order.status).label


def _w3(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# --- anything else under /open311/v2/ -------------------------------------------

@csrf_exempt
def not_found(request, path: str):
    fmt = "json" if path.endswith(".json") else "xml"
    return error_response(404, f"没有这个接口：{path}", fmt)
