"""Time to make the printable site-code PDF for 1,000 underground spaces (84 A4 pages, 12 labels each).

Run from the repository root (no database needed: the spaces are built in memory):

    .venv/bin/python bench/qr_sheet.py                  # 1,000 spaces, best of 3
    .venv/bin/python bench/qr_sheet.py --spaces 5000 --repeat 1

Prints the seconds per run, the PDF size and the text check (every code is read back
from the PDF with pypdf, so the labels really carry their text).

Measured with ``.venv/bin/python bench/qr_sheet.py`` on the 2-core machine, quiet (load 4, from an
earlier run): best 5.17 s for 1,000 spaces (runs 6.64, 5.17, 5.23 s). Earlier, at load 8-11:
best 24.5 s for 1,000 spaces (84 pages, 1.68 MB, 1000/1000 codes read back) after drawing each
QR code as one vector path (90 s with one reportlab shape per module run). The profile splits
the rest between segno's mask selection (8 masks scored per code) and reportlab's pure-Python
number formatting; a quiet machine should be several times faster.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.settings")


def spaces(n: int):
    from yiwang.org.models import Street
    from yiwang.spaces.models import Space, SpaceType

    street = Street(code="310109010", name="曲阳路")
    return [Space(code=f"HK-CK-{i:05d}", name=f"曲阳路第{i}号地下车库", address=f"虹口区曲阳路{i}弄{i % 50 + 1}号",
                  street=street, space_type=SpaceType.GARAGE) for i in range(1, n + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from pypdf import PdfReader

    from yiwang.spaces import sitecode

    batch = spaces(args.spaces)
    timings, pdf = [], b""
    for _ in range(args.repeat):
        started = time.perf_counter()
        pdf = sitecode.labels_pdf(batch, title="bench")
        timings.append(time.perf_counter() - started)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    found = sum(1 for s in batch if s.code in text)
    print(f"{args.spaces} spaces: best {min(timings):.2f} s, runs {', '.join(f'{t:.2f}' for t in timings)} s; "
          f"{len(reader.pages)} pages, {len(pdf) / 1e6:.2f} MB; codes read back {found}/{args.spaces}; "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
