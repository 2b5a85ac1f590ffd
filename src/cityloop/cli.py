"""The `cityloop` command: demo, serve, db, users, sla, catalog, grids."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from cityloop.config import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

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


def _session_factory(settings: Settings) -> sessionmaker[Session]:
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply migrations (the only way the schema is created)."""
    from cityloop.db.migrate import upgrade

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


@users_app.command("password")
def users_password(username: str,
                   password: Optional[str] = typer.Option(None, help="new password (prompted when left out)"),
                   deactivate: bool = typer.Option(False, "--deactivate", help="deactivate the user instead")) -> None:
    """Change a user's password (or deactivate the user), e.g. every demo login before serving for real."""
    from sqlalchemy import select

    from cityloop.db.changes import notify
    from cityloop.org import throttle
    from cityloop.org.models import User
    from cityloop.org.security import hash_password

    settings = _settings()
    if not deactivate and password is None:
        password = typer.prompt("新密码 / new password", hide_input=True, confirmation_prompt=True)
    if not deactivate and len(password or "") < 8:
        console.print("[red]密码至少 8 个字符 / the password needs at least 8 characters[/red]")
        raise typer.Exit(1)
    with _session_factory(settings)() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            console.print(f"[red]用户不存在 / no such user[/red] {username}")
            raise typer.Exit(1)
        if deactivate:
            user.active = False
        else:
            assert password is not None  # given or asked for above
            user.password_hash = hash_password(password)
            throttle.unlock(session, username)
        user.token_version += 1  # either way, every session made before ends now
        session.commit()
        notify(session.get_bind(), "actor")  # running servers drop the user's actor and token version at once
    console.print(f"[green]{'已停用 / deactivated' if deactivate else '已修改密码 / password changed'}[/green] {username}")


def _refuse_demo_passwords(settings: Settings) -> None:
    """Outside demo mode, stop with a clear message while users still have the demo password."""
    from cityloop.org.demo_passwords import DemoPasswordsLeft, refuse_demo_passwords

    if settings.demo:
        return
    try:
        with _session_factory(settings)() as session:
            refuse_demo_passwords(session)
    except DemoPasswordsLeft as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Lift the login delay on an account from every IP (e.g. when no admin can log in to do it)."""
    from cityloop.org import throttle

    with _session_factory(_settings())() as session:
        throttle.unlock(session, username)
        session.commit()
    console.print(f"[green]已解锁 / unlocked[/green] {username}")


@sla_app.command("sweep")
def sla_sweep(loop: bool = typer.Option(False, help="keep running every sweep_interval_seconds")) -> None:
    """Mark overdue nodes and record automatic 督办 (one process at a time)."""
    from cityloop.cases.api import sweep_once
    from cityloop.db import make_engine, make_session_factory
    from cityloop.shared.clock import SystemClock

    settings = _settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    while True:
        count = sweep_once(engine, factory, settings, SystemClock().now())
        if count is None:
            console.print("[yellow]另一个进程正在执行 / another process holds the sweep lock[/yellow]")
        else:
            console.print(f"超时标记 / overdue marked: {count}")
        if not loop:
            break
        time.sleep(settings.sweep_interval_seconds)


@app.command()
def backup(archive: Path = typer.Argument(..., help="备份文件 / archive to write, e.g. backup-2026-11-25.tar.gz")) -> None:
    """Back up the database and the media files into one .tar.gz (safe while the server runs)."""
    from cityloop.db.backup import BackupError, backup as run_backup

    try:
        manifest = run_backup(_settings(), archive)
    except BackupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]已备份 / backed up[/green] {archive}: {manifest['rows']}, {manifest['media_files']} media files")


@app.command()
def restore(archive: Path = typer.Argument(..., exists=True, dir_okay=False),
            force: bool = typer.Option(False, help="overwrite a database that already holds data")) -> None:
    """Restore a backup into the configured database and media folder (stop the server first)."""
    from cityloop.db.backup import BackupError, restore as run_restore

    try:
        manifest = run_restore(_settings(), archive, force)
    except BackupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]已恢复 / restored[/green] {archive} ({manifest['created_at']}): {manifest['rows']}")


@app.command()
def scheduler() -> None:
    """Run the background jobs (overdue sweep, areas' jobs) in their own process, until SIGTERM.

    Start the API with CITYLOOP_SCHEDULER_IN_SERVER=false when this runs."""
    import asyncio

    from cityloop.app import create_app

    settings = _settings().model_copy(update={"scheduler_in_server": True})
    application = create_app(settings, serving=False)  # no logins here: the demo password check is serve's

    async def run() -> None:
        import signal

        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        async with application.router.lifespan_context(application):
            console.print("[green]后台任务已启动 / scheduler running[/green] (SIGTERM to stop)")
            await stop.wait()

    asyncio.run(run())
    console.print("后台任务已停止 / scheduler stopped")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the API server."""
    import uvicorn

    from cityloop.http import serving

    settings = _settings()
    _refuse_demo_passwords(settings)
    options = dict(app="cityloop.app:create_app", factory=True, host=host, port=port, log_level="info",
                   proxy_headers=True,
                   # uvicorn hints int but waits with asyncio.wait_for: fractions of a second work
                   timeout_graceful_shutdown=settings.shutdown_grace_seconds)
    if workers > 1 and serving.can_spread():  # a listening socket per worker: connections spread evenly
        console.print(f"API 工作进程 {workers} 个 / {workers} API workers on {host}:{port}")
        try:
            serving.run(options, host, port, workers, settings.shutdown_grace_seconds)
        except OSError as exc:
            console.print(f"[red]无法监听 / cannot listen on {host}:{port}:[/red] {exc}")
            raise typer.Exit(1) from exc
        return
    uvicorn.run(**options, workers=workers)  # type: ignore[arg-type]


@app.command()
def demo(port: int = typer.Option(8000, envvar="PORT"), host: str = "127.0.0.1",
         rebuild: bool = typer.Option(False, help="throw away the demo database and build it again"),
         no_serve: bool = typer.Option(False, "--no-serve", help="build only"),
         city: bool = typer.Option(False, "--city", help="咸阳市两级指挥演示 / the Xianyang city demo (city and "
                                                         "district centers)")) -> None:
    """Build the Lai'an county demo (SQLite) if needed, print the logins and serve it; --city: the 咸阳市 demo."""
    os.environ.setdefault("CITYLOOP_DEMO", "1")
    if city:  # its own database and base map beside the county demo's
        os.environ.setdefault("CITYLOOP_DATABASE_URL", "sqlite:///var/demo-city.db")
        os.environ.setdefault("CITYLOOP_MAP_TILES_PATH", "var/basemap-city.mbtiles")
    os.environ.setdefault("CITYLOOP_DATABASE_URL", "sqlite:///var/demo.db")
    from cityloop.shared.ports import listener_ports

    os.environ.update({k: str(v) for k, v in listener_ports(port, host, os.environ).items()})
    get_settings.cache_clear()
    settings = _settings()
    from cityloop.demo.build import build_demo, demo_logins

    if city:
        from cityloop.demo.city import build_city_demo, city_logins

        build_city_demo(settings, console, rebuild=rebuild)
        console.print(city_logins())
    else:
        build_demo(settings, console, rebuild=rebuild)
        console.print(demo_logins())
    if no_serve:
        return
    console.print(f"[bold green]CityLoop 演示已启动 / demo running:[/bold green] http://{host}:{port}/  (API: /docs)")
    console.print(f"JT/T 808 网关 / gateway: {settings.jt808_host}:{settings.jt808_port}  ·  "
                  f"HJ 212 接入 / listener: {settings.sensor_hj212_host}:{settings.sensor_hj212_port}")
    serve(host=host, port=port, workers=1)


# Command groups several areas add to: an area's `<group>_app` commands (or its whole app, when its CLI_NAME is
# the group's name) join `cityloop <group> …`.
SHARED_GROUPS = {"simulate": "模拟数据 / simulators: history, sensors, trucks …",
                 "ingest": "数据接入 / ingestion: mqtt …", "gateway": "接入网关 / device gateways: jt808, hj212 …"}


def _mount_optional() -> None:
    """Mount each area's `cli.app` under its CLI_NAME (default: the area name) and gather the shared groups."""
    from cityloop.areas import modules

    mounted = {group.name for group in app.registered_groups}
    groups = {name: typer.Typer(help=text, no_args_is_help=True) for name, text in SHARED_GROUPS.items()}
    for module in modules("cli"):
        area: str = getattr(module, "CLI_NAME", module.__name__.split(".")[1])
        if area in groups and hasattr(module, "app"):
            groups[area].registered_commands.extend(module.app.registered_commands)
        elif area not in mounted and hasattr(module, "app"):
            app.add_typer(module.app, name=area, help=getattr(module, "CLI_HELP", None))
        for shared, target in groups.items():
            extra = getattr(module, f"{shared}_app", None)
            target.registered_commands.extend(getattr(extra, "registered_commands", []))
    for name, group in groups.items():
        if name not in mounted and group.registered_commands:
            app.add_typer(group, name=name)


def main() -> None:
    """Console-script entry point."""
    _mount_optional()
    app()


if __name__ == "__main__":
    main()
