"""`cityloop report …`: monthly reports (Excel/PDF), publishing a period, the projection refresh, a ranking in
the terminal; and `cityloop simulate history`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Optional

import typer
from rich.table import Table

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from cityloop.assessment.method import Method
    from cityloop.config import Settings

CLI_NAME = "report"
CLI_HELP = "综合评价 / assessment: 月报、发布、排名"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True, add_completion=False)
simulate_app = typer.Typer()


def _fail(zh: str, en: str) -> NoReturn:
    from cityloop.cli import console

    console.print(f"[red]{zh}[/red] / {en}")
    raise typer.Exit(1)


@contextmanager
def _use_case(migrate: bool = False) -> Iterator[tuple[Settings, Session, datetime]]:
    """Settings, a session and the current time; errors end the command with a message, not a traceback."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from cityloop.assessment.periods import PeriodError
    from cityloop.assessment.pdf import FontMissing
    from cityloop.assessment.word import ChartFontMissing
    from cityloop.cli import _session_factory, _settings
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.errors import AppError

    settings = _settings()
    try:
        if migrate:
            from cityloop.db.migrate import upgrade

            upgrade(settings.database_url)
        factory = _session_factory(settings)
        if not inspect(factory.kw["bind"]).has_table("assess_case_stats"):
            _fail("数据库中没有考核表，请先运行 cityloop db upgrade",
                  "The assessment tables do not exist: run `cityloop db upgrade` first")
        with factory() as session:
            yield settings, session, SystemClock().now()
    except AppError as exc:
        _fail(exc.zh, exc.en)
    except (PeriodError, FontMissing, ChartFontMissing) as exc:
        _fail(getattr(exc, "zh", str(exc)), str(exc))
    except SQLAlchemyError as exc:
        _fail(f"数据库错误：{type(exc).__name__}", f"database error: {str(exc).splitlines()[0][:200]}")


@app.command("monthly")
def monthly(period: str = typer.Argument(..., help="2026-10 (also 2026-Q4, 2026, 2026-10-01..2026-10-15)"),
            fmt: str = typer.Option("xlsx", "--format", help="xlsx | pdf | docx (the 通报 as a Word document)"),
            out: Optional[Path] = typer.Option(None, "--out", help="file to write (default assessment-<period>.<fmt>)")
            ) -> None:
    """月报 / Write the monthly report as Excel, PDF or Word (通报)."""
    from cityloop.assessment import projection, report, service
    from cityloop.cli import console

    if fmt not in ("xlsx", "pdf", "docx"):
        _fail("格式应为 xlsx、pdf 或 docx", "--format is xlsx, pdf or docx")
    with _use_case() as (settings, session, now):
        wanted = service.period_of(period)
        projection.refresh(session, settings, now)
        data = report.monthly(session, settings, wanted, now)
        if fmt in ("pdf", "docx"):
            from cityloop.assessment import pdf, word

            body = (pdf if fmt == "pdf" else word).render(data, settings.assessment_font)
        else:
            body = report.xlsx(data)
    target = out or Path(f"assessment-{wanted.key}.{fmt}")
    target.write_bytes(body)
    source = "已发布 published" if data["source"] == "published" else "实时计算 computed live"
    console.print(f"[green]已生成 / written[/green] {target} ({len(body):,} bytes, {source})")


@app.command("publish")
def publish(period: str, note: Optional[str] = None) -> None:
    """发布 / Freeze a finished period's figures with the checksum of their inputs."""
    from cityloop.assessment import projection, service
    from cityloop.cli import console

    with _use_case() as (settings, session, now):
        projection.refresh(session, settings, now)
        pub = service.publish(session, settings, service.period_of(period), now, "命令行 / CLI", note)
    console.print(f"[green]已发布 / published[/green] {pub.period}: {pub.cases} 件案件 cases, sha256 {pub.checksum}")


@app.command("refresh")
def refresh(rebuild: bool = typer.Option(False, help="derive every case again from its events")) -> None:
    """Fold new case events into the assessment projection (or rebuild it)."""
    from cityloop.assessment import projection
    from cityloop.cli import console

    with _use_case() as (settings, session, now):
        done = projection.refresh(session, settings, now, rebuild=rebuild)
    console.print(f"考核数据已更新 / projection refreshed: {done} 件案件 cases")


@app.command("show")
def show(period: str, kind: str = typer.Option("department", help="department, street, inspector, …")) -> None:
    """排名 / Print a kind's ranking for a period."""
    from cityloop.assessment import projection, service
    from cityloop.cli import console

    with _use_case() as (settings, session, now):
        projection.refresh(session, settings, now)
        out = service.assessment(session, settings, service.period_of(period), service.kind_of(kind), now)
    table = Table(title=f"{out['label']} {out['kind_name']} ({out['source']}, {out['cases']} cases)")
    for header in ("组 group", "排名 rank", "名称 name", "得分 score", "等级 grade"):
        table.add_column(header)
    for row in out["rows"]:
        table.add_row(row["group_name"], str(row["rank"] or "—"), row["name"],
                      "—" if row["score"] is None else f"{row['score']:.2f}", row["grade"] or "—")
    console.print(table)


@simulate_app.command("history")
def simulate_history(months: int = typer.Option(3, min=1, max=24, help="how many months back from now"),
                     per_day: int = typer.Option(24, min=1, max=2000, help="cases on a working day (about)"),
                     seed: int = typer.Option(20261201, help="random seed (same seed, same history)")) -> None:
    """模拟历史 / Months of case history through the real workflow, on the demo county (built when empty)."""
    from rich.progress import Progress

    from cityloop.assessment.simulate import history
    from cityloop.cli import console

    with _use_case(migrate=True) as (settings, session, now), Progress(console=console) as bar:
        task = bar.add_task("历史案件 / history", total=None)
        made = history(session, settings, now, months, per_day, seed,
                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"[green]已生成 / generated[/green] {made} 件案件 cases over {months} months")


method_app = typer.Typer(help="考核办法 / the assessment method file: show or check", no_args_is_help=True)
app.add_typer(method_app, name="method")


def _method(file: Optional[str]) -> Method:
    from cityloop.assessment import method
    from cityloop.cli import _settings

    try:
        return method.load(file or _settings().assessment_method_file)
    except method.MethodError as exc:
        _fail("考核办法文件无效", str(exc))


@method_app.command("check")
def method_check(file: str = typer.Argument(..., help="a .toml/.json file, or a preset: reference | deployed")) -> None:
    """检查 / Validate a 考核办法 file (exit 1 with the fault when it is bad)."""
    from cityloop.cli import console

    m = _method(file)
    console.print(f"考核办法 {m.name!r} OK / valid")


@method_app.command("show")
def method_show(file: Optional[str] = typer.Argument(None, help="default: CITYLOOP_ASSESSMENT_METHOD_FILE")) -> None:
    """显示 / Print the effective weights, bands, grades, options and 奖惩 rules."""
    import json

    from cityloop.cli import console

    m = _method(file)
    cfg = m.config()
    console.print_json(json.dumps({"name": m.name, "options": cfg.options, "weights": cfg.weights, "bands": cfg.bands,
                                   "grades": cfg.grades, "rewards": [r.model_dump(exclude_none=True)
                                                                     for r in m.rewards]}, ensure_ascii=False))


@app.command("annual")
def annual_cmd(year: int = typer.Option(..., min=2000, max=2100, help="考核年度"),
               unit_type: str = typer.Option("department", help="department, street, inspector, …"),
               out: Optional[Path] = typer.Option(None, "--out", help="default assessment-annual-<year>.xlsx")) -> None:
    """年度考核结果 / Write the year's result per unit (scores, grade, 奖惩) as Excel."""
    from cityloop.assessment import annual, projection, service
    from cityloop.cli import console

    with _use_case() as (settings, session, now):
        projection.refresh(session, settings, now)
        data = annual.annual(session, settings, year, service.kind_of(unit_type), now)
    target = out or Path(f"assessment-annual-{year}-{unit_type}.xlsx")
    target.write_bytes(annual.xlsx(data))
    console.print(f"{target} ({len(data['units'])} units)")
