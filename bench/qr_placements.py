"""qr_placements: seconds to create 15,000 QR placements (rows with fresh codes, on a migrated SQLite database) and
print them all on one PDF sheet. The sheet draws each code as vector rectangles straight into the page.

Baseline (same run, same placements): the obvious route — a PNG per code from qrcode + Pillow placed into the PDF.
Also measured on a sample and reported per code: reportlab's own QrCodeWidget drawn through renderPDF."""

from __future__ import annotations

import io
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

import qrcode  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402
from cityloop.public import placements, qr  # noqa: E402
from cityloop.public.domain import placement_url  # noqa: E402
from cityloop.public.models import QrPlacement  # noqa: E402

COUNT = 15_000
WIDGET_SAMPLE = 300
BASE = "https://cg.example.gov.cn"


def rows(n: int) -> list[dict]:
    rng = random.Random(15000)
    return [{"label": f"服务指南 {i:05d}", "lon": round(rng.uniform(118.40, 118.46), 6),
             "lat": round(rng.uniform(32.42, 32.48), 6), "batch": "bench"} for i in range(n)]


def run(factory, draw_code=None) -> tuple[float, float, int, int]:
    """(seconds to insert, seconds to print, pages, PDF bytes) for COUNT placements."""
    with factory() as session:
        session.execute(delete(QrPlacement))
        session.commit()
        t = time.perf_counter()
        placements.create_many(session, rows(COUNT), datetime.now(timezone.utc))
        inserted = time.perf_counter() - t
        t = time.perf_counter()
        items = placements.for_sheet(session, "bench", None, 0, COUNT)
        pdf = qr.sheet_pdf(items, lambda c: placement_url(BASE, c), "bench", draw_code=draw_code)
        printed = time.perf_counter() - t
    assert len(items) == COUNT and pdf.startswith(b"%PDF")
    return inserted, printed, -(-COUNT // (qr.COLUMNS * qr.ROWS)), len(pdf)


def png_image(pdf, url: str, x: float, y: float, size: float) -> None:
    """The baseline: encode a PNG with qrcode + Pillow, let reportlab decode and embed it."""
    buf = io.BytesIO()
    qrcode.make(url, border=0).save(buf, "PNG")
    buf.seek(0)
    pdf.drawImage(ImageReader(buf), x, y, size, size)


def widget_per_code_ms() -> float:
    """reportlab's QrCodeWidget, drawn through renderPDF, per code (on a sample)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(io.BytesIO())
    t = time.perf_counter()
    for i in range(WIDGET_SAMPLE):
        drawing = Drawing(120, 120)
        drawing.add(QrCodeWidget(placement_url(BASE, f"BENCH{i:03d}"), barLevel="M", barWidth=120, barHeight=120))
        renderPDF.draw(drawing, pdf, 0, 0)
    return (time.perf_counter() - t) / WIDGET_SAMPLE * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        qr.sheet_font()  # font loading is a one-off, not part of either route
        inserted, printed, pages, size = run(factory)
        b_inserted, b_printed, _, b_size = run(factory, draw_code=png_image)
        engine.dispose()
    widget_ms = widget_per_code_ms()
    write_result(
        "qr_placements", "s", inserted + printed, False, "per-code PNG (qrcode+Pillow) placed into the PDF",
        b_inserted + b_printed,
        {"placements": COUNT, "pages": pages, "insert_s": round(inserted, 2), "sheet_s": round(printed, 2),
         "pdf_mb": round(size / 1e6, 1), "baseline_sheet_s": round(b_printed, 2),
         "baseline_pdf_mb": round(b_size / 1e6, 1),
         "per_code_ms": round(printed / COUNT * 1000, 3), "baseline_per_code_ms": round(b_printed / COUNT * 1000, 3),
         "reportlab_widget_per_code_ms": round(widget_ms, 3), "reportlab_widget_sample": WIDGET_SAMPLE,
         "note": "provisional: 2 shared cores, other helpers' jobs running"},
        "sqlite")


if __name__ == "__main__":
    main()
