"""Site codes: the QR code of each space and the printable PDF labels.

The QR code holds the absolute URL of the space's public page, built from
``YIWANG_PUBLIC_BASE_URL`` (the address phones reach, not the one the staff page
was opened at). PDFs use reportlab's built-in CID font STSong-Light: the PDF
viewer supplies the glyphs, so no font file is shipped or downloaded and the
text stays extractable (and searchable) in the PDF.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import segno
from django.conf import settings
from django.urls import reverse
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .models import Space

FONT = "STSong-Light"
CALL_TO_ACTION = "扫码查看/反映隐患"
# A4 portrait, 3 × 4 labels of 63 × 68 mm: large enough that the QR code (40 mm) scans from a metre away.
COLS, ROWS = 3, 4
LABEL_W, LABEL_H = 63 * mm, 68 * mm
QR_SIZE = 40 * mm

_font_registered = False


def _font() -> str:
    global _font_registered
    if not _font_registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _font_registered = True
    return FONT


def public_url(space: Space) -> str:
    return settings.YIWANG_PUBLIC_BASE_URL + reverse("spaces_public:space", args=[space.code])


def qr(space: Space) -> segno.QRCode:
    # Error correction M: the label survives a scratch or a smudge, and the code stays small.
    return segno.make_qr(public_url(space), error="m")


def qr_svg(space: Space) -> bytes:
    out = io.BytesIO()
    qr(space).save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue()


def _draw_qr(pdf: canvas.Canvas, code: segno.QRCode, x: float, y: float, size: float) -> None:
    """The QR modules as one filled vector path (sharp at any print size, no image step).

    One rectangle per horizontal run of dark modules, all in a single path: about
    5x fewer shapes than one per module, and one fill operator for the whole code.
    """
    matrix = code.matrix
    n = len(matrix)
    border = 2
    module = size / (n + 2 * border)
    path = pdf.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1 + border) * module
        run_start = None
        for col_index in range(n + 1):
            dark = col_index < n and row[col_index]
            if dark and run_start is None:
                run_start = col_index
            elif not dark and run_start is not None:
                path.rect(x + (run_start + border) * module, top, (col_index - run_start) * module, module)
                run_start = None
    pdf.setFillColorRGB(0, 0, 0)
    pdf.drawPath(path, stroke=0, fill=1)


def _fit(pdf: canvas.Canvas, text: str, size: float, width: float) -> str:
    """Cut ``text`` so it fits ``width`` at ``size`` pt, marking the cut with an ellipsis."""
    font = _font()
    if pdf.stringWidth(text, font, size) <= width:
        return text
    while text and pdf.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _draw_label(pdf: canvas.Canvas, space: Space, x: float, y: float) -> None:
    font, pad = _font(), 4 * mm
    width = LABEL_W - 2 * pad
    pdf.setLineWidth(0.3)
    pdf.setDash(2, 2)
    pdf.rect(x, y, LABEL_W, LABEL_H)  # dashed cutting line
    pdf.setDash()
    _draw_qr(pdf, qr(space), x + (LABEL_W - QR_SIZE) / 2, y + LABEL_H - QR_SIZE - 2 * mm, QR_SIZE)
    top = y + LABEL_H - QR_SIZE - 6 * mm
    pdf.setFont(font, 10)
    pdf.drawCentredString(x + LABEL_W / 2, top, space.code)
    pdf.setFont(font, 9)
    pdf.drawCentredString(x + LABEL_W / 2, top - 5 * mm, _fit(pdf, space.name, 9, width))
    pdf.setFont(font, 7)
    pdf.drawCentredString(x + LABEL_W / 2, top - 9.5 * mm, _fit(pdf, space.address, 7, width))
    pdf.setFont(font, 9)
    pdf.drawCentredString(x + LABEL_W / 2, y + 3 * mm, CALL_TO_ACTION)


def labels_pdf(spaces: Iterable[Space], *, title: str) -> bytes:
    """A4 sheets of labels, 12 a page, in the order given."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    pdf.setAuthor("虹口区 随申查")
    page_w, page_h = A4
    margin_x = (page_w - COLS * LABEL_W) / 2
    margin_y = (page_h - ROWS * LABEL_H) / 2
    slot = 0
    for space in spaces:
        if slot == COLS * ROWS:
            pdf.showPage()
            slot = 0
        col, row = slot % COLS, slot // COLS
        _draw_label(pdf, space, margin_x + col * LABEL_W, page_h - margin_y - (row + 1) * LABEL_H)
        slot += 1
    if slot == 0:
        pdf.setFont(_font(), 12)
        pdf.drawString(margin_x, page_h - margin_y, "没有在册的地下空间")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def single_label_pdf(space: Space) -> bytes:
    """One label on a page of its own size, to print on a sticker."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(LABEL_W, LABEL_H))
    pdf.setTitle(f"{space.code} {space.name}")
    _draw_label(pdf, space, 0, 0)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
