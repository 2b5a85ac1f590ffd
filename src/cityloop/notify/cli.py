"""`cityloop notify …`: run the delivery worker, check and save templates, look at the outbox and delivery log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from cityloop.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

CLI_NAME = "notify"
CLI_HELP = "消息通知 / notifications: delivery worker, templates, delivery log"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
console = Console()


def _settings() -> Settings:
    from cityloop.cli import _settings

    return _settings()


def _factory(settings: Settings) -> sessionmaker[Session]:
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


@app.command("worker")
def worker(seconds: float = typer.Option(0, help="stop after this many seconds (0: until SIGTERM/Ctrl-C)")) -> None:
    """Send what the outbox holds (run it beside a server started with CITYLOOP_SCHEDULER_IN_SERVER=false)."""
    import signal
    import threading

    from cityloop.notify.worker import run

    settings = _settings()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print("[green]消息投递已启动 / delivery worker running[/green]")
    sent = run(_factory(settings), settings, seconds, stop=stop.is_set)
    console.print(f"已发送 / sent: {sent}")


@app.command("template")
def template(event_kind: str = typer.Argument(..., help="事件类型 / event kind, e.g. dispatched"),
             channel: str = typer.Argument(..., help="inbox | sms | wecom | dingtalk | email | webhook"),
             title: str = typer.Option(..., help="标题 / title with ${var}s"),
             body: str = typer.Option(..., help="正文 / body with ${var}s"),
             provider_code: Optional[str] = typer.Option(None, help="短信模板号 / SMS provider template code")) -> None:
    """Save a template; an unknown ${variable} is refused with the allowed ones (exit code 2)."""
    from pydantic import ValidationError

    from cityloop.notify import admin
    from cityloop.notify.schemas import TemplateIn
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.errors import AppError

    try:
        data = TemplateIn(event_kind=event_kind, channel=channel, title=title, body=body, provider_code=provider_code)
        with _factory(_settings())() as session:
            admin.save_template(session, data, SystemClock().now())
    except ValidationError as exc:
        console.print(f"[red]输入无效 / invalid input:[/red] {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(2) from exc
    except AppError as exc:
        console.print(f"[red]{exc.zh}[/red]\n{exc.en}")
        raise typer.Exit(2) from exc
    console.print(f"[green]已保存 / saved[/green] {event_kind}/{channel}")


@app.command("log")
def log(status: Optional[str] = typer.Option(None, help="sent | failed | parked | deferred"),
        limit: int = typer.Option(30, min=1, max=1000)) -> None:
    """The newest delivery attempts."""
    from cityloop.notify import admin

    with _factory(_settings())() as session:
        for d in admin.deliveries(session, status, limit=limit):
            console.print(f"{d['at']:%Y-%m-%d %H:%M:%S} #{d['message_id']} {d['channel']} {d['address']} "
                          f"try {d['attempt']} {d['status']} {d['error'] or d['response'] or ''}")
