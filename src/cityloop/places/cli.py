"""`cityloop places import FILE.geojson|csv` and `cityloop places geocode TEXT`."""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CLI_NAME = "places"
CLI_HELP = "地理编码数据 / places: roads, door plates, POIs for geocoding"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
console = Console()


def _session() -> Session:
    from cityloop.cli import _settings
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(_settings().database_url))()


@app.command("import")
def import_(file: Path = typer.Argument(..., help=".geojson or .csv"),
            source: str = typer.Option(None, help="source name (default: the file name); replaces that source"),
            coord_sys: str = typer.Option("wgs84", help="wgs84 | cgcs2000 | gcj02 | bd09")) -> None:
    """Import roads (lines, house-number ranges), door plates and POIs; all or nothing."""
    from cityloop.places import importer
    from cityloop.shared.errors import AppError

    if not file.is_file():
        console.print(f"[red]文件不存在 / no such file:[/red] {file}")
        raise typer.Exit(2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        console.print("[red]文件不是 UTF-8 文本 / the file is not UTF-8 text[/red]")
        raise typer.Exit(1) from exc
    name = (source or file.name)[:32]
    with _session() as session:
        try:
            parsed = importer.parse_file(file.name, text, name, coord_sys)
            counts = importer.replace(session, parsed, name)
        except AppError as exc:
            session.rollback()
            console.print(Text(exc.zh, style="red"), soft_wrap=True)
            console.print(exc.en, markup=False, soft_wrap=True)
            raise typer.Exit(1) from exc
        session.commit()
    console.print(f"[green]已导入 / imported[/green] {counts['roads']} roads, {counts['addresses']} door plates, "
                  f"{counts['pois']} POIs ({name})")


@app.command("geocode")
def geocode_cmd(text: str, limit: int = typer.Option(5, min=1, max=50)) -> None:
    """Print the ranked candidates for a query."""
    from cityloop.places.service import geocode

    with _session() as session:
        for c in geocode(session, text, limit):
            console.print(f"{c.score:3d} {c.kind:12s} {c.name} {c.address or ''} {c.lon:.6f},{c.lat:.6f}"
                          f"{' ≈' if c.approximate else ''}", markup=False)
