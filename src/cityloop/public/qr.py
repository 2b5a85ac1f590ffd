"""QR images of placements: PNG and SVG for one code (the `qrcode` package, cached under media), and PDF sheets
of many codes drawn as vector rectangles straight into the page (no image round trip: 15,000 codes in seconds)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from cityloop.config import Settings
from cityloop.shared.errors import AppError

BORDER = 4  # modules of quiet zone, as the standard asks
SHEET_MASK = 0  # a fixed mask pattern: any of the eight is valid, and choosing the "best" costs 8× the encoding
COLUMNS, ROWS = 3, 4  # codes per A4 sheet: 12 stickers of 60 × 70 mm
HINT = ("扫码查找附近公厕、红色驿站、便民服务", "Scan: toilets, stations, help nearby")


def _cache_path(settings: Settings, url: str, code: str, suffix: str) -> Path:
    digest = hashlib.sha1(url.encode()).hexdigest()[:10]  # a new base URL draws new images
    return Path(settings.media_dir) / "qr" / code[:2] / f"{code}-{digest}{suffix}"


def _cached(settings: Settings, url: str, code: str, suffix: str, draw: Callable[[], bytes]) -> bytes:
    path = _cache_path(settings, url, code, suffix)
    if path.is_file():
        return path.read_bytes()
    data = draw()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def _code(url: str, box: int = 10) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box, border=BORDER)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def png(settings: Settings, url: str, code: str, box: int = 10) -> bytes:
    """A PNG of the QR code for url (box = pixels per module), cached under media/qr."""

    def draw() -> bytes:
        out = io.BytesIO()
        _code(url, box).make_image().save(out, "PNG")
        return out.getvalue()

    return _cached(settings, url, code, f"-{box}.png", draw)


def svg(settings: Settings, url: str, code: str) -> bytes:
    """An SVG (one path) of the QR code for url, cached under media/qr."""

    def draw() -> bytes:
        out = io.BytesIO()
        _code(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
        return out.getvalue()

    return _cached(settings, url, code, ".svg", draw)


@lru_cache(maxsize=64)
def _version(length: int) -> int:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    qr.add_data("x" * length)
    version: int = qr.best_fit()
    return version


def modules(url: str) -> list[list[bool]]:
    """The QR module matrix of url (no quiet zone), fast: version by length, fixed mask."""
    qr = qrcode.QRCode(version=_version(len(url)), error_correction=ERROR_CORRECT_M, border=0, mask_pattern=SHEET_MASK)
    qr.add_data(url)
    qr.make(fit=False)
    matrix: list[list[bool]] = qr.modules
    return matrix


def path_ops(matrix: Sequence[Sequence[bool]]) -> str:
    """PDF path operators filling the dark modules, one rectangle per horizontal run, in module units."""
    n, out = len(matrix), []
    for r, row in enumerate(matrix):
        y, j = n - 1 - r, 0
        while j < n:
            if row[j]:
                end = j + 1
                while end < n and row[end]:
                    end += 1
                out.append(f"{j} {y} {end - j} 1 re")
                j = end
            else:
                j += 1
    out.append("f")
    return "\n".join(out)


def sheet_font() -> str:
    """The CJK font for sheets (WenQuanYi Micro Hei), or a 503 that says how to install it."""
    from cityloop.assessment.pdf import FontMissing, cjk_font  # one font finder for every PDF of the platform

    try:
        return cjk_font(None)
    except FontMissing as exc:
        raise AppError("font-missing", FontMissing.zh, FontMissing.en, status=503) from exc


def sheet_pdf(items: Sequence[tuple[str, str]], url_of: Callable[[str], str], title: str,
              draw_code: Callable[[Any, str, float, float, float], object] | None = None) -> bytes:
    """A4 pages of QR stickers: each with its code, label and a hint. draw_code(canvas, url, x, y, size) may
    replace the vector drawing (the benchmark's image baseline)."""
    font = sheet_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    width, height = A4
    margin = 10 * mm
    cell_w, cell_h = (width - 2 * margin) / COLUMNS, (height - 2 * margin - 6 * mm) / ROWS
    size = 42 * mm
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(items) // per_page))
    for i, (code, label) in enumerate(items):
        k = i % per_page
        if k == 0:
            if i:
                pdf.showPage()
            pdf.setFont(font, 8)
            pdf.drawString(margin, height - margin, f"{title} · {i // per_page + 1}/{pages}")
        x = margin + (k % COLUMNS) * cell_w
        y = height - margin - 6 * mm - (k // COLUMNS + 1) * cell_h
        x0, y0 = x + (cell_w - size) / 2, y + cell_h - size - 7 * mm
        url = url_of(code)
        if draw_code is not None:
            draw_code(pdf, url, x0, y0, size)
        else:
            matrix = modules(url)
            scale = size / len(matrix)
            pdf.saveState()
            pdf.transform(scale, 0, 0, scale, x0, y0)
            pdf.addLiteral(path_ops(matrix))
            pdf.restoreState()
        pdf.setFont(font, 10)
        pdf.drawCentredString(x + cell_w / 2, y0 - 5 * mm, label[:24])
        pdf.setFont(font, 9)
        pdf.drawCentredString(x + cell_w / 2, y0 - 9.5 * mm, code)
        pdf.setFont(font, 7)
        pdf.drawCentredString(x + cell_w / 2, y0 - 13.5 * mm, HINT[0])
        pdf.setStrokeGray(0.8)
        pdf.rect(x + 1 * mm, y + 1 * mm, cell_w - 2 * mm, cell_h - 2 * mm, stroke=1, fill=0)
    pdf.save()
    return out.getvalue()
