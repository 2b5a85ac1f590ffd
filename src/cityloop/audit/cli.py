"""`cityloop audit verify`: recompute the case event chains and the administrative log."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True)
CLI_HELP = "审计 / audit: verify the tamper-evident history"
console = Console()


@app.command("verify")
def verify() -> None:
    """Check that no case event and no administrative log entry was edited or deleted (exit 1 if any was)."""
    from cityloop.audit.service import verify_admin_log, verify_case_events
    from cityloop.cli import _session_factory, _settings

    with _session_factory(_settings())() as session:
        checked, problems = verify_case_events(session)
        problems += verify_admin_log(session)
    for p in problems[:200]:
        console.print(f"[red]{p.where}[/red] {p.what}")
    if problems:
        console.print(f"[red]发现 {len(problems)} 处不一致 / {len(problems)} problems[/red]")
        raise typer.Exit(1)
    console.print(f"[green]审计链完整 / the audit trail is intact[/green]: {checked} 条案件记录 case events")
