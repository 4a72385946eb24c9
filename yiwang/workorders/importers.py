"""Bulk import of appeals from CSV or Excel (批量导入).

Every row is validated first and each problem is reported by row and column.
Then either nothing is written when any row is bad (all or nothing, the
command line's mode), or the good rows are written and the bad ones reported
(the import page's default). Orders are created through
:func:`services.register` with an idempotency key made from the row's content
(plus its occurrence number, for identical rows in one file), so importing the
same file again creates nothing, and neither does re-importing a corrected
file whose good rows went in the first time.

Spreadsheets from the field are messy: headers may sit below a title row or
be split over two rows under a merged group label, cells carry tabs and
newlines as padding, and a date column mixes real date cells, dates typed as
text in several formats and Excel serial numbers. Both English and Chinese
headers are accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from yiwang.core.audit import audit
from yiwang.core.calendar import SHANGHAI
from yiwang.core.errors import DomainError, Invalid
from yiwang.core.models import AuditEntry
from yiwang.org.models import Category, Street

from . import services
from .models import AppealType, Channel

# canonical column -> accepted header names (compared without spaces, case-insensitively)
COLUMNS = {
    "title": ("title", "标题", "主题", "诉求标题", "留言主题"),
    "content": ("content", "detail", "内容", "详情", "诉求内容", "留言详情"),
    "time": ("time", "时间", "登记时间", "诉求时间", "留言时间"),
    "appeal_type": ("appeal_type", "诉求类型"),
    "category": ("category", "分类", "诉求分类"),
    "street": ("street", "街道"),
    "address": ("address", "地址"),
    "appellant_name": ("appellant_name", "诉求人", "姓名"),
    "appellant_phone": ("appellant_phone", "phone", "电话", "联系电话"),
    "external_ref": ("external_ref", "外部编号", "编号", "留言编号"),
}
LABELS = {"title": "标题", "content": "内容", "time": "时间", "appeal_type": "诉求类型", "category": "分类",
          "street": "街道", "address": "地址", "appellant_name": "诉求人", "appellant_phone": "电话",
          "external_ref": "编号", "urgency": "紧急程度", "committee": "街道"}
REQUIRED = ("title", "content")
HEADER_SEARCH_ROWS = 5
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y年%m月%d日%H时%M分",
                "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y%m%d %H:%M:%S", "%Y%m%d")
# Excel serial day numbers that may stand for a date typed into a text cell (1954 to 2119).
SERIAL_RANGE = (20000, 80000)
PADDING = " \t\r\n\u3000\xa0"
ALL_OR_NOTHING, VALID_ROWS = "all_or_nothing", "valid_rows"
Progress = Callable[[int, int], None]  # (rows done, rows in all)
PROGRESS_EVERY = 100


@dataclass
class RowError:
    row: int  # the row number the spreadsheet shows (the header is a row too)
    column: str
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.problem}"


@dataclass
class ParsedRow:
    row: int
    intake: services.Intake
    time: dt.datetime | None


@dataclass
class ImportReport:
    path: str
    sha256: str
    rows: int = 0
    created: int = 0
    existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    mode: str = ALL_OR_NOTHING

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def skipped(self) -> int:
        """Data rows not written: every row when all or nothing failed, else the rows with a problem."""
        if self.dry_run or (self.errors and self.mode == ALL_OR_NOTHING):
            return self.rows
        return len({e.row for e in self.errors if e.row > 0})

    def as_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "rows": self.rows, "created": self.created,
                "existing": self.existing, "dry_run": self.dry_run, "ok": self.ok, "mode": self.mode,
                "errors": [str(e) for e in self.errors]}


# --- reading -------------------------------------------------------------------

XLSX_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = (".csv", *XLSX_SUFFIXES)


def read_table(source: Path | bytes, name: str = "") -> list[list]:
    """All rows of the first sheet (XLSX) or of the file (CSV), as raw cell values.

    ``source`` is a path or the file's bytes (an upload kept in the database);
    ``name`` gives the bytes' file name, whose suffix tells the format.
    """
    suffix = Path(name or str(source if isinstance(source, Path) else "")).suffix.lower()
    if suffix in XLSX_SUFFIXES:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source,
                                     read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for a broken file
            raise Invalid(f"无法读取 Excel 文件：{exc.__class__.__name__}", field="file") from exc
        try:
            return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
        finally:
            workbook.close()
    raw = source if isinstance(source, bytes) else source.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # CSV saved by Excel on a Chinese Windows
    return list(csv.reader(io.StringIO(text, newline="")))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number or id typed into a number cell
    return str(value).strip(PADDING)


def _header_key(value) -> str:
    return "".join(_text(value).split()).lower()


ALIASES = {_header_key(name): column for column, names in COLUMNS.items() for name in names}


def find_header(rows: list[list]) -> tuple[int, dict[str, int], dict[str, str]] | None:
    """(index of the last header row, column -> cell index, column -> header as written), or None.

    The header is the first of the top rows that names the title column; a
    merged title row above it is skipped. A header split over two rows (a
    merged group label such as 「留言」 above 「主题」「时间」) is read by joining
    each cell with the label above it; a merged cell's value sits in its first
    cell only, so the label is carried to the right until the next one.
    """
    above: list[str] = []
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        positions, written = {}, {}
        for cell_index, cell in enumerate(row):
            names = [_text(cell)]
            if cell_index < len(above) and above[cell_index]:
                names.append(above[cell_index] + _text(cell))
            for name in names:
                column = ALIASES.get(_header_key(name))
                if column and column not in positions:
                    positions[column], written[column] = cell_index, name
                    break
        if "title" in positions:
            return index, positions, written
        above = _carry_right([_text(cell) for cell in row])
    return None


def _carry_right(labels: list[str]) -> list[str]:
    carried, last = [], ""
    for label in labels:
        last = label or last
        carried.append(last)
    return carried


def parse_time(value) -> dt.datetime:
    """A datetime from a date cell, an Excel serial number or text in the usual Chinese formats."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(0))
    elif isinstance(value, (int, float)):
        moment = _from_serial(value)
    else:
        text = " ".join(_text(value).replace("：", ":").split())
        moment = None
        if _is_serial(text):
            return parse_time(float(text))
        for fmt in TIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise Invalid(f"无法识别的时间「{text}」，请使用 2024-05-01 09:30 这样的格式") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _is_serial(text: str) -> bool:
    try:
        return SERIAL_RANGE[0] <= float(text) <= SERIAL_RANGE[1]
    except ValueError:
        return False


def _from_serial(value: float) -> dt.datetime:
    from openpyxl.utils.datetime import from_excel

    if not SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
        raise Invalid(f"数字 {value:g} 不是有效的 Excel 日期")
    moment = from_excel(value)
    # Serial numbers carry float noise (0.99999 s): round to the second.
    return (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


class _Lookups:
    """Categories, streets and appeal types by every name a spreadsheet may use for them."""

    def __init__(self):
        self.categories: dict[str, Category | None] = {}
        for c in Category.objects.filter(active=True):
            self.categories[c.code] = self.categories[c.path] = c
            if c.level == 3:
                # A bare leaf name works only where it is unique ("其他" is not).
                self.categories[c.name] = None if c.name in self.categories else c
        self.streets = {}
        for s in Street.objects.all():
            for key in (s.code, s.name, s.name + "街道"):
                self.streets[key] = s
        self.appeal_types = {v: v for v in AppealType.values} | {label: v for v, label in AppealType.choices}

    def category(self, text: str) -> Category:
        found = self.categories.get(text.replace(" ", "").replace("／", "/").replace(">", "/"))
        if found is None:
            raise Invalid(f"找不到分类「{text}」（可填写分类代码、完整路径或唯一的三级分类名称）")
        return found

    def street(self, text: str) -> Street:
        if text not in self.streets:
            raise Invalid(f"找不到街道「{text}」")
        return self.streets[text]

    def appeal_type(self, text: str) -> str:
        if text not in self.appeal_types:
            raise Invalid(f"诉求类型「{text}」无效，可选：{'、'.join(AppealType.labels)}")
        return self.appeal_types[text]


def parse_rows(rows: list[list], *, now: dt.datetime | None = None,
               progress: Progress | None = None) -> tuple[list[ParsedRow], list[RowError], int]:
    """Validate every row; return the good ones, every problem found and the number of data rows."""
    now = now or timezone.now()
    header = find_header(rows)
    if header is None:
        return [], [RowError(1, "标题", "找不到表头：至少需要「标题」和「内容」两列")], 0
    header_index, positions, written = header
    errors = [RowError(header_index + 1, LABELS[c], "缺少该列") for c in REQUIRED if c not in positions]
    if errors:
        return [], errors, 0
    lookups = _Lookups()
    parsed, count = [], 0
    for index in range(header_index + 1, len(rows)):
        cells = rows[index]
        values = {c: (cells[i] if i < len(cells) else None) for c, i in positions.items()}
        if all(_text(v) == "" for v in values.values()):
            continue  # blank lines at the end of a sheet
        count += 1
        row_number = index + 1
        row, problems = _parse_row(row_number, values, lookups, now)
        problems = [RowError(row_number, written.get(c) or LABELS.get(c, c), p) for c, p in problems]
        errors += problems
        if row is not None and not problems:
            parsed.append(row)
        if progress and index % PROGRESS_EVERY == 0:
            progress(index - header_index, len(rows) - header_index - 1)
    return parsed, errors, count


def _parse_row(row_number: int, values: dict, lookups: _Lookups, now: dt.datetime):
    problems: list[tuple[str, str]] = []
    text = {c: _text(v) for c, v in values.items()}

    def field_value(column, convert):
        if not text.get(column):
            return None
        try:
            return convert(values[column] if column == "time" else text[column])
        except Invalid as exc:
            problems.append((column, exc.message))
            return None

    moment = field_value("time", parse_time)
    if moment and moment > now + dt.timedelta(days=1):
        problems.append(("time", f"时间 {moment:%Y-%m-%d %H:%M} 晚于当前时间"))
        moment = None
    intake = services.Intake(
        title=text.get("title", ""), content=text.get("content", ""),
        appeal_type=field_value("appeal_type", lookups.appeal_type) or AppealType.REQUEST,
        category=field_value("category", lookups.category), street=field_value("street", lookups.street),
        address=text.get("address", ""), appellant_name=text.get("appellant_name", ""),
        appellant_phone=text.get("appellant_phone", ""), external_ref=text.get("external_ref", "")[:64],
    )
    # The services' own checks, run now so that every bad row is reported before anything is written.
    for column in ("title", "content", "address", "appellant_name", "appellant_phone"):
        probe = services.Intake(**{"title": "-", "content": "-", column: getattr(intake, column)})
        try:
            probe.clean()
        except Invalid as exc:
            problems.append((column, exc.message))
    return ParsedRow(row_number, intake, moment), problems


# --- writing -------------------------------------------------------------------

class _Rollback(Exception):
    pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def row_keys(rows: list[ParsedRow]) -> list[str]:
    """One idempotency key per row, from what the row says rather than where it sits.

    A corrected file re-imported after a partial import thus finds its good
    rows already there; identical rows in one file stay apart by their
    occurrence number.
    """
    seen: Counter[str] = Counter()
    keys = []
    for row in rows:
        intake = row.intake
        parts = (intake.external_ref, intake.title, intake.content, row.time.isoformat() if row.time else "",
                 intake.appeal_type, intake.category.code if intake.category else "",
                 intake.street.code if intake.street else "", intake.address, intake.appellant_name,
                 intake.appellant_phone)
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
        seen[digest] += 1
        keys.append(f"import:{digest}:{seen[digest]}")
    return keys


def import_file(path, *, actor, channel: str = Channel.IMPORT, dry_run: bool = False) -> ImportReport:
    """Validate the whole file, then register every row in one transaction (or nothing)."""
    path = Path(path)
    report = ImportReport(path=str(path), sha256=file_sha256(path), dry_run=dry_run)
    return import_table(read_table(path), report, actor=actor, channel=channel)


def import_table(rows: list[list], report: ImportReport, *, actor, channel: str = Channel.IMPORT,
                 progress: Progress | None = None, write_progress: Progress | None = None,
                 before_write: Callable[[int], None] | None = None) -> ImportReport:
    """Check then write ``rows`` (a table from :func:`read_table`) as ``report.mode`` says; fills ``report``.

    ``progress`` hears how far the checking got, ``write_progress`` how far the
    writing got (valid-rows mode only: an all-or-nothing write is one
    transaction, so no other connection could see its progress anyway);
    ``before_write`` hears how many good rows are about to be written.
    """
    if channel not in Channel.values or channel == Channel.CITY:
        report.errors.append(RowError(0, "渠道", f"渠道「{channel}」不能用于批量导入"))
        return report
    parsed, report.errors, report.rows = parse_rows(rows, progress=progress)
    if report.dry_run or (report.errors and report.mode == ALL_OR_NOTHING) or not parsed:
        return report
    if before_write:
        before_write(len(parsed))
    if report.mode == ALL_OR_NOTHING:
        _write_all_or_nothing(parsed, report, actor=actor, channel=channel)
    else:
        _write_valid_rows(parsed, report, actor=actor, channel=channel, progress=write_progress)
    if report.created:
        audit(actor=actor, action=AuditEntry.Action.CREATE, object_type="workorders.import",
              object_id=report.sha256[:16],
              summary=f"批量导入 {Path(report.path).name}：新建 {report.created} 条工单")
    return report


def _register(row: ParsedRow, key: str, *, actor, channel: str) -> bool:
    _, created = services.register(row.intake, actor=actor, channel=channel, now=row.time, idempotency_key=key)
    return created


def _domain_error(row: ParsedRow, exc: DomainError) -> RowError:
    return RowError(row.row, LABELS.get(exc.field or "", exc.field or "-"), exc.message)


def _write_all_or_nothing(parsed: list[ParsedRow], report: ImportReport, *, actor, channel: str) -> None:
    try:
        with transaction.atomic():
            for row, key in zip(parsed, row_keys(parsed)):
                try:
                    created = _register(row, key, actor=actor, channel=channel)
                except DomainError as exc:
                    report.errors.append(_domain_error(row, exc))
                    raise _Rollback from exc
                report.created += created
                report.existing += not created
    except _Rollback:
        report.created = report.existing = 0


WRITE_BATCH = 200


def _write_valid_rows(parsed: list[ParsedRow], report: ImportReport, *, actor, channel: str,
                      progress: Progress | None) -> None:
    """Each row on its own (a refused row is reported and skipped), committed in batches.

    Batches make the import fast on SQLite (one commit per 200 rows, not per
    row) while keeping each write lock short, so the pages stay usable.
    """
    keys = row_keys(parsed)
    for start in range(0, len(parsed), WRITE_BATCH):
        with transaction.atomic():
            for row, key in zip(parsed[start:start + WRITE_BATCH], keys[start:start + WRITE_BATCH]):
                try:
                    with transaction.atomic():
                        created = _register(row, key, actor=actor, channel=channel)
                except DomainError as exc:
                    report.errors.append(_domain_error(row, exc))
                    continue
                report.created += created
                report.existing += not created
        if progress:
            progress(min(start + WRITE_BATCH, len(parsed)), len(parsed))


def import_user(username: str | None = None):
    """The account an import acts as: the named one, else the system account ``importer``."""
    from yiwang.accounts.roles import Role

    User = get_user_model()
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise Invalid(f"用户「{username}」不存在或已停用", field="user")
        return user
    user, created = User.objects.get_or_create(username="importer",
                                               defaults={"role": Role.SYSTEM, "display_name": "批量导入"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def import_file_task(path: str, username: str) -> dict:
    """The background job behind the import page (django-q2); the result is the report as a dict."""
    return import_file(path, actor=import_user(username)).as_dict()


def queue_import(path, *, user) -> str:
    """Queue ``path`` for import as ``user``; returns the job id."""
    from django_q.tasks import async_task

    return async_task("yiwang.workorders.importers.import_file_task", str(path), user.username,
                      task_name=f"import-{Path(path).name}"[:100])
