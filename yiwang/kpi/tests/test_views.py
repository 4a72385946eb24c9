"""The KPI page, its JSON and xlsx, the dashboard page and its panels, and who may see them."""

import io

import pytest
from openpyxl import load_workbook

from yiwang.core.models import AuditEntry
from yiwang.demo import factories
from yiwang.kpi import facts
from yiwang.workorders import services

pytestmark = pytest.mark.django_db

WEEK1 = "from=2026-11-23&to=2026-11-29"


@pytest.fixture
def built(kpi_world):
    facts.rebuild()
    return kpi_world


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_supervisor_reads_the_kpi_page_with_definitions_and_trend(client, built):
    response = get(client, built.world.supervisor, f"/kpi/?{WEEK1}&by=unit")
    assert response.status_code == 200
    html = response.content.decode()
    assert "签收及时率" in html and "重复来电率" in html and "指标口径" in html
    assert built.world.street_office.name in html and built.world.other_unit.name in html
    assert "66.7%" in html  # office sign-for 2/3
    assert 'id="kpi-trend-data"' in html


def test_json_has_the_same_numbers(client, built):
    data = get(client, built.world.dispatcher, f"/kpi/data.json?{WEEK1}&by=total").json()
    assert data["total"]["orders"] == 6
    assert data["total"]["return"] == {"num": 1, "den": 4, "rate": 0.25}
    assert [t["bucket"] for t in data["trend"]] == ["2026-11-23"]
    assert len(data["definitions"]) == 6


def test_bad_input_is_a_400_with_the_field(client, built):
    user = built.world.supervisor
    response = get(client, user, "/kpi/data.json?from=2026-12-01&to=2026-11-01")
    assert response.status_code == 400 and response.json()["field"] == "from"
    assert get(client, user, "/kpi/data.json?by=planet").json()["errors"] == {"by": ["分组「planet」无效，可选：total、unit、street、category"]}
    assert get(client, user, "/kpi/data.json?street=999").json()["field"] == "street"
    assert get(client, user, "/kpi/data.json?every=day").status_code == 400
    page = get(client, user, "/kpi/?from=bad")
    assert page.status_code == 400 and "格式应为 YYYY-MM-DD" in page.content.decode()


def test_unit_leader_sees_only_their_unit(client, built):
    w = built.world
    data = get(client, w.leader, f"/kpi/data.json?{WEEK1}&by=unit").json()
    assert [r["name"] for r in data["rows"]] == [w.street_office.name]
    assert data["total"]["orders"] == 3
    refused = get(client, w.leader, f"/kpi/data.json?{WEEK1}&unit={w.other_unit.code}")
    assert refused.status_code == 403 and refused.json()["field"] == "unit"
    assert w.other_unit.name not in get(client, w.leader, f"/kpi/?{WEEK1}&by=unit").content.decode()


@pytest.mark.parametrize("who", ["handler", "operator", "citizen", "deputy"])
def test_other_roles_are_refused(client, built, who):
    user = getattr(built.world, who)
    for url in ("/kpi/", "/kpi/data.json", "/kpi/export.xlsx", "/dashboard/", "/dashboard/panels/volumes.json"):
        assert get(client, user, url).status_code == 403, url


def test_xlsx_export_has_rows_total_trend_and_definitions_and_is_audited(client, built):
    w = built.world
    response = get(client, w.supervisor, f"/kpi/export.xlsx?{WEEK1}&by=unit")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["绩效指标", "趋势", "指标口径"]
    rows = list(book["绩效指标"].iter_rows(values_only=True))
    header = rows[2]
    assert header[:5] == ("承办单位", "工单数", "签收及时（分子）", "签收及时（分母）", "签收及时率")
    by_name = {r[0]: r for r in rows[3:]}
    assert by_name[w.street_office.name][1:5] == (3, 2, 3, pytest.approx(0.6667))
    assert by_name["合计"][1] == 6
    assert book["绩效指标"].cell(row=4, column=5).number_format == "0.00%"
    assert [r[0] for r in book["指标口径"].iter_rows(min_row=2, max_row=7, values_only=True)][0] == "签收及时率"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT, object_type="kpi.report")
    assert entry.actor == w.supervisor and "2026-11-23" in entry.summary


def test_dashboard_page_and_every_panel(client, kpi_world):
    w = kpi_world.world
    fresh = services.dispatch(factories.make_order(w.operator, channel="web"), actor=w.dispatcher)
    page = get(client, w.supervisor, "/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "示意" in html and "/dashboard/panels/PANEL.json" in html
    for name in ("volumes", "rates", "categories", "streets", "overdue", "map"):
        response = client.get(f"/dashboard/panels/{name}.json")
        assert response.status_code == 200, name
        assert "elapsed_ms" in response.json()
    volumes = client.get("/dashboard/panels/volumes.json").json()
    assert volumes["today"] >= 1 and {c["channel"]: c["today"] for c in volumes["channels"]}["web"] == 1
    streets = client.get("/dashboard/panels/streets.json").json()
    assert len(streets["items"]) == 8 and streets["items"][0]["name"] == "曲阳路"
    map_ = client.get("/dashboard/panels/map.json").json()
    assert map_["schematic"] is True and map_["outline"]["features"][0]["properties"]["name"] == "虹口区"
    assert {s["name"]: s["open"] for s in map_["streets"]}["曲阳路"] >= 1
    assert client.get("/dashboard/panels/nothing.json").status_code == 404
    assert fresh.lead_unit_id == w.street_office.pk


def test_unit_leader_dashboard_counts_only_their_orders(client, kpi_world):
    w = kpi_world.world
    data = get(client, w.leader, "/dashboard/panels/overdue.json").json()
    units = {i["unit"] for i in data["items"]}
    assert units <= {w.street_office.name}
