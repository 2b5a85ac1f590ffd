"""`cityloop public …`: import service points, generate QR placements and print their sheets, run the 追呼 dialer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from cityloop.config import Settings

CLI_NAME = "public"
CLI_HELP = "公众服务 / public services: service points, QR guide, 追呼 dialer"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
points_app = typer.Typer(help="服务点位 / service points", no_args_is_help=True)
qr_app = typer.Typer(help="服务指南二维码 / QR placements", no_args_is_help=True)
app.add_typer(points_app, name="points")
app.add_typer(qr_app, name="placements")
console = Console()


def _open() -> tuple[Settings, Engine, sessionmaker[Session]]:
    from cityloop.cli import _settings
    from cityloop.db import make_engine, make_session_factory

    settings = _settings()
    engine = make_engine(settings.database_url)
    return settings, engine, make_session_factory(engine)


@points_app.command("import")
def import_points(file: Path = typer.Argument(..., exists=True, dir_okay=False),
                  crs: str = typer.Option("wgs84", help="wgs84 | gcj02 | bd09")) -> None:
    """Import service points from CSV (all rows or none; an existing code is updated)."""
    from cityloop.geo.queries import build_index
    from cityloop.public import points
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.errors import AppError

    settings, engine, factory = _open()
    with factory() as session:
        try:
            created, updated = points.import_rows(session, points.parse_csv(file.read_bytes(), crs),
                                                  build_index(session).locate, SystemClock().now())
        except AppError as exc:
            console.print(f"[red]{exc.zh} / {exc.en}[/red]")
            for err in exc.extra.get("errors", []):
                console.print(f"  line {err['line']}: {err['error']}")
            raise typer.Exit(1) from exc
    engine.dispose()
    console.print(f"新增 created {created} · 更新 updated {updated}")


@qr_app.command("generate")
def generate(batch: str = typer.Option(..., help="batch name"), per_grid: int = typer.Option(1, min=1, max=20),
             area: str = typer.Option(None, help="district/street/community/grid code (default: every grid)"),
             label: str = typer.Option("服务指南")) -> None:
    """Placements spread over the unit grids: per_grid codes in each grid."""
    from cityloop.public.placements import spread_over_grids
    from cityloop.shared.clock import SystemClock

    settings, engine, factory = _open()
    with factory() as session:
        made = spread_over_grids(session, batch, per_grid, area, label, SystemClock().now())
    engine.dispose()
    console.print(f"生成 created {made} 个二维码点位 placements in batch {batch!r}")


@qr_app.command("sheet")
def sheet(batch: str = typer.Option(..., help="batch name"),
          out: Path = typer.Option(..., "-o", "--out", help="PDF file to write")) -> None:
    """Print a batch's QR stickers to a PDF (12 per A4 page), any number of codes."""
    from cityloop.public import placements, qr

    settings, engine, factory = _open()
    with factory() as session:
        items = placements.for_sheet(session, batch, None, 0, 10_000_000)
    engine.dispose()
    if not items:
        console.print(f"[red]批次 {batch!r} 没有在用的二维码 / no active placements in this batch[/red]")
        raise typer.Exit(1)
    started = time.perf_counter()
    out.write_bytes(qr.sheet_pdf(items, lambda c: placements.url_of(settings, c), f"服务指南二维码 {batch}"))
    console.print(f"{len(items)} 个二维码 codes → {out} ({time.perf_counter() - started:.1f} s)")


@app.command("dial")
def dial(loop: bool = typer.Option(False, "--loop", help="keep dialing every public_dialer_interval_seconds")) -> None:
    """Call the due 追呼 numbers (one process at a time; the server does this itself unless told not to)."""
    from cityloop.public.dialer import dial_due
    from cityloop.public.telephony import telephony_for
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.singleton import only_one

    settings, engine, factory = _open()
    telephony = telephony_for(settings)
    if telephony is None:
        console.print("[red]未配置语音网关 / no voice gateway: set CITYLOOP_PUBLIC_VOICE_GATEWAY_URL[/red]")
        raise typer.Exit(1)
    while True:
        with only_one(engine, "public-dialer") as mine:
            made = dial_due(factory, settings, telephony, SystemClock()) if mine else 0
        console.print(f"呼叫 calls made: {made}" + ("" if mine else " (另一进程正在拨号 / another dialer runs)"))
        if not loop:
            break
        time.sleep(settings.public_dialer_interval_seconds)
    engine.dispose()
