"""Scoring of a filled checklist: pure Python, the server's word on the result.

The form the unit sees on its phone never computes anything that counts; the
server recomputes from the answers alone.

- Each scored item has a weight (``weight`` column, default 1) and is answered
  pass, fail or na (不适用).
- Score = 100 × (weight of passed items) / (weight of passed + failed items).
  N/A items leave both numerator and denominator, so a garage without a
  civil-defence door is not marked down for it.
- A failed critical item (否决项, ``critical`` = yes) vetoes: the result fails and
  the colour is red whatever the score.
- Colour thresholds (documented for the office's published rules):
    green  (合格)     score >= 90 and no veto
    yellow (基本合格) 75 <= score < 90 and no veto
    red    (不合格)   score < 75, or any failed critical item
  Green and yellow pass; red fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

PASS, FAIL, NA = "pass", "fail", "na"
ANSWERS = (PASS, FAIL, NA)
ANSWER_LABELS = {PASS: "合格", FAIL: "不合格", NA: "不适用"}

GREEN_MIN = Decimal("90")
YELLOW_MIN = Decimal("75")

GREEN, YELLOW, RED = "green", "yellow", "red"
COLOUR_LABELS = {GREEN: "绿（合格）", YELLOW: "黄（基本合格）", RED: "红（不合格）"}


class NothingApplicable(ValueError):
    """Every scored item was answered N/A: there is nothing to score."""


@dataclass(frozen=True)
class Result:
    score: Decimal
    colour: str
    passed: bool
    vetoed: bool
    failed: list[str] = field(default_factory=list)  # names of failed items, in form order


def colour_for(score: Decimal, vetoed: bool) -> str:
    if vetoed or score < YELLOW_MIN:
        return RED
    return GREEN if score >= GREEN_MIN else YELLOW


def compute(items: list[dict], answers: dict[str, str]) -> Result:
    """``items``: the form's scored items (name, weight, critical); ``answers``: name → pass/fail/na.

    Every item must be answered; an unknown answer raises ValueError (the service
    validates the submission first, so this is a programming error here).
    """
    earned = applicable = Decimal(0)
    failed, vetoed = [], False
    for item in items:
        answer = answers.get(item["name"])
        if answer not in ANSWERS:
            raise ValueError(f"item {item['name']!r} has no valid answer: {answer!r}")
        if answer == NA:
            continue
        weight = Decimal(str(item.get("weight", 1)))
        applicable += weight
        if answer == PASS:
            earned += weight
        else:
            failed.append(item["name"])
            vetoed = vetoed or bool(item.get("critical"))
    if applicable == 0:
        # All N/A, or every applicable item weighs 0: no score; a failed critical item still vetoes.
        if not vetoed:
            raise NothingApplicable("no applicable scored item")
        score = Decimal(0)
    else:
        score = (earned * 100 / applicable).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    colour = colour_for(score, vetoed)
    return Result(score=score, colour=colour, passed=colour != RED, vetoed=vetoed, failed=failed)
