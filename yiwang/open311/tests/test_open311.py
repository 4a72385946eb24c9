"""Open311 GeoReport v2: every endpoint in XML and JSON, against the spec's element names and our JSON schemas."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiwang.accounts.models import ApiKey
from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.org.models import Category
from yiwang.workorders import services
from yiwang.workorders.models import Channel, Satisfaction, WorkOrder

from .spec import check

BASE = "/open311/v2"
FORMATS = ["xml", "json"]
JURISDICTION = "hongkou.sh.gov.cn"


@pytest.fixture(autouse=True)
def jurisdiction(settings):
    settings.OPEN311_JURISDICTION = JURISDICTION


@pytest.fixture
def key(world):
    """An Open311 app's key: a system account that sees what it filed."""
    return ApiKey.generate(name="app", user=world.system)[1]


@pytest.fixture
def operator_key(world):
    return ApiKey.generate(name="hotline", user=world.operator)[1]


@pytest.fixture
def supervisor_key(world):
    return ApiKey.generate(name="watch", user=world.supervisor)[1]


@pytest.fixture
def category(db):
    return Category.objects.get(code="0102001")  # 城乡建设/城市建设和市政管理/园林绿化环卫


def parse(response, fmt: str):
    """The document as Python: JSON as is; XML as the root element."""
    return json.loads(response.content) if fmt == "json" else ET.fromstring(response.content)


def assert_error(response, fmt: str, status: int, contains: str = "") -> str:
    assert response.status_code == status
    assert check("errors", fmt, response.content) == []
    doc = parse(response, fmt)
    if fmt == "json":
        code, description = doc[0]["code"], doc[0]["description"]
    else:
        code, description = int(doc.findtext("error/code")), doc.findtext("error/description")
    assert code == status
    assert contains in description
    return description


def post_form(client, fmt: str, data: dict, *, query: str = "", **extra):
    return client.post(f"{BASE}/requests.{fmt}{query}", data, **extra)


def valid_post(category, **overrides) -> dict:
    data = {
        "service_code": category.code,
        "lat": "31.270000",
        "long": "121.490000",
        "address_string": "曲阳路800弄12号",
        "description": "曲阳路800弄门口的行道树倒伏，压住了人行道和两辆自行车，请尽快派人处理，谢谢。",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        "email": "zhang@example.com",
        "device_id": "phone-42",
        "account_id": "acct-7",
        "media_url": "https://img.example.com/tree.jpg",
    }
    data.update(overrides)
    return data


def request_id(response, fmt: str) -> str:
    doc = parse(response, fmt)
    return doc[0]["service_request_id"] if fmt == "json" else doc.findtext("request/service_request_id")


def closed_order(world, **kw) -> WorkOrder:
    """An order taken through the whole lifecycle to a satisfied archive."""
    order = factories.make_order(world.operator, **kw)
    services.dispatch(order, actor=world.dispatcher, lead_unit=world.street_office)
    services.sign(order, actor=world.handler)
    services.reply(order, actor=world.handler, text="已安排园林所清理倒伏树木并修复人行道。")
    services.review_reply(order, actor=world.dispatcher, approve=True)
    services.follow_up(order, actor=world.operator, satisfaction=Satisfaction.SATISFIED, resolved=True)
    order.refresh_from_db()
    return order


def test_the_spec_checks_reject_misordered_or_invented_elements():
    """The checks the other tests rely on must be able to fail."""
    swapped = "<services><service><service_name>a</service_name><service_code>1</service_code>" \
              "<description/><metadata>false</metadata><type>realtime</type><keywords/><group/></service></services>"
    assert check("services", "xml", swapped)
    assert check("errors", "xml", "<error><code>400</code><description>x</description></error>")
    assert check("services", "json", '[{"service_code": "1", "service_name": "a", "metadata": "no", "type": "realtime"}]')
    assert check("requests", "json", '[{"service_request_id": "1", "status": "open", "service_code": "1", '
                                     '"requested_datetime": "2026-11-23 09:30", "priority": 1}]')


# --- discovery and services ---------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_spec_and_both_formats(client, db, fmt):
    response = client.get(f"{BASE}/discovery.{fmt}")

    assert response.status_code == 200
    assert check("discovery", fmt, response.content) == []
    doc = parse(response, fmt)
    if fmt == "json":
        endpoint = doc["endpoints"][0]
        spec, url, formats = endpoint["specification"], endpoint["url"], endpoint["formats"]
    else:
        spec = doc.findtext("endpoints/endpoint/specification")
        url = doc.findtext("endpoints/endpoint/url")
        formats = [f.text for f in doc.findall("endpoints/endpoint/formats/format")]
    assert spec == "http://wiki.open311.org/GeoReport_v2"
    assert url == "http://testserver/open311/v2"
    assert formats == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_level3_categories(client, category, fmt):
    Category.objects.filter(code="0102002").update(active=False)
    expected = Category.objects.filter(level=3, active=True).count()

    response = client.get(f"{BASE}/services.{fmt}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json" if fmt == "json" else "text/xml")
    assert check("services", fmt, response.content) == []
    doc = parse(response, fmt)
    if fmt == "json":
        by_code = {s["service_code"]: s for s in doc}
    else:
        by_code = {s.findtext("service_code"): {c.tag: c.text for c in s} for s in doc.findall("service")}
    assert len(by_code) == expected
    assert "0102002" not in by_code
    service = by_code[category.code]
    assert service["service_name"] == "园林绿化环卫"
    assert service["description"] == "城乡建设/城市建设和市政管理/园林绿化环卫"
    assert service["group"] == "城乡建设"
    assert service["keywords"] == "城市建设和市政管理"
    assert service["type"] == "realtime"
    assert service["metadata"] == (False if fmt == "json" else "false")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("spelling", ["services", "service"])
def test_service_definition_under_both_spellings(client, category, fmt, spelling):
    response = client.get(f"{BASE}/{spelling}/{category.code}.{fmt}")

    assert response.status_code == 200
    assert check("service_definition", fmt, response.content) == []
    doc = parse(response, fmt)
    if fmt == "json":
        assert doc == {"service_code": category.code, "attributes": []}
    else:
        assert doc.findtext("service_code") == category.code
        assert list(doc.find("attributes")) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_of_unknown_or_inactive_code_is_404(client, category, fmt):
    assert_error(client.get(f"{BASE}/services/9999999.{fmt}"), fmt, 404, "9999999")
    Category.objects.filter(pk=category.pk).update(active=False)
    assert_error(client.get(f"{BASE}/service/{category.code}.{fmt}"), fmt, 404)


def test_unsupported_format_and_unknown_path_answer_spec_errors(client, db):
    assert_error(client.get(f"{BASE}/services.csv"), "xml", 404, "csv")
    assert_error(client.get(f"{BASE}/nothing-here.json"), "json", 404)
    assert_error(client.get(f"{BASE}/nothing-here"), "xml", 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_jurisdiction_on_reads_is_404_and_empty_is_ours(client, category, fmt):
    assert_error(client.get(f"{BASE}/services.{fmt}?jurisdiction_id=sf.gov"), fmt, 404, "jurisdiction_id not found")
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id=").status_code == 200
    assert client.get(f"{BASE}/services/{category.code}.{fmt}?jurisdiction_id={JURISDICTION}").status_code == 200


def test_options_head_and_wrong_method(client, db):
    options = client.options(f"{BASE}/requests.json")
    assert options.status_code == 200
    assert set(options["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert client.head(f"{BASE}/services.xml").status_code == 200
    assert_error(client.delete(f"{BASE}/services.json"), "json", 405)


# --- POST requests ----------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_post_form_with_key_in_body_creates_an_open311_order(client, world, key, category, fmt):
    response = post_form(client, fmt, {**valid_post(category), "api_key": key, "jurisdiction_id": JURISDICTION})

    assert response.status_code == 200
    assert check("service_requests", fmt, response.content) == []
    order = WorkOrder.objects.get()
    assert request_id(response, fmt) == order.number
    doc = parse(response, fmt)
    account_id = doc[0]["account_id"] if fmt == "json" else doc.findtext("request/account_id")
    assert account_id == "acct-7"
    assert order.channel == Channel.OPEN311
    assert order.registered_by == world.system
    assert order.category == category
    assert order.content == valid_post(category)["description"]
    assert order.title == order.content[:30]
    assert order.address == "曲阳路800弄12号"
    assert (str(order.latitude), str(order.longitude)) == ("31.270000", "121.490000")
    assert order.street is None
    assert (order.appellant_name, order.appellant_phone) == ("张三", "13812345678")
    intake = order.events.get()
    assert intake.data["extra"] == {
        "email": "zhang@example.com", "device_id": "phone-42", "account_id": "acct-7",
        "media_url": "https://img.example.com/tree.jpg",
    }


def test_post_multipart_with_key_and_jurisdiction_in_query(client, key, category):
    response = client.post(
        f"{BASE}/requests.xml?api_key={key}&jurisdiction_id={JURISDICTION}",
        valid_post(category, lat="", long=""),  # the test client sends multipart by default
    )

    assert response.status_code == 200, response.content
    assert request_id(response, "xml") == WorkOrder.objects.get().number


def test_post_urlencoded_with_key_header(client, key, category):
    response = client.post(
        f"{BASE}/requests.json", urlencode(valid_post(category, address_string="")),
        content_type="application/x-www-form-urlencoded", HTTP_X_API_KEY=key,
    )

    assert response.status_code == 200, response.content
    assert WorkOrder.objects.get().address == ""


def test_post_json_body_with_key_jurisdiction_and_numbers(client, key, category):
    body = {**valid_post(category, lat=31.27, long=121.49), "api_key": key, "jurisdiction_id": "",
            "attribute": {"WHERE": "门口"}}

    response = client.post(f"{BASE}/requests.json", json.dumps(body), content_type="application/json")

    assert response.status_code == 200, response.content
    assert check("service_requests", "json", response.content) == []
    assert WorkOrder.objects.get().latitude is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_or_with_bad_key_is_403_and_writes_nothing(client, world, key, category, fmt):
    assert_error(post_form(client, fmt, valid_post(category)), fmt, 403, "api_key")
    assert_error(post_form(client, fmt, {**valid_post(category), "api_key": "yw_wrong"}), fmt, 403)
    ApiKey.objects.update(revoked_at=timezone.now())
    assert_error(post_form(client, fmt, {**valid_post(category), "api_key": key}), fmt, 403)

    assert not WorkOrder.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_with_a_key_whose_role_may_not_register_is_403(client, supervisor_key, category, fmt):
    response = post_form(client, fmt, {**valid_post(category), "api_key": supervisor_key})

    assert_error(response, fmt, 403)
    assert not WorkOrder.objects.exists()


@pytest.mark.parametrize("where", ["query", "body"])
def test_post_to_another_jurisdiction_is_404_and_writes_nothing(client, key, category, where):
    data = {**valid_post(category), "api_key": key}
    if where == "body":
        response = post_form(client, "json", {**data, "jurisdiction_id": "sf.gov"})
    else:
        response = post_form(client, "json", data, query="?jurisdiction_id=sf.gov")

    assert_error(response, "json", 404, "jurisdiction_id not found")
    assert not WorkOrder.objects.exists()


def test_post_with_empty_jurisdiction_is_accepted(client, key, category):
    response = post_form(client, "xml", {**valid_post(category), "api_key": key, "jurisdiction_id": ""})

    assert response.status_code == 200
    assert WorkOrder.objects.count() == 1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("overrides, message", [
    ({"service_code": ""}, "service_code"),
    ({"service_code": "9999999"}, "9999999"),
    ({"lat": "", "long": "", "address_string": ""}, "位置"),
    ({"long": ""}, "lat 和 long"),
    ({"lat": "north"}, "lat"),
    ({"long": "200"}, "long"),
    ({"description": "  "}, "description"),
    ({"description": "长" * 4001}, "4000"),
    ({"media_url": "ftp://x"}, "media_url"),
    ({"email": "not-an-email"}, "email"),
])
def test_post_with_invalid_fields_is_400_and_writes_nothing(client, key, category, fmt, overrides, message):
    response = post_form(client, fmt, {**valid_post(category, **overrides), "api_key": key})

    assert_error(response, fmt, 400, message)
    assert not WorkOrder.objects.exists()


def test_post_location_by_address_id_alone_is_enough(client, key, category):
    data = valid_post(category, lat="", long="", address_string="", address_id="SH-310109-8812")

    response = post_form(client, "json", {**data, "api_key": key})

    assert response.status_code == 200
    assert WorkOrder.objects.get().events.get().data["extra"]["address_id"] == "SH-310109-8812"


def test_post_retried_with_the_same_idempotency_key_creates_one_order(client, key, category):
    data = {**valid_post(category), "api_key": key}

    first = post_form(client, "json", data, HTTP_IDEMPOTENCY_KEY="app-req-1")
    second = post_form(client, "json", data, HTTP_IDEMPOTENCY_KEY="app-req-1")
    third = post_form(client, "json", data)

    assert first.status_code == second.status_code == third.status_code == 200
    assert request_id(first, "json") == request_id(second, "json") != request_id(third, "json")
    assert WorkOrder.objects.count() == 2


def test_post_reusing_an_idempotency_key_for_another_appeal_is_400(client, key, category):
    post_form(client, "json", {**valid_post(category), "api_key": key}, HTTP_IDEMPOTENCY_KEY="k")

    response = post_form(client, "json", {**valid_post(category, description="另一件事：路灯不亮"), "api_key": key},
                         HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, "json", 400, "幂等键")
    assert WorkOrder.objects.count() == 1


# --- GET requests -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_shows_status_unit_reply_and_deadline(client, world, operator_key, fmt):
    closed = closed_order(world)
    open_ = factories.make_order(world.operator, latitude="31.271234", longitude="121.498765")
    services.dispatch(open_, actor=world.dispatcher, lead_unit=world.jgw)
    open_.refresh_from_db()

    response = client.get(f"{BASE}/requests.{fmt}?api_key={operator_key}")

    assert response.status_code == 200
    assert check("requests", fmt, response.content) == []
    doc = parse(response, fmt)
    rows = doc if fmt == "json" else [{c.tag: c.text for c in r} for r in doc.findall("request")]
    by_id = {r["service_request_id"]: r for r in rows}
    assert list(by_id) == [open_.number, closed.number]  # newest first
    shown_open, shown_closed = by_id[open_.number], by_id[closed.number]
    assert shown_open["status"] == "open"
    assert shown_open["status_notes"] == "待签收"
    assert shown_open["agency_responsible"] == world.jgw.name
    assert shown_open["expected_datetime"] == timezone.localtime(open_.handle_deadline).isoformat(timespec="seconds")
    assert shown_open["requested_datetime"].endswith("+08:00")
    assert shown_open["service_code"] == open_.category.code
    assert shown_open["service_name"] == open_.category.name
    assert shown_open["lat"] == (31.271234 if fmt == "json" else "31.271234")
    assert shown_closed["status"] == "closed"
    assert shown_closed["status_notes"] == "已安排园林所清理倒伏树木并修复人行道。"
    assert shown_closed["agency_responsible"] == world.street_office.name
    assert shown_closed["address"] == "曲阳路800弄12号"  # an operator sees it in clear …
    body = response.content.decode()
    assert "张三" not in body and "13812345678" not in body  # … but never the appellant's name or phone
    audited = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA, actor=world.operator)
    assert sorted(audited.values_list("object_id", flat=True)) == sorted([str(open_.pk), str(closed.pk)])


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_masks_address_and_coarsens_location_for_roles_without_personal_data(
        client, world, supervisor_key, fmt):
    factories.make_order(world.operator, latitude="31.271234", longitude="121.498765")

    response = client.get(f"{BASE}/requests.{fmt}?api_key={supervisor_key}")

    assert check("requests", fmt, response.content) == []
    doc = parse(response, fmt)
    row = doc[0] if fmt == "json" else {c.tag: c.text for c in doc.find("request")}
    assert row["address"] == "曲阳路***弄**号"
    assert str(row["lat"]) == "31.271"
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_PERSONAL_DATA).exists()


def test_get_requests_with_a_system_key_shows_only_what_it_filed(client, world, key, category):
    factories.make_order(world.operator)
    mine = post_form(client, "json", {**valid_post(category), "api_key": key})

    response = client.get(f"{BASE}/requests.json?api_key={key}")

    rows = json.loads(response.content)
    assert [r["service_request_id"] for r in rows] == [request_id(mine, "json")]
    assert rows[0]["media_url"] == "https://img.example.com/tree.jpg"
    assert rows[0]["address"] == "曲阳路800弄12号"  # its own submission, in clear


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_needs_a_key(client, world, fmt):
    factories.make_order(world.operator)

    assert_error(client.get(f"{BASE}/requests.{fmt}"), fmt, 403, "api_key")
    assert_error(client.get(f"{BASE}/requests.{fmt}?api_key=yw_nope"), fmt, 403)


def test_get_requests_filters(client, world, operator_key):
    now = timezone.now()
    water = Category.objects.filter(level=3).exclude(code="0102001").order_by("code").first()
    a = factories.make_order(world.operator, now=now - dt.timedelta(days=2))
    b = factories.make_order(world.operator, category=water, now=now - dt.timedelta(days=1))
    c = closed_order(world)
    old = factories.make_order(world.operator, now=now - dt.timedelta(days=120))

    def ids(query: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json?api_key={operator_key}&{query}")
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in json.loads(response.content)]

    assert ids("") == [c.number, b.number, a.number]  # the default window is the last 90 days
    assert ids(f"service_request_id={a.number},{old.number}&status=closed") == [a.number, old.number]
    assert ids(f"service_code={water.code}") == [b.number]
    assert ids("status=open") == [b.number, a.number]
    assert ids("status=closed") == [c.number]
    assert ids("status=open,closed") == [c.number, b.number, a.number]
    start = timezone.localtime(now - dt.timedelta(days=200)).isoformat(timespec="seconds")
    end = timezone.localtime(now - dt.timedelta(days=100)).isoformat(timespec="seconds")
    assert ids(f"start_date={start}&end_date={end}") == [old.number]  # "+" arrives as a space
    assert ids(f"end_date={timezone.localdate(now - dt.timedelta(days=2)).isoformat()}") == [a.number]
    assert ids("page_size=2") == [c.number, b.number]
    assert ids("page_size=2&page=2") == [a.number]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("query, message", [
    ("start_date=yesterday", "start_date"),
    ("end_date=2026-13-45", "end_date"),
    ("status=pending", "status"),
    ("page_size=1001", "page_size"),
    ("page=0", "page"),
])
def test_get_requests_with_bad_parameters_is_400(client, operator_key, fmt, query, message):
    assert_error(client.get(f"{BASE}/requests.{fmt}?api_key={operator_key}&{query}"), fmt, 400, message)


def test_get_requests_wrong_jurisdiction_is_404(client, operator_key):
    assert_error(client.get(f"{BASE}/requests.json?api_key={operator_key}&jurisdiction_id=x"), "json", 404)


def test_get_requests_query_count_does_not_grow_with_the_orders(client, world, operator_key):
    factories.make_order(world.operator, channel=Channel.OPEN311)
    client.get(f"{BASE}/requests.xml?api_key={operator_key}")  # the key's first use stamps last_used_at
    with CaptureQueriesContext(connection) as one:
        client.get(f"{BASE}/requests.xml?api_key={operator_key}")
    for _ in range(5):
        order = factories.make_order(world.operator)
        services.dispatch(order, actor=world.dispatcher, lead_unit=world.jgw)
    with CaptureQueriesContext(connection) as six:
        response = client.get(f"{BASE}/requests.xml?api_key={operator_key}")

    assert len(ET.fromstring(response.content).findall("request")) == 6
    assert len(six) == len(one)


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_one_request_by_number(client, world, operator_key, fmt):
    order = factories.make_order(world.operator)

    response = client.get(f"{BASE}/requests/{order.number}.{fmt}?api_key={operator_key}")

    assert response.status_code == 200
    assert check("requests", fmt, response.content) == []
    assert request_id(response, fmt) == order.number
    assert_error(client.get(f"{BASE}/requests/HK000.{fmt}?api_key={operator_key}"), fmt, 404, "HK000")


def test_get_one_request_not_visible_to_the_key_is_404(client, world, key):
    order = factories.make_order(world.operator)

    assert_error(client.get(f"{BASE}/requests/{order.number}.json?api_key={key}"), "json", 404)


def test_merged_request_is_closed_and_points_at_its_master(client, world, operator_key):
    master = factories.make_order(world.operator)
    duplicate = factories.make_order(world.operator)
    services.merge(duplicate, actor=world.operator, master=master)

    response = client.get(f"{BASE}/requests/{duplicate.number}.json?api_key={operator_key}")

    row = json.loads(response.content)[0]
    assert row["status"] == "closed"
    assert row["status_notes"] == f"重复诉求，已合并至工单 {master.number}"
