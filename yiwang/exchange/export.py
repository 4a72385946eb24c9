"""Work-order lists as xlsx (导出 Excel).

openpyxl's write-only mode streams rows into the sheet's XML part on disk, so
100,000 orders take a few megabytes of memory, not the whole workbook; the
finished file (a zip, complete only when closed) is then sent from a temporary
file. Rows come from the database in chunks with their related rows, and the
personal data in each is masked for the exporting user exactly as on the
list page; every order exported unmasked leaves an audit row, as viewing it
would. Up to ``SYNC_MAX_ROWS`` rows the file is written in the request; a longer
list becomes an ``ExportJob`` that the job worker writes to private storage
(``services.export_job_execute``), fetched later by the user who asked for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from django.db.models import Q
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from yiwang.core.audit import audit, audit_personal_data_view
from yiwang.core.models import AuditEntry
from yiwang.workorders import selectors
from yiwang.workorders.models import WorkOrder

CHUNK = 2000
# Up to this many rows the file is written in the request (a few seconds); more go to the job worker.
SYNC_MAX_ROWS = 5000
MAX_ROWS = 1_000_000  # an xlsx sheet holds 1,048,576 rows
EXCEL_CELL_LIMIT = 32767


def _when(value: dt.datetime | None):
    # Excel has no time zones: write Shanghai wall-clock time.
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _co_units(order: WorkOrder) -> str:
    return "、".join(a.unit.name for a in order.active_assignments if a.role == "co")


def _resolved(order: WorkOrder) -> str:
    return "" if order.resolved is None else ("是" if order.resolved else "否")


# (header, width, value of an order given its personal data as the user may see it)
COLUMNS: list[tuple[str, int, Callable[[WorkOrder, dict], object]]] = [
    ("工单编号", 18, lambda o, pd: o.number),
    ("标题", 30, lambda o, pd: o.title),
    ("诉求内容", 50, lambda o, pd: o.content),
    ("诉求类型", 8, lambda o, pd: o.get_appeal_type_display()),
    ("紧急程度", 8, lambda o, pd: o.get_urgency_display()),
    ("渠道", 10, lambda o, pd: o.get_channel_display()),
    ("状态", 10, lambda o, pd: o.get_status_display()),
    ("时限状态", 8, lambda o, pd: o.get_sla_state_display()),
    ("分类", 30, lambda o, pd: o.category.path if o.category else ""),
    ("街道", 12, lambda o, pd: o.street.name if o.street else ""),
    ("居委", 14, lambda o, pd: o.committee.name if o.committee else ""),
    ("地址", 24, lambda o, pd: pd["address"]),
    ("诉求人", 10, lambda o, pd: pd["appellant_name"]),
    ("联系电话", 14, lambda o, pd: pd["appellant_phone"]),
    ("主办单位", 20, lambda o, pd: o.lead_unit.name if o.lead_unit else ""),
    ("协办单位", 20, lambda o, pd: _co_units(o)),
    ("登记时间", 18, lambda o, pd: _when(o.created_at)),
    ("签收时限", 18, lambda o, pd: _when(o.sign_deadline)),
    ("办结时限", 18, lambda o, pd: _when(o.handle_deadline)),
    ("答复时间", 18, lambda o, pd: _when(o.replied_at)),
    ("归档时间", 18, lambda o, pd: _when(o.closed_at)),
    ("满意度", 8, lambda o, pd: o.get_satisfaction_display()),
    ("实际解决", 8, lambda o, pd: _resolved(o)),
    ("外部编号", 14, lambda o, pd: o.external_ref),
]


def safe_value(sheet, value):
    """A value ready for the sheet; text is kept as text, never read as a formula."""
    if not isinstance(value, str):
        return value
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters a sheet cannot hold
    value = value[:EXCEL_CELL_LIMIT]
    if value.startswith("="):
        # openpyxl writes a string starting with "=" as a formula: an appellant's
        # title "=HYPERLINK(…)" must stay the text it is.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_orders(user, orders: Iterable[WorkOrder], target: IO[bytes], *, request=None,
                 description: str = "", progress: Callable[[int], None] | None = None) -> dict:
    """Write ``orders`` (already scoped to ``user`` and filtered) as xlsx to ``target``.

    Returns what was written: ``{"rows": n, "unmasked": k}``. Audits the export
    and each order whose personal data went out unmasked. ``progress(rows)`` is
    called every ``CHUNK`` rows (a background export shows it).
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    for index, (_, width, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title, _, _ in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)

    rows = unmasked = 0
    shown: list[WorkOrder] = []
    for order in orders:
        pd = selectors.personal_data(user, order)
        sheet.append([safe_value(sheet, value(order, pd)) for _, _, value in COLUMNS])
        rows += 1
        if progress is not None and rows % CHUNK == 0:
            progress(rows)
        if not pd["masked"] and (order.appellant_name or order.appellant_phone or order.address):
            shown.append(order)
            if len(shown) >= CHUNK:
                unmasked += _audit_shown(user, shown, request)
    unmasked += _audit_shown(user, shown, request)
    book.save(target)
    audit(actor=user, action=AuditEntry.Action.EXPORT, object_type="workorders.workorder",
          summary=f"导出工单 {rows} 条（未脱敏 {unmasked} 条）{description}"[:255],
          changes={"rows": rows, "unmasked": unmasked, "filters": description}, request=request)
    return {"rows": rows, "unmasked": unmasked}


def _audit_shown(user, shown: list[WorkOrder], request) -> int:
    count = len(shown)
    audit_personal_data_view(actor=user, objects=shown, request=request, summary="导出 Excel")
    shown.clear()
    return count


def export_queryset(user, filtered) -> Iterator[WorkOrder]:
    """The filtered list, newest first, read a chunk at a time with each chunk's related rows.

    Each chunk is a query of its own that starts after the last row of the one before
    (keyset paging), not one cursor held open for the whole export: on SQLite an open
    cursor keeps its read snapshot, and the progress and audit rows the export writes
    meanwhile then fail with "database is locked" as soon as any other connection has
    committed (the job worker, a request). Rows registered during the export are not
    in it: they are newer than the first chunk.
    """
    ordered = filtered.order_by("-created_at", "-id")
    after = None
    while True:
        page = ordered if after is None else ordered.filter(
            Q(created_at__lt=after[0]) | Q(created_at=after[0], id__lt=after[1]))
        chunk = list(page[:CHUNK])
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = (chunk[-1].created_at, chunk[-1].id)
