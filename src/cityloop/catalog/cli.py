"""`cityloop catalog …`: load a catalog standard or a local table, import component instances."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.table import Table

from cityloop.catalog.domain import GBT

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cityloop.config import Settings

app = typer.Typer(help="类别目录 / catalog: 部件、事项、立案条件", no_args_is_help=True, add_completion=False)
CLI_HELP = "类别目录 / catalog: 部件、事项、立案条件"
components_app = typer.Typer(help="部件普查 / component instances", no_args_is_help=True)
app.add_typer(components_app, name="components")


def _fail(zh: str, en: str) -> None:
    from cityloop.cli import console

    console.print(f"[red]{zh}[/red] / {en}")
    raise typer.Exit(1)


@contextmanager
def _use_case() -> Iterator[tuple[Settings, Session]]:
    """Settings and a session; business and database errors end the command with a message, not a traceback."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from cityloop.cli import _session_factory, _settings
    from cityloop.shared.errors import AppError

    settings = _settings()
    factory = _session_factory(settings)
    try:
        if not inspect(factory.kw["bind"]).has_table("categories"):
            _fail("数据库中没有目录表，请先运行 cityloop db upgrade",
                  "The catalog tables do not exist: run `cityloop db upgrade` first")
        with factory() as session:
            yield settings, session
    except AppError as exc:
        _fail(exc.zh, exc.en)
    except SQLAlchemyError as exc:
        _fail(f"数据库错误：{type(exc).__name__}", f"database error: {str(exc).splitlines()[0][:200]}")


@app.command("load")
def load(standard: str = typer.Option(GBT, "--standard", help='"GB/T 47678.5-2026" 或 "CJ/T 214-2007"'),
         file: Optional[Path] = typer.Option(None, "--file", help="本地目录 CSV / a local catalog table"),
         name: Optional[str] = typer.Option(None, "--name", help="本地目录名称 / name of the local catalog")) -> None:
    """Load a catalog standard (or a local CSV table under --name); running it again changes nothing."""
    from cityloop.catalog.service import load_catalog
    from cityloop.cli import console
    from cityloop.db.changes import notify

    if name and file is None:
        _fail("--name 只能与 --file 一起使用", "--name needs --file")
    with _use_case() as (settings, session):
        report = load_catalog(session, (name or "local") if file else standard, file)
        notify(session.get_bind(), "catalog")  # running servers (every host) reload their catalog caches
    table = Table(title=f"目录已载入 / catalog loaded: {report.standard}")
    table.add_column("项目 / item")
    table.add_column("数量 / count", justify="right")
    for label, value in [("部件类型 / component types", report.components), ("事项 / matters", report.matters),
                         ("立案条件 / filing conditions", report.conditions),
                         ("类别新增 / categories created", report.created),
                         ("类别更新 / categories updated", report.updated),
                         ("类别停用 / categories deactivated", report.deactivated),
                         ("条件新增 / conditions created", report.conditions_created),
                         ("条件更新 / conditions updated", report.conditions_updated),
                         ("条件删除 / conditions deleted", report.conditions_deleted)]:
        table.add_row(label, str(value))
    console.print(table)
    if report.standard != settings.catalog_standard:
        console.print(f"提示：案件使用的目录为 {settings.catalog_standard}；如需改用本目录，请设置 "
                      f"CITYLOOP_CATALOG_STANDARD=\"{report.standard}\" / cases use {settings.catalog_standard}")


@components_app.command("import")
def import_(file: Path = typer.Argument(..., help="部件普查 CSV：id,type_code,name,lon,lat,state,owner,…"),
            admin_code: Optional[str] = typer.Option(None, help="行政区划代码，默认取配置 / default: settings"),
            standard: Optional[str] = typer.Option(None, help="部件类型所属目录，默认取配置 / default: settings")) -> None:
    """Import surveyed component instances (部件普查); all rows are valid or nothing is written."""
    from cityloop.catalog.service import import_components
    from cityloop.cli import console

    with _use_case() as (settings, session):
        count = import_components(session, file, admin_code or settings.admin_code,
                                  standard or settings.catalog_standard)
    console.print(f"[green]已导入部件 / components imported:[/green] {count}")
