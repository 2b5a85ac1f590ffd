"""`cityloop grids …`: import regions and grids from GeoJSON, generate unit grids, form and staff duty grids."""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Callable
from typing import Optional, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

app = typer.Typer(no_args_is_help=True)
CLI_NAME, CLI_HELP = "grids", "网格 / grids"
console = Console()
T = TypeVar("T")


def _session() -> Session:
    from cityloop.cli import _session_factory, _settings

    session: Session = _session_factory(_settings())()
    return session


def _run(work: Callable[[Session], T]) -> T:
    """Run a use case; business errors print in both languages and exit 1, never a traceback."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from cityloop.shared.errors import AppError

    try:
        with _session() as session:
            return work(session)
    except AppError as exc:
        console.print(f"[red]{exc.zh}[/red]\n{exc.en}")
        raise typer.Exit(1) from exc
    except (OperationalError, ProgrammingError) as exc:
        console.print("[red]数据库不可用或尚未初始化，请先运行 cityloop db upgrade[/red]\n"
                      f"Database unreachable or not initialised; run `cityloop db upgrade` first ({exc.orig})")
        raise typer.Exit(1) from exc


@app.command("import")
def import_file(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Import districts (6-digit code), streets (9), communities (12) and unit grids (15) from a GeoJSON file."""
    from cityloop.geo.service import import_features

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        console.print(f"[red]不是有效的 JSON 文件：{exc}[/red]\nNot a valid JSON file: {exc}")
        raise typer.Exit(1) from exc
    report = _run(lambda s: import_features(s, doc))
    table = Table("层级 level", "数量 count")
    for level, count in report.counts.items():
        table.add_row(level, str(count))
    console.print(table)
    if report.placeholders:
        console.print(f"[yellow]已创建无边界的上级区域 / created parent regions without boundary:[/yellow] "
                      f"{', '.join(report.placeholders)}")


@app.command("generate")
def generate(community: list[str] = typer.Option([], "--community", help="社区代码 (12 位)，可重复"),
             street: Optional[str] = typer.Option(None, help="该街道/乡镇的全部社区 (9 位)"),
             district: Optional[str] = typer.Option(None, help="该区县的全部社区 (6 位)"),
             cell: Optional[float] = typer.Option(None, min=20.0, max=5000.0,
                                                  help="网格边长 (米)，默认 100，--rural 时 1000 / cell side in metres"),
             rural: bool = typer.Option(False, "--rural", help="乡村粗网格：只为尚无单元网格的村/社区按村级粗网格划分，"
                                        "并归入乡镇责任网格 / coarse village-level cells where no unit grid exists")) -> None:
    """Cut communities into ≈10,000 m² unit grids numbered west→east, north→south (--rural: coarse village cells)."""
    from sqlalchemy import select

    from cityloop.geo.models import Region
    from cityloop.geo.service import RURAL_CELL_M, GenerateReport, generate_grids, generate_rural

    prefix = street or district
    if rural:
        if community or not prefix:
            console.print("[red]--rural 需要 --street 或 --district[/red]\n--rural takes --street or --district")
            raise typer.Exit(2)
        town, rural_cell = prefix, cell or RURAL_CELL_M

        def work(session: Session) -> GenerateReport:
            return generate_rural(session, town, rural_cell)
    else:
        if not (community or prefix):
            console.print("[red]请指定 --community、--street 或 --district[/red]\nGive --community, --street or --district")
            raise typer.Exit(2)
        grid_cell = 100.0 if cell is None else cell

        def work(session: Session) -> GenerateReport:
            codes = list(community)
            if prefix:
                codes += session.scalars(select(Region.code).where(Region.level == "community",
                                                                   Region.code.startswith(prefix),
                                                                   Region.geometry.is_not(None)).order_by(Region.code))
            return generate_grids(session, codes, grid_cell)

    report = _run(work)
    table = Table("社区 community", "网格 grids", "边长 cell (m)")
    for code, count in report.grids.items():
        table.add_row(code, str(count), f"{report.cell_m[code]:.0f}")
    console.print(table)
    console.print(f"[green]共生成 {sum(report.grids.values())} 个单元网格 / unit grids generated[/green]")


@app.command("assign")
def assign(district: str = typer.Option(..., help="区县代码 (6 位)"),
           count: int = typer.Option(..., min=1, max=999, help="责任网格数量")) -> None:
    """Split a district's unit grids into COUNT compact duty grids (责任网格) of similar size."""
    from cityloop.geo.service import assign_duty_grids

    duty = _run(lambda s: [(d.code, d.name) for d in assign_duty_grids(s, district, count)])
    console.print(f"[green]已划分 {len(duty)} 个责任网格 / duty grids:[/green] {', '.join(c for c, _ in duty)}")


@app.command("staff")
def staff(duty_grid: str = typer.Argument(..., help="责任网格代码"),
          usernames: list[str] = typer.Argument(..., help="监督员用户名")) -> None:
    """Set the inspectors (监督员) who patrol a duty grid."""
    from cityloop.geo.service import set_inspectors

    names = _run(lambda s: set_inspectors(s, duty_grid, usernames))
    console.print(f"[green]{duty_grid}[/green]: {', '.join(names)}")
