"""Scoring: weights, N/A excluded, critical items veto, colour thresholds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yiwang.inspections import scoring

ITEMS = [
    {"name": "a", "weight": 3, "critical": True},
    {"name": "b", "weight": 2, "critical": False},
    {"name": "c", "weight": 1, "critical": False},
    {"name": "d", "weight": 4, "critical": False},
]


def test_weighted_score_with_na_excluded():
    result = scoring.compute(ITEMS, {"a": "pass", "b": "fail", "c": "na", "d": "pass"})
    assert result.score == Decimal("77.8")  # 7 of 9 applicable weight
    assert (result.colour, result.passed, result.vetoed, result.failed) == ("yellow", True, False, ["b"])


def test_all_pass_is_green_and_na_does_not_lower_the_score():
    result = scoring.compute(ITEMS, {"a": "pass", "b": "na", "c": "na", "d": "pass"})
    assert (result.score, result.colour, result.passed) == (Decimal("100.0"), "green", True)


def test_failed_critical_item_vetoes_whatever_the_score():
    result = scoring.compute(ITEMS, {"a": "fail", "b": "pass", "c": "pass", "d": "pass"})
    assert result.score == Decimal("70.0")
    assert (result.colour, result.passed, result.vetoed) == ("red", False, True)
    many = [{"name": str(i), "weight": 1, "critical": i == 0} for i in range(50)]
    near_perfect = scoring.compute(many, {str(i): "fail" if i == 0 else "pass" for i in range(50)})
    assert near_perfect.score == Decimal("98.0") and near_perfect.colour == "red"


@pytest.mark.parametrize("score, vetoed, colour", [
    ("90", False, "green"), ("89.9", False, "yellow"), ("75", False, "yellow"), ("74.9", False, "red"),
    ("100", True, "red"),
])
def test_colour_thresholds(score, vetoed, colour):
    assert scoring.colour_for(Decimal(score), vetoed) == colour


def test_everything_na_cannot_be_scored_and_a_missing_answer_is_an_error():
    with pytest.raises(scoring.NothingApplicable):
        scoring.compute(ITEMS, {"a": "na", "b": "na", "c": "na", "d": "na"})
    with pytest.raises(ValueError):
        scoring.compute(ITEMS, {"a": "pass"})
