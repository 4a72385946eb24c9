"""Parsing XLSForm checklists: the shipped ones, good forms, and bad ones rejected with sheet and row."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiwang.inspections.xlsform import ChecklistInvalid, parse_checklist, scored_items

from .conftest import xlsform

CHECKLISTS = Path(__file__).resolve().parents[1] / "checklists"


def errors_of(content: bytes) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ChecklistInvalid) as caught:
        parse_checklist(content)
    return [(e.sheet, e.row, e.message) for e in caught.value.errors]


@pytest.mark.parametrize("name, space_types, items, critical", [
    ("civil_defence_self_check.xlsx", ["civil_defence"], 24, 5),
    ("garage_self_check.xlsx", ["garage", "basement", "mall", "other"], 25, 4),
])
def test_shipped_checklists_parse_with_weights_critical_items_and_legal_basis(name, space_types, items, critical):
    definition = parse_checklist((CHECKLISTS / name).read_bytes())
    scored = scored_items(definition)
    assert definition["space_types"] == space_types
    assert len(scored) == items
    assert sum(i["critical"] for i in scored) == critical
    assert all(i["legal_basis"] and i["weight"] > 0 and i["label"] for i in scored)
    assert all(i["row"] for i in scored)


def test_good_form_keeps_sections_weights_and_plain_questions():
    definition = parse_checklist(xlsform([
        ["note", "intro", "说明", None, None, None],
        ["begin_group", "fire", "消防", None, None, None],
        ["select_one pfn", "exits", "通道畅通", "3", "yes", "消防法第二十八条"],
        ["select_one pfn", "lights", "应急照明", None, None, None],
        ["end_group", None, None, None, None, None],
        ["integer", "staff", "在岗人数", None, None, None],
    ]))
    assert [(s["name"], s["label"]) for s in definition["sections"]] == [("", ""), ("fire", "消防"), ("", "")]
    exits, lights = definition["sections"][1]["items"]
    assert (exits["weight"], exits["critical"], exits["legal_basis"], exits["row"]) == (3.0, True, "消防法第二十八条", 4)
    assert (lights["weight"], lights["critical"]) == (1.0, False)  # empty weight means 1
    assert definition["sections"][2]["items"][0]["kind"] == "integer"
    assert (definition["form_id"], definition["title"], definition["space_types"]) == ("test_form", "测试检查表", ["garage"])


def test_bad_weight_and_critical_are_reported_with_their_rows():
    errors = errors_of(xlsform([
        ["select_one pfn", "a", "甲", "abc", None, None],
        ["select_one pfn", "b", "乙", "-1", None, None],
        ["select_one pfn", "c", "丙", "1", "maybe", None],
        ["select_one pfn", "d", "丁", "1", "yes", None],
    ]))
    assert [(sheet, row) for sheet, row, _ in errors] == [("survey", 2), ("survey", 3), ("survey", 4)]
    assert "不是数字" in errors[0][2] and "不小于 0" in errors[1][2] and "yes 或 no" in errors[2][2]


def test_scored_item_needs_pass_fail_na_choices():
    choices = [["list_name", "name", "label"], ["yn", "yes", "是"], ["yn", "no", "否"]]
    errors = errors_of(xlsform([["select_one yn", "a", "甲", "2", None, None]], choices=choices))
    assert errors[0][:2] == ("survey", 2)
    assert "pass、fail、na" in errors[0][2]


def test_weight_on_a_text_question_is_refused():
    errors = errors_of(xlsform([["select_one pfn", "a", "甲", None, None, None], ["text", "b", "乙", "2", None, None]]))
    assert errors == [("survey", 3, "weight、critical、legal_basis 只能用于计分检查项（pass/fail/na 的 select_one 题）")]


def test_pyxform_errors_are_mapped_to_their_row():
    errors = errors_of(xlsform([["select_one pfn", "a", "甲", None, None, None],
                                ["select_one nolist", "b", "乙", None, None, None]]))
    assert errors[0][:2] == ("survey", 3)
    assert "nolist" in errors[0][2]
    duplicate = errors_of(xlsform([["select_one pfn", "a", "甲", None, None, None],
                                   ["select_one pfn", "a", "乙", None, None, None]]))
    assert duplicate[0][:2] == ("survey", 3) and "XLSForm" in duplicate[0][2]
    unmatched = errors_of(xlsform([["begin_group", "g", "组", None, None, None],
                                   ["select_one pfn", "a", "甲", None, None, None]]))
    assert unmatched[0][:2] == ("survey", 2)


def test_unsupported_types_and_skip_logic_are_refused():
    errors = errors_of(xlsform([
        ["type", "name", "label", "relevant"],
        ["select_one pfn", "a", "甲", None],
        ["geopoint", "where", "位置", None],
        ["select_one pfn", "b", "乙", "${a} = 'fail'"],
        ["begin_repeat", "r", "重复", None],
    ]))
    rows = {row: message for _, row, message in errors}
    assert "不支持的题型" in rows[3] and "relevant" in rows[4] and "repeat" in rows[5]


def test_missing_sheets_settings_and_scored_items():
    no_choices = errors_of(xlsform([["select_one pfn", "a", "甲", None, None, None]], choices=False))
    assert no_choices[0][:2] == ("choices", None)
    no_id = errors_of(xlsform([["select_one pfn", "a", "甲", None, None, None]],
                              settings=[["form_title"], ["标题"]]))
    assert no_id[0][:2] == ("settings", 2) and "form_id" in no_id[0][2]
    assert "没有计分检查项" in errors_of(xlsform([["text", "a", "甲", None, None, None]]))[0][2]


def test_not_an_xlsx_file():
    assert errors_of(b"%PDF-1.4 not a spreadsheet")[0][2].startswith("不是 xlsx 文件")
    assert "损坏" in errors_of(b"PK\x03\x04" + b"\x00" * 100)[0][2] or "不是 xlsx" in errors_of(b"PK\x03\x04")[0][2]
