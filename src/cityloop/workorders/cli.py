"""`cityloop workorders send|outbox|sign`: flush the 12345 outbox now, see what waits, sign a test webhook."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.console import Console
from cityloop.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CLI_NAME = "workorders"
CLI_HELP = "12345 工单对接 / 12345 work-order exchange: outbox and signatures"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
console = Console()


def _session(settings: Settings) -> Session:
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))()


def _settings() -> Settings:
    from cityloop.cli import _settings as load

    return load()


@app.command("send")
def send() -> None:
    """Post the messages that are due to the 12345 platform now (what the server task does every few seconds)."""
    import httpx

    from cityloop.workorders.sender import http_post, send_due

    settings = _settings()
    if not settings.workorder_platform_url:
        console.print("[red]未配置 CITYLOOP_WORKORDER_PLATFORM_URL / no 12345 platform URL is set[/red]")
        raise typer.Exit(2)
    with _session(settings) as session, httpx.Client() as client:
        sent = send_due(session, settings, datetime.now(timezone.utc), http_post(settings, client))
    console.print(f"已发送 / sent: {sent}")
    outbox()


@app.command("outbox")
def outbox() -> None:
    """List the messages not yet acknowledged by the platform, oldest first, with their last error."""
    from sqlalchemy import select

    from cityloop.workorders.models import WorkOrder, WorkOrderMessage

    settings = _settings()
    with _session(settings) as session:
        rows = session.execute(select(WorkOrderMessage, WorkOrder.external_no).join(WorkOrder)
                               .where(WorkOrderMessage.sent_at.is_(None)).order_by(WorkOrderMessage.id)).all()
    console.print(f"待发送 / pending: {len(rows)}")
    for msg, number in rows:
        console.print(f"{number} {msg.kind:8s} attempts={msg.attempts} next={msg.next_attempt_at.isoformat()} "
                      f"{msg.last_error or ''}", markup=False, soft_wrap=True)


@app.command("sign")
def sign(file: Path = typer.Argument(..., help="a 工单 JSON file, sent as it is"),
         timestamp: int = typer.Option(None, help="Unix seconds (default: now)")) -> None:
    """Print the headers that sign FILE for POST /api/v1/workorders/12345 (to try the webhook with curl)."""
    from cityloop.workorders.domain import sign as make

    settings = _settings()
    if settings.workorder_secret is None:
        console.print("[red]未配置 CITYLOOP_WORKORDER_SECRET / no shared secret is set[/red]")
        raise typer.Exit(2)
    if not file.is_file():
        console.print(f"[red]文件不存在 / no such file:[/red] {file}")
        raise typer.Exit(2)
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = make(settings.workorder_secret.get_secret_value(), stamp, file.read_bytes())
    print(f"X-12345-Timestamp: {stamp}")
    print(f"X-12345-Signature: {signature}")
