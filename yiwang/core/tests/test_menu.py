"""The top menu offers each role its pages, and never a page that would refuse the user."""

import pytest
from django.test import Client

from yiwang.menu import entries_for

pytestmark = pytest.mark.django_db

ROLES = ["operator", "dispatcher", "handler", "leader", "supervisor", "deputy", "citizen", "enterprise", "admin"]


def labels(user) -> list[str]:
    return [label for label, _ in entries_for(user)]


def test_each_role_gets_its_own_pages(world):
    assert "派单队列" in labels(world.dispatcher) and "派单队列" not in labels(world.supervisor)
    assert {"类案治理", "突发预警", "绩效指标", "驾驶舱", "分析周报", "重复来电"} <= set(labels(world.supervisor))
    assert "治理任务" in labels(world.handler) and "类案治理" not in labels(world.handler)
    assert "本单位待办" in labels(world.handler) and "本单位待办" not in labels(world.operator)
    assert "绩效指标" in labels(world.leader) and "绩效指标" not in labels(world.handler)
    assert "地下空间" in labels(world.handler)  # a street office keeps its street's register
    assert "地下空间" not in labels(world.co_handler)  # a department is not a party of 随申查
    assert labels(world.citizen)[-1] == "我要反映" and labels(world.operator)[-1] == "登记工单"
    assert entries_for(None) == []


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_offered_opens(world, role):
    user = getattr(world, role)
    client = Client()
    client.force_login(user)
    for label, url in entries_for(user):
        response = client.get(url, follow=True)  # a section's home may redirect to its first page
        assert response.status_code == 200, f"{role}: {label} {url} answered {response.status_code}"


def test_the_page_shows_the_menu(world):
    client = Client()
    client.force_login(world.supervisor)
    html = client.get("/orders/").content.decode()
    assert 'href="/alerts/"' in html and "派单队列" not in html
