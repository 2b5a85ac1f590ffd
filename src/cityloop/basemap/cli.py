"""`cityloop map import FILE.mbtiles` and `cityloop map build` (the base map from this database's regions and roads)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

CLI_NAME = "map"
CLI_HELP = "底图 / base map: install or build the local tile file"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
console = Console()


@app.command("import")
def import_(file: Path = typer.Argument(..., help=".mbtiles or .pmtiles (vector pbf or raster png/jpg/webp tiles)")
            ) -> None:
    """Check the file completely, then install it as the base map (all or nothing)."""
    from cityloop.basemap.files import SUFFIXES, install
    from cityloop.basemap.mbtiles import TileFileError
    from cityloop.cli import _settings

    target = _settings().map_tiles_path
    if file.suffix.lower() not in SUFFIXES:
        console.print("[red]只支持 .mbtiles 或 .pmtiles 文件 / only .mbtiles or .pmtiles files are supported[/red]")
        raise typer.Exit(2)
    try:
        meta = install(file, target)
    except TileFileError as e:
        console.print(f"[red]导入失败，未作任何更改 / import failed, nothing changed:[/red] {e}")
        raise typer.Exit(1) from None
    console.print(f"[green]底图已安装 / base map installed:[/green] {target} ({meta.get('name', '')}, "
                  f"{meta['format']}, z{meta.get('minzoom', '?')}–{meta.get('maxzoom', '?')})")


@app.command("build")
def build_(maxzoom: int = typer.Option(16, min=10, max=18)) -> None:
    """Build the base map from the regions, unit grids and roads in the database."""
    from cityloop.basemap import source
    from cityloop.cli import _settings
    from cityloop.db import make_engine, make_session_factory

    settings = _settings()
    with make_session_factory(make_engine(settings.database_url))() as session:
        count = source.build(session, settings.map_tiles_path, maxzoom=maxzoom)
    console.print(f"[green]底图已生成 / base map built:[/green] {settings.map_tiles_path} ({count} tiles)")
