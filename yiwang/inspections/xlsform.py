"""Reading checklists authored as XLSForm spreadsheets (the ODK/KoboToolbox standard).

pyxform checks the form as an XLSForm; this module adds the rules of a
checklist and turns the form into the definition the pages render and the
scorer reads. Extra survey columns:

- ``weight``: the item's weight in the score (a number >= 0; empty means 1);
- ``critical``: ``yes`` for a 否决项 (a failure fails the whole inspection), ``no`` or empty otherwise;
- ``legal_basis``: the law or rule the item checks (法律依据), shown to the unit and on rectifications.

A scored item is a ``select_one`` question whose list has exactly the choices
``pass``, ``fail`` and ``na``. Besides those, a form may hold notes, groups
(sections) and a few plain questions (text, integer, decimal, date, other
select_one lists) whose answers are kept but not scored. Skip logic and
repeats are refused: the phone page renders every item, so a form that relies
on them would be filled wrongly.

Every problem is reported with its sheet and row (the spreadsheet's own row
number, header = row 1) so the author can find it.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import openpyxl
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from .scoring import ANSWERS

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 500
SCORED_CHOICES = set(ANSWERS)
PLAIN_TYPES = {"text", "integer", "decimal", "date"}
# Metadata XLSForm fills by itself on a device; meaningless on our page, so skipped quietly.
METADATA_TYPES = {"start", "end", "today", "deviceid", "username", "phonenumber", "simserial", "subscriberid",
                  "audit", "calculate"}
GROUP_TYPES = {"begin_group", "begin group", "end_group", "end group"}
UNSUPPORTED_COLUMNS = {"relevant": "跳题逻辑（relevant）", "constraint": "约束（constraint）",
                       "repeat_count": "重复组（repeat_count）", "choice_filter": "选项过滤（choice_filter）"}
YES, NO = {"yes", "true", "1", "是"}, {"no", "false", "0", "否", ""}


@dataclass(frozen=True)
class FormError:
    sheet: str
    row: int | None
    message: str

    def __str__(self) -> str:
        where = f"「{self.sheet}」表" + (f"第 {self.row} 行" if self.row else "")
        return f"{where}：{self.message}"


class ChecklistInvalid(Exception):
    def __init__(self, errors: list[FormError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def parse_checklist(content: bytes) -> dict:
    """The checklist definition of an XLSForm file, or ChecklistInvalid with every problem found."""
    sheets = _read_workbook(content)
    errors: list[FormError] = []
    rows = _sheet_rows(sheets, "survey", errors)
    choice_rows = _sheet_rows(sheets, "choices", errors)
    settings = _settings(sheets, errors)
    if errors:
        raise ChecklistInvalid(errors)
    lists = _choice_lists(choice_rows)
    row_of = {row["name"]: row["_row"] for row in rows if row.get("name")}
    errors += _check_rows(rows, lists)
    try:
        result = convert(content, file_type=".xlsx")
    except PyXFormError as error:
        mapped = _map_pyxform_error(str(error), rows)
        if not any(e.sheet == mapped.sheet and e.row == mapped.row for e in errors):
            errors.append(mapped)
        raise ChecklistInvalid(errors) from None
    if errors:
        raise ChecklistInvalid(errors)
    definition = _definition(result._pyxform, settings, row_of)
    if not any(item["kind"] == "scored" for section in definition["sections"] for item in section["items"]):
        raise ChecklistInvalid([FormError("survey", None, "表单中没有计分检查项（选项为 pass/fail/na 的 select_one 题）")])
    return definition


def scored_items(definition: dict) -> list[dict]:
    return [item for section in definition["sections"] for item in section["items"] if item["kind"] == "scored"]


# --- reading the workbook ---------------------------------------------------------------------

def _read_workbook(content: bytes) -> dict[str, list[tuple]]:
    if len(content) > MAX_FILE_BYTES:
        raise ChecklistInvalid([FormError("文件", None, "文件超过 2 MB")])
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise ChecklistInvalid([FormError("文件", None, "不是 xlsx 文件（请用 Excel/WPS 另存为 .xlsx）")])
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged file; all mean the same to the author
        raise ChecklistInvalid([FormError("文件", None, "无法读取该 xlsx 文件，文件可能已损坏")]) from None
    try:
        return {ws.title.strip().lower(): list(ws.iter_rows(max_row=MAX_ROWS + 1, values_only=True))
                for ws in book.worksheets}
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _sheet_rows(sheets, name: str, errors: list[FormError]) -> list[dict]:
    """Rows of a sheet as dicts keyed by lower-cased header, each with its row number in ``_row``."""
    if name not in sheets:
        errors.append(FormError(name, None, f"缺少「{name}」工作表"))
        return []
    raw = sheets[name]
    if not raw or not any(_cell(v) for v in raw[0]):
        errors.append(FormError(name, 1, "第一行应为列名"))
        return []
    if len(raw) > MAX_ROWS:
        errors.append(FormError(name, MAX_ROWS + 1, f"行数超过 {MAX_ROWS}"))
        return []
    headers = [_cell(v).lower() for v in raw[0]]
    required = {"survey": ("type", "name"), "choices": ("list_name", "name")}[name]
    for column in required:
        if column not in headers:
            errors.append(FormError(name, 1, f"缺少「{column}」列"))
    out = []
    for number, values in enumerate(raw[1:], start=2):
        row = {h: _cell(v) for h, v in zip(headers, values) if h}
        if any(row.values()):
            row["_row"] = number
            out.append(row)
    return out


def _settings(sheets, errors: list[FormError]) -> dict:
    if "settings" not in sheets or len(sheets["settings"]) < 2:
        errors.append(FormError("settings", None, "缺少「settings」工作表或其第二行（需要 form_id 和 form_title）"))
        return {}
    headers = [_cell(v).lower() for v in sheets["settings"][0]]
    values = dict(zip(headers, (_cell(v) for v in sheets["settings"][1])))
    for column, label in (("form_id", "表单编号"), ("form_title", "表单名称")):
        if not values.get(column):
            errors.append(FormError("settings", 2, f"{column}（{label}）不能为空"))
    if values.get("form_id") and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]{0,63}", values["form_id"]):
        errors.append(FormError("settings", 2, "form_id 只能包含字母、数字、下划线和连字符，且以字母开头"))
    return values


def _choice_lists(rows: list[dict]) -> dict[str, set[str]]:
    lists: dict[str, set[str]] = {}
    for row in rows:
        if row.get("list_name"):
            lists.setdefault(row["list_name"], set()).add(row.get("name", ""))
    return lists


# --- our checks -----------------------------------------------------------------------------

def _check_rows(rows: list[dict], lists: dict[str, set[str]]) -> list[FormError]:
    errors = []
    for row in rows:
        errors += [FormError("survey", row["_row"], message) for message in _row_problems(row, lists)]
    return errors


def _row_problems(row: dict, lists: dict[str, set[str]]) -> list[str]:
    kind = re.sub(r"\s+", " ", row.get("type", "")).strip()
    base = kind.split(" ")[0] if kind else ""
    problems = []
    if not kind:
        return ["type（题型）不能为空"]
    weight, critical, basis = row.get("weight", ""), row.get("critical", "").lower(), row.get("legal_basis", "")
    for column, label in UNSUPPORTED_COLUMNS.items():
        if row.get(column):
            problems.append(f"不支持{label}：手机表单会显示全部检查项")
    if base in ("begin_repeat", "end_repeat") or kind in ("begin repeat", "end repeat"):
        return problems + ["不支持重复组（repeat）"]
    scored = False
    if base in ("select_one", "select_one_from_file") or kind.startswith("select one "):
        list_name = kind.split(" ")[-1]
        choices = lists.get(list_name)
        scored = choices == SCORED_CHOICES
        if choices is not None and not scored and (weight or critical in YES):
            problems.append(f"计分检查项的选项列表「{list_name}」必须恰好是 pass、fail、na 三项"
                            f"（现为：{'、'.join(sorted(choices)) or '空'}）")
    elif kind not in GROUP_TYPES and base not in PLAIN_TYPES | METADATA_TYPES | {"note"} \
            and base not in ("select_multiple",):
        problems.append(f"不支持的题型「{kind}」（支持：select_one、note、text、integer、decimal、date、分组）")
    elif base == "select_multiple":
        problems.append("不支持多选题（select_multiple）：检查项请用 select_one 的 pass/fail/na")
    if weight:
        try:
            value = Decimal(weight)
        except InvalidOperation:
            problems.append(f"weight（权重）「{weight}」不是数字")
        else:
            if not value.is_finite() or value < 0:
                problems.append(f"weight（权重）「{weight}」必须是不小于 0 的数")
            elif value > 1000:
                problems.append(f"weight（权重）「{weight}」过大（上限 1000）")
    if critical not in YES | NO:
        problems.append(f"critical（否决项）只能填 yes 或 no，现为「{row.get('critical')}」")
    if not scored and (weight or critical in YES or basis) and base not in ("select_one",) \
            and not kind.startswith("select one "):
        problems.append("weight、critical、legal_basis 只能用于计分检查项（pass/fail/na 的 select_one 题）")
    if scored and not row.get("label") and not any(k.startswith("label") and v for k, v in row.items()):
        problems.append("检查项缺少 label（检查内容）")
    return problems


def _map_pyxform_error(message: str, rows: list[dict]) -> FormError:
    """pyxform's message with the sheet and row it names, or the row of the value it quotes."""
    match = re.search(r"\[row\s*:\s*(\d+)\]", message)
    row = int(match.group(1)) if match else None
    lowered = message.lower()
    sheet = "choices" if "'choices' sheet" in lowered else "settings" if "'settings' sheet" in lowered else "survey"
    text = re.sub(r"^\s*\[row\s*:\s*\d+\]\s*", "", message)
    if row is None:
        quoted = re.findall(r"'([^']+)'", message)
        for candidate in quoted:
            hit = next((r["_row"] for r in rows if candidate in (r.get("type"), r.get("name"))), None)
            if hit:
                row = hit
                break
    return FormError(sheet, row, f"XLSForm 格式错误：{text}")


# --- the definition -----------------------------------------------------------------------------

def _label(node: dict) -> str:
    label = node.get("label", "")
    if isinstance(label, dict):  # several languages: prefer Chinese, else the first
        for key, value in label.items():
            if "zh" in key.lower() or "chinese" in key.lower() or "中文" in key:
                return value
        return next(iter(label.values()), "")
    return label or ""


def _definition(pyxform: dict, settings: dict, row_of: dict[str, int]) -> dict:
    """Sections in document order; a group is a section, and items between groups form unnamed ones."""
    sections: list[dict] = []

    def add(item: dict, name: str, label: str) -> None:
        if not sections or sections[-1]["label"] != label or sections[-1]["name"] != name:
            sections.append({"name": name, "label": label, "items": []})
        sections[-1]["items"].append(item)

    def walk(children: list[dict], name: str, path: list[str]) -> None:
        for node in children:
            if node.get("type") == "group":
                if node.get("control", {}).get("bodyless"):
                    continue  # pyxform's own meta group (instanceID)
                walk(node.get("children", []), node["name"], path + [_label(node) or node["name"]])
                continue
            item = _item(node, row_of)
            if item is not None:
                add(item, name, " / ".join(path))

    walk(pyxform.get("children", []), "", [])
    return {
        "form_id": settings["form_id"],
        "title": settings["form_title"],
        "version": settings.get("version", ""),
        "space_types": [s.strip() for s in re.split(r"[,\s，]+", settings.get("space_types", "")) if s.strip()],
        "sections": sections,
    }


def _item(node: dict, row_of: dict[str, int]) -> dict | None:
    kind = node.get("type", "")
    name = node.get("name", "")
    base = {"name": name, "label": _label(node), "hint": _label({"label": node.get("hint", "")}),
            "row": row_of.get(name)}
    if kind == "select one":
        choices = [c["name"] for c in node.get("choices", [])]
        if set(choices) == SCORED_CHOICES:
            weight = node.get("weight", "") or "1"
            return {**base, "kind": "scored", "weight": float(Decimal(weight)),
                    "critical": str(node.get("critical", "")).strip().lower() in YES,
                    "legal_basis": node.get("legal_basis", "")}
        return {**base, "kind": "choice", "required": _required(node),
                "choices": [[c["name"], _label(c)] for c in node.get("choices", [])]}
    if kind == "note":
        return {**base, "kind": "note"}
    if kind in PLAIN_TYPES:
        return {**base, "kind": kind, "required": _required(node)}
    return None  # metadata


def _required(node: dict) -> bool:
    value = node.get("bind", {}).get("required", "")
    return str(value).lower() in ("yes", "true()", "true")
