"""The `cityloop` command: demo, serve, db, users, sla, catalog, grids."""

from __future__ import annotations

import os
import time
from typing import Optional

import typer
from rich.console import Console

from cityloop.config import Settings, get_settings

app = typer.Typer(help="CityLoop 数字城管 command line", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库 / database", no_args_is_help=True)
users_app = typer.Typer(help="用户 / users", no_args_is_help=True)
sla_app = typer.Typer(help="时限 / deadlines", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(sla_app, name="sla")
console = Console()


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        console.print(f"[red]配置错误 / configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _session_factory(settings: Settings):
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (the only way the schema is created)."""
    from cityloop.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    console.print(f"[green]数据库已升级 / database upgraded[/green] → {revision}")


@users_app.command("add")
def users_add(username: str, role: list[str] = typer.Option(..., "--role", help="inspector/operator/…"),
              password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
              name: Optional[str] = None, department: Optional[str] = None, phone: Optional[str] = None) -> None:
    """Add a user with one or more roles."""
    from cityloop.org.service import add_user
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.errors import AppError

    settings = _settings()
    with _session_factory(settings)() as session:
        try:
            add_user(session, username, password, role, SystemClock().now(), name, department, phone)
            session.commit()
        except AppError as exc:
            console.print(f"[red]{exc.zh}[/red] / {exc.en}")
            raise typer.Exit(1) from exc
    console.print(f"[green]已添加用户 / added user[/green] {username} ({', '.join(role)})")


@sla_app.command("sweep")
def sla_sweep(loop: bool = typer.Option(False, help="keep running every sweep_interval_seconds")) -> None:
    """Mark overdue nodes and record automatic 督办 (one process at a time)."""
    from cityloop.cases.tasks import sweep
    from cityloop.db import make_engine, make_session_factory
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.singleton import only_one

    settings = _settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    while True:
        with only_one(engine, "sla-sweep") as mine:
            if mine:
                with factory() as session:
                    count = sweep(session, settings, SystemClock().now())
                console.print(f"超时标记 / overdue marked: {count}")
            else:
                console.print("[yellow]另一个进程正在执行 / another process holds the sweep lock[/yellow]")
        if not loop:
            break
        time.sleep(settings.sweep_interval_seconds)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the API server."""
    import uvicorn

    _settings()
    uvicorn.run("cityloop.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=True)


@app.command()
def demo(port: int = typer.Option(8000, envvar="PORT"), host: str = "127.0.0.1",
         rebuild: bool = typer.Option(False, help="throw away the demo database and build it again"),
         no_serve: bool = typer.Option(False, "--no-serve", help="build only")) -> None:
    """Build the Lai'an county demo (SQLite) if needed, print the logins and serve it."""
    os.environ.setdefault("CITYLOOP_DEMO", "1")
    os.environ.setdefault("CITYLOOP_DATABASE_URL", "sqlite:///var/demo.db")
    get_settings.cache_clear()
    settings = _settings()
    from cityloop.demo.build import build_demo, demo_logins

    build_demo(settings, console, rebuild=rebuild)
    console.print(demo_logins())
    if no_serve:
        return
    console.print(f"[bold green]CityLoop 演示已启动 / demo running:[/bold green] http://{host}:{port}/  (API: /docs)")
    serve(host=host, port=port, workers=1)


def _mount_optional() -> None:
    from cityloop.catalog.cli import app as catalog_app
    from cityloop.geo.cli import app as grids_app

    app.add_typer(catalog_app, name="catalog", help="类别目录 / catalog")
    app.add_typer(grids_app, name="grids", help="网格 / grids")


def main() -> None:
    """Console-script entry point."""
    _mount_optional()
    app()
