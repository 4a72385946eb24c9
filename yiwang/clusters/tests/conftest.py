"""Orders about a few concrete problems, registered at chosen times, and a helper to run the job."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.core.calendar import SHANGHAI

# Two same-case appeals and a similar one about 玉田新村's restaurant fumes, and unrelated ones.
FUMES = [
    ("玉田新村3号楼下饭店油烟直排扰民", "玉田新村3号楼下的川菜饭店油烟直接排到居民楼，窗户都不敢开，请环保部门处理。"),
    ("玉田新村饭店油烟扰民再次反映", "玉田新村3号楼下那家川菜饭店油烟还是直排到居民楼，之前反映过没有解决，请尽快处理。"),
    ("玉田新村川菜饭店油烟直排问题仍未解决", "玉田新村3号楼下川菜饭店的油烟依旧直排居民楼，窗户不敢开，请环保部门再查。"),
]
NOISE = [
    ("赤峰路凉城新苑工地夜间施工噪音", "赤峰路凉城新苑旁的工地每天晚上十一点以后还在打桩施工，噪音很大，影响休息。"),
    ("凉城新苑旁工地夜间打桩噪音扰民", "凉城新苑旁边工地晚上十一点以后仍在打桩施工，噪音扰民，请查处。"),
]
OTHER = ("咨询公租房申请条件", "本人在虹口工作，想咨询公共租赁住房的申请条件和办理流程，需要哪些材料。")

T0 = dt.datetime(2026, 9, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def order_at(make_order):
    """An order with this text registered at ``T0 + days`` (phone differs per call unless given)."""
    counter = iter(range(10_000))

    def make(text, days=0.0, **kw):
        title, content = text
        kw.setdefault("appellant_phone", f"1390000{next(counter):04d}")
        return make_order(title=title, content=content, now=T0 + dt.timedelta(days=days), **kw)

    return make
