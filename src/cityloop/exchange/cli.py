"""`cityloop exchange …`: the link's state, and the county's monthly figures reported upward."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cityloop.config import Settings

CLI_NAME = "exchange"
CLI_HELP = "数据交换 / data exchange with the upper platform: status, monthly figures"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)


def _settings() -> Settings:
    from cityloop.cli import _settings

    return _settings()


def _session() -> Session:
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(_settings().database_url))()


@app.command()
def status() -> None:
    """本平台上报链路与下级平台链路 / The uplink (county) and every linked platform (city), as JSON."""
    from cityloop.exchange import queries
    from cityloop.shared.clock import SystemClock

    settings, now = _settings(), SystemClock().now()
    with _session() as session:
        out = {"uplink": queries.uplink(session, settings, now) if settings.exchange_upstream_url else None,
               "links": queries.links(session, settings, now)}
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@app.command("report-month")
def report_month(month: str = typer.Argument(..., help="YYYY-MM")) -> None:
    """把本月考核数据放入发件箱 / Queue this platform's monthly figures (assessment.monthly) for the upper platform."""
    from cityloop.exchange import records
    from cityloop.shared.clock import SystemClock

    settings = _settings()
    if not settings.exchange_upstream_url:
        typer.echo("未配置上级平台（CITYLOOP_EXCHANGE_UPSTREAM_URL）/ no upper platform configured", err=True)
        raise typer.Exit(2)
    try:
        with _session() as session:
            figures = records.queue_month(session, settings, month, SystemClock().now())
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(figures, ensure_ascii=False))
