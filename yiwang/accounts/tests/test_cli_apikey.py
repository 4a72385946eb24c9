"""`yiwang apikey create NAME` prints a key that then authenticates REST and Open311 calls."""

import pytest

from yiwang import cli
from yiwang.accounts.models import ApiKey
from yiwang.accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_apikey_create_prints_a_working_key(capsys, client):
    assert cli.main(["apikey", "create", "city-bridge"]) == 0
    raw = capsys.readouterr().out.strip()
    key = ApiKey.objects.get(name="city-bridge")
    assert raw.startswith("yw_") and key.key_hash != raw and raw.startswith(key.prefix)
    assert key.user.role == Role.SYSTEM
    response = client.get("/api/v1/me/", HTTP_X_API_KEY=raw)
    assert response.status_code == 200 and response.json()["username"] == "api-city-bridge"
    assert client.get("/api/v1/me/", HTTP_X_API_KEY=raw + "x").status_code == 401


def test_apikey_for_an_existing_user_and_errors(capsys, world):
    assert cli.main(["apikey", "create", "ops-console", "--user", world.operator.username]) == 0
    assert ApiKey.objects.get(name="ops-console").user == world.operator
    assert cli.main(["apikey", "create", "ops-console"]) == 2
    assert "已存在" in capsys.readouterr().err
    assert cli.main(["apikey", "create", "x", "--user", "nobody"]) == 2
    assert ApiKey.objects.count() == 1
