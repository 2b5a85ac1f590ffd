"""`cityloop audit verify|seal|anchor`: check the tamper-evident history, link it, and anchor it outside the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from cityloop.config import Settings

app = typer.Typer(no_args_is_help=True)
CLI_HELP = "审计 / audit: verify the tamper-evident history"
console = Console()


def _open() -> tuple[Settings, bytes, Engine, sessionmaker[Session]]:
    from cityloop.audit.keys import AuditKeyError, audit_key
    from cityloop.cli import _settings
    from cityloop.db import make_engine, make_session_factory

    settings = _settings()
    try:
        key = audit_key(settings)
    except AuditKeyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    engine = make_engine(settings.database_url)
    return settings, key, engine, make_session_factory(engine)


def _seal(engine: Engine, factory: sessionmaker[Session], key: bytes) -> int:
    from cityloop.audit.trail import seal_all
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.singleton import only_one

    with only_one(engine, "audit-seal") as mine, factory() as session:
        if not mine:
            console.print("[yellow]另一个进程正在封存 / another process is sealing; checking what is sealed[/yellow]")
            return 0
        return seal_all(session, key, SystemClock().now())


@app.command("verify")
def verify(seal: bool = typer.Option(True, help="first link new entries into the global chain (--no-seal: read only)")
           ) -> None:
    """Check that no case, case event or administrative log entry was edited, forged or deleted (exit 1 if so)."""
    from cityloop.audit.trail import verify_all

    settings, key, engine, factory = _open()
    if seal:
        _seal(engine, factory, key)
    with factory() as session:
        report = verify_all(session, key, settings.audit_anchor_file)
    for p in report.problems[:200]:
        console.print(f"[red]{p.where}[/red] {p.what}", soft_wrap=True)
    if report.problems:
        console.print(f"[red]发现 {len(report.problems)} 处不一致 / {len(report.problems)} problems[/red]")
        raise typer.Exit(1)
    where = (f"{report.anchors} 个锚点 anchors in {settings.audit_anchor_file}" if report.anchors
             else "[yellow]无锚点 / no anchors (set CITYLOOP_AUDIT_ANCHOR_FILE)[/yellow]")
    console.print(f"[green]审计链完整 / the audit trail is intact[/green]: {report.events} 条案件记录 case events, "
                  f"{report.sealed} 条已封存 sealed in the global chain, {where}")


@app.command("seal")
def seal_command() -> None:
    """Link every new case event and admin entry into the global chain now."""
    _, key, engine, factory = _open()
    console.print(f"已封存 / sealed: {_seal(engine, factory, key)}")


@app.command("anchor")
def anchor() -> None:
    """Seal, then append the chain head (length, MAC, time) to the anchor file outside the database."""
    from cityloop.audit.service import chain_head, write_anchor
    from cityloop.shared.clock import SystemClock

    settings, key, engine, factory = _open()
    if settings.audit_anchor_file is None:
        console.print("[red]未设置锚点文件 / set CITYLOOP_AUDIT_ANCHOR_FILE first[/red]")
        raise typer.Exit(2)
    _seal(engine, factory, key)
    with factory() as session:
        seq, mac = chain_head(session)
    write_anchor(settings.audit_anchor_file, seq, mac, SystemClock().now())
    console.print(f"[green]已锚定 / anchored[/green] {seq} entries → {settings.audit_anchor_file}")
