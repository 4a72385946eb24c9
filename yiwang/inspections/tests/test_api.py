"""The REST API: scoped lists, JSON submission scored on the server, 复查, coded 4xx errors."""

from __future__ import annotations

from rest_framework.test import APIClient

from yiwang.inspections import services
from yiwang.inspections.models import Inspection, Rectification
from yiwang.inspections.xlsform import scored_items


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def payload(version, fail=()):
    return {"space": "HK-DX-0001", "version": version.pk, "extra": {"inspector": "甲"}, "answers": {
        i["name"]: {"answer": "fail" if i["name"] in fail else "pass", "note": "问题" if i["name"] in fail else ""}
        for i in scored_items(version.definition)}}


def test_submit_list_and_verify_through_the_api(iw):
    version = services.form_for(iw.s1)
    unit = client_for(iw.ent_a)
    created = unit.post("/api/v1/inspections/", payload(version, fail=["exits"]), format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["colour"], created.json()["passed"], created.json()["kind"]) == ("red", False, "self")
    assert [r["space"] for r in unit.get("/api/v1/inspections/").json()["results"]] == ["HK-DX-0001"]
    assert client_for(iw.ent_b).get("/api/v1/inspections/").json()["results"] == []
    rect = Rectification.objects.get()
    officer = client_for(iw.quyang_officer)
    assert officer.post(f"/api/v1/rectifications/{rect.pk}/verify/", {"decision": "accept"},
                        format="json").status_code == 409  # nothing submitted yet
    assert officer.get("/api/v1/rectifications/?overdue=1").json()["results"] == []
    assert client_for(iw.jiaxing_officer).get(f"/api/v1/rectifications/{rect.pk}/").status_code == 404


def test_api_errors_are_coded_4xx_and_write_nothing(iw):
    version = services.form_for(iw.s1)
    bad = payload(version)
    bad["answers"]["exits"] = {"answer": "fail", "note": ""}
    response = client_for(iw.ent_a).post("/api/v1/inspections/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"note-exits": ["不合格项请说明存在的问题"]}
    wrong = payload(version)
    wrong["answers"]["exits"] = {"answer": "maybe"}
    assert client_for(iw.ent_a).post("/api/v1/inspections/", wrong, format="json").status_code == 400
    assert client_for(iw.ent_b).post("/api/v1/inspections/", payload(version), format="json").status_code == 404
    assert client_for(iw.supervisor).post("/api/v1/inspections/", payload(version), format="json").status_code == 403
    assert not Inspection.objects.exists()
