"""The names ``entities.extract`` finds, and that its faster pattern finds the same ones."""

import csv
import re

import pytest
from django.conf import settings

from yiwang.insight import entities

APPEALS = settings.DATA_DIR / "appeals_public_2019.csv"


def test_names_places_and_organisations_and_leaves_generic_words():
    found = entities.extract("A2区丽发新城小区附近的华泉置业有限公司在黄兴路步行街施工，3号线站口被占，我们小区物业不管。")
    assert {"丽发新城", "黄兴路", "3号线"} <= found  # the shortest name that ends in a place word
    assert not found & {"小区", "物业", "我们小区"}
    assert entities.extract("五组12栋") == frozenset()


@pytest.mark.skipif(not APPEALS.exists(), reason=f"needs the shipped appeals in {settings.DATA_DIR}")
def test_the_suffix_lookahead_finds_what_the_plain_alternation_finds(monkeypatch):
    """The lookahead only skips positions where no suffix can begin (entities._NAME)."""
    with open(APPEALS, encoding="utf-8") as f:
        texts = [f"{r['title']}。{r['detail']}" for r in csv.DictReader(f)][:1500]
    fast = [entities.extract.__wrapped__(text) for text in texts]
    plain = re.compile(r"([\u4e00-\u9fffA-Za-z0-9]{2,10}?(?:" + "|".join(map(re.escape, entities.SUFFIXES)) + r"))")
    monkeypatch.setattr(entities, "_NAME", plain)
    assert [entities.extract.__wrapped__(text) for text in texts] == fast
    assert sum(map(len, fast)) > 3000  # the texts do name places: the comparison means something
