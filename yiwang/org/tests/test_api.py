"""Reference data, the current user and the three ways to authenticate, over HTTP."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from yiwang.accounts.models import ApiKey
from yiwang.demo.factories import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def get(user, path, params=None):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()


def codes(page) -> list[str]:
    return [row["code"] for row in page["results"]]


def test_streets_are_listed_and_searchable(world):
    page = get(world.handler, "/api/v1/streets/")
    assert page["count"] == 8
    assert page["results"][0] == {"code": "310109009", "name": "欧阳路"}
    assert codes(get(world.handler, "/api/v1/streets/", {"q": "曲阳"})) == ["310109010"]
    assert get(world.handler, "/api/v1/streets/310109010/") == {"code": "310109010", "name": "曲阳路"}


def test_committees_filter_by_street(world):
    page = get(world.operator, "/api/v1/committees/", {"street": "310109009", "limit": 500})
    assert page["count"] > 0
    assert {row["street"]["code"] for row in page["results"]} == {"310109009"}
    assert get(world.operator, "/api/v1/committees/310109009002/")["name"] == "欧二居委会"


def test_units_filter_by_kind_and_street(world):
    offices = get(world.dispatcher, "/api/v1/units/", {"kind": "street"})
    assert offices["count"] == 8
    assert codes(get(world.dispatcher, "/api/v1/units/", {"kind": "street", "street": "310109010"})) == [
        "ST-310109010"]
    jgw = get(world.dispatcher, "/api/v1/units/JGW/")
    assert (jgw["name"], jgw["kind"], jgw["kind_label"], jgw["street"]) == ("区建设管理委员会", "department", "委办局", None)


def test_categories_filter_by_level_parent_and_prefix(world):
    top = get(world.operator, "/api/v1/categories/", {"level": 1, "limit": 100})
    assert top["results"][0] == {"code": "01", "name": "城乡建设", "level": 1, "path": "城乡建设", "parent": None,
                                 "active": True}
    children = get(world.operator, "/api/v1/categories/", {"parent": "01", "limit": 100})
    assert children["count"] > 0 and {row["parent"] for row in children["results"]} == {"01"}
    within = get(world.operator, "/api/v1/categories/", {"within": "0102", "limit": 100})
    assert codes(within)[0] == "0102" and all(c.startswith("0102") for c in codes(within))
    assert get(world.operator, "/api/v1/categories/0102001/")["path"] == "城乡建设/城市建设和市政管理/园林绿化环卫"


def test_unknown_reference_filter_is_a_400(world):
    client = APIClient()
    client.force_authenticate(world.operator)
    response = client.get("/api/v1/units/", {"street": "nope"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["street"]


def test_me_tells_role_and_unit(world):
    me = get(world.handler, "/api/v1/me/")
    assert (me["username"], me["role"], me["role_label"]) == ("handler", "unit_handler", "承办人员")
    assert me["unit"] == {"code": "ST-310109010", "name": "曲阳路街道办事处", "kind": "street"}
    assert me["sees_personal_data"] is True
    assert get(world.supervisor, "/api/v1/me/")["unit"] is None


def test_token_for_username_and_password_authenticates(world):
    client = APIClient()
    issued = client.post("/api/v1/auth/token/", {"username": "disp", "password": DEMO_PASSWORD}, format="json")
    assert issued.status_code == 200
    token = issued.json()["token"]
    assert token == Token.objects.get(user=world.dispatcher).key
    assert issued.json()["user"]["role"] == "dispatcher"
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").json()["username"] == "disp"


def test_wrong_password_gets_no_token(world):
    response = APIClient().post("/api/v1/auth/token/", {"username": "disp", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert not Token.objects.filter(user=world.dispatcher).exists()


def test_api_key_header_and_session_authenticate(world):
    _, raw = ApiKey.generate(name="city-bridge", user=world.system)
    client = APIClient()
    assert client.get("/api/v1/me/", headers={"X-API-Key": raw}).json()["username"] == "sys"
    assert client.get("/api/v1/me/", headers={"X-API-Key": "yw_revoked-or-made-up"}).status_code == 401

    session = APIClient()
    assert session.login(username="op", password=DEMO_PASSWORD)
    assert session.get("/api/v1/me/").json()["role"] == "operator"


def test_anonymous_requests_are_refused(world):
    client = APIClient()
    for path in ("/api/v1/me/", "/api/v1/streets/", "/api/v1/workorders/"):
        assert client.get(path).status_code == 401
