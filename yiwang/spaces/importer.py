"""Bulk import of the register from xlsx, idempotent by code: a new code creates, a known one updates.

Each row goes through the same :class:`~.forms.SpaceForm` as the staff page, in its
own savepoint, so a bad row is reported (row number, column, problem) and the
good rows are kept. Choice columns take the labels people read (高风险, 地下车库);
the street and the using unit are given by name. A using unit named for the
first time is created with the row (and rolled back with it if the row fails).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.db import transaction
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from yiwang.core.audit import audit
from yiwang.core.errors import Invalid
from yiwang.core.models import AuditEntry
from yiwang.exchange.export import safe_value
from yiwang.org.models import Street

from . import access
from .forms import SpaceForm
from .models import CivilDefenceGrade, RiskGrade, Space, SpaceType, UsingUnit
from .services import space_save

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024

# (column header, form field, example value for the template)
COLUMNS = [
    ("编码", "code", "HK-DX-0101"),
    ("名称", "name", "瑞虹新城3期地下车库"),
    ("地址", "address", "虹口区临平路333号"),
    ("街道", "street", "嘉兴路街道"),
    ("纬度", "latitude", 31.2617),
    ("经度", "longitude", 121.4968),
    ("类型", "space_type", SpaceType.GARAGE.label),
    ("面积(㎡)", "area_m2", 8200),
    ("地下层数", "floors", 2),
    ("使用单位", "using_unit", "上海瑞虹物业管理有限公司"),
    ("安全负责人", "safety_contact", "张伟"),
    ("安全负责人电话", "safety_phone", "13800001234"),
    ("防护等级", "civil_defence_grade", CivilDefenceGrade.NONE.label),
    ("风险等级", "risk_grade", RiskGrade.MEDIUM.label),
]
HEADERS = [c[0] for c in COLUMNS]
REQUIRED = {"编码", "名称", "地址", "街道", "类型"}
_LABEL_OF_FIELD = {f: h for h, f, _ in COLUMNS}
_CHOICES = {
    "space_type": {label: value for value, label in SpaceType.choices},
    "civil_defence_grade": {label: value for value, label in CivilDefenceGrade.choices},
    "risk_grade": {label: value for value, label in RiskGrade.choices},
}


@dataclass
class RowError:
    row: int
    code: str
    column: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len({e.row for e in self.errors})


def template_xlsx() -> bytes:
    """The empty register with its headers, one example row and the allowed values on a second sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "地下空间"
    sheet.append(HEADERS)
    sheet.append([example for _, _, example in COLUMNS])
    for index, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, len(header) * 2 + 4)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "说明"])
    notes.append(["编码", "必填；如 HK-DX-0001；已存在的编码将更新该行"])
    notes.append(["街道", "必填；" + "、".join(Street.objects.order_by("code").values_list("name", flat=True))])
    notes.append(["类型", "必填；" + "、".join(_CHOICES["space_type"])])
    notes.append(["防护等级", "选填；" + "、".join(_CHOICES["civil_defence_grade"])])
    notes.append(["风险等级", "选填（默认中风险）；" + "、".join(_CHOICES["risk_grade"])])
    notes.append(["纬度/经度", "选填；WGS-84 坐标，须在上海市范围内"])
    notes.append(["使用单位", "选填；按名称匹配，新单位将自动登记"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_rows(content: bytes) -> list[tuple[int, dict]]:
    """(sheet row number, {header: value}) for each non-empty row; Invalid for a file we cannot read."""
    if not content:
        raise Invalid("文件是空的", field="file")
    if len(content) > MAX_BYTES:
        raise Invalid("文件超过 5 MB，请分批导入", field="file")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError, Exception) as error:  # zip, xml and format errors
        raise Invalid(f"无法读取该文件，请上传 .xlsx 格式的登记表（{type(error).__name__}）", field="file") from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    missing = [h for h in HEADERS if h in REQUIRED and h not in header]
    if missing:
        raise Invalid(f"第 1 行缺少必需的列：{'、'.join(missing)}（请使用导入模板）", field="file")
    out = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        out.append((number, {h: v for h, v in zip(header, values) if h}))
        if len(out) > MAX_ROWS:
            raise Invalid(f"一次最多导入 {MAX_ROWS} 行，请分批导入", field="file")
    book.close()
    return out


def import_spaces(content: bytes, *, actor, request=None) -> ImportResult:
    """Create or update each row's space; every row is checked, good rows are kept."""
    if not access.can_edit_register(actor):
        raise Invalid("当前账号无权导入地下空间", code="forbidden")
    rows = read_rows(content)
    streets = {s.name: s for s in Street.objects.all()}
    existing = {s.code: s for s in Space.objects.filter(code__in=[_text(r.get("编码")).upper() for _, r in rows])}
    result = ImportResult()
    seen: dict[str, int] = {}
    for number, row in rows:
        code = "".join(_text(row.get("编码")).split()).upper()
        if code in seen:
            result.errors.append(RowError(number, code, "编码", f"与第 {seen[code]} 行编码重复"))
            continue
        seen[code] = number
        _import_row(number, code, row, actor=actor, streets=streets, existing=existing.get(code), result=result)
    audit(actor=actor, action=AuditEntry.Action.CREATE, object_type="spaces.space", object_id="import",
          summary=f"导入地下空间：新增 {result.created}，更新 {result.updated}，失败 {result.failed}", request=request)
    return result


def _import_row(number: int, code: str, row: dict, *, actor, streets, existing: Space | None,
                result: ImportResult) -> None:
    if existing is not None and not access.can_edit_space(actor, existing):
        result.errors.append(RowError(number, code, "编码", "该编码的地下空间不属于本街道，无权更新"))
        return
    data, problems = _form_data(row, code, streets)
    if problems:
        result.errors.extend(RowError(number, code, column, message) for column, message in problems)
        return
    try:
        with transaction.atomic():
            unit_name = _text(row.get("使用单位"))
            if unit_name:
                unit, _ = UsingUnit.objects.get_or_create(name=unit_name[:128])
                data["using_unit"] = unit.pk
            elif existing is not None and existing.using_unit_id:
                data["using_unit"] = ""  # the column was emptied: the space has no using unit any more
            form = SpaceForm(data, instance=existing, user=actor)
            if not form.is_valid():
                for name, messages in form.errors.items():
                    for message in messages:
                        result.errors.append(RowError(number, code, _LABEL_OF_FIELD.get(name, "整行"), message))
                raise _RowFailed
            space_save(form, actor=actor)
    except _RowFailed:
        return
    if existing is None:
        result.created += 1
    else:
        result.updated += 1


class _RowFailed(Exception):
    """Rolls back the row's savepoint (a using unit it may have created)."""


def _form_data(row: dict, code: str, streets: dict) -> tuple[dict, list[tuple[str, str]]]:
    problems = []
    data = {"code": code, "active": "on"}
    for header, name, _ in COLUMNS:
        if name in ("code", "using_unit"):
            continue
        value = _text(row.get(header))
        if name == "street":
            # People write "嘉兴路街道" or "嘉兴路"; the register keeps the short name.
            street = (streets.get(value) or streets.get(value.removesuffix("街道"))) if value else None
            if value and street is None:
                problems.append((header, f"未知街道「{value}」；应为 {'、'.join(streets)} 之一"))
            data[name] = street.pk if street else ""
        elif name in _CHOICES and value:
            choice = _CHOICES[name].get(value) or (value if value in _CHOICES[name].values() else None)
            if choice is None:
                problems.append((header, f"「{value}」不是有效的{header}；可选：{'、'.join(_CHOICES[name])}"))
            data[name] = choice or ""
        elif name == "risk_grade" and not value:
            data[name] = RiskGrade.MEDIUM
        elif name == "civil_defence_grade" and not value:
            data[name] = CivilDefenceGrade.NONE
        elif name == "floors" and not value:
            data[name] = 1
        else:
            data[name] = value
    return data, problems


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def error_report_xlsx(errors: list[dict]) -> bytes:
    """The failed rows: row number, code, column, problem (cells guarded against formula injection)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入错误")
    sheet.append(["行号", "编码", "列", "问题"])
    for error in errors:
        sheet.append([error["row"], safe_value(sheet, error["code"]), error["column"], safe_value(sheet, error["message"])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
