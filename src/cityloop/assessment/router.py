"""Assessment API: rankings per object kind and period, the cases behind every figure, analysis, publishing and
the monthly report files. Public and console pages are in views.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.state import AppState
from cityloop.assessment import access, analysis, annual, report, service
from cityloop.assessment.models import Publication
from cityloop.assessment.pages import console, fresh, period_or_last, public
from cityloop.assessment.schemas import (AnnualOut, AssessmentOut, DrillOut, PeriodStatusOut, PublicationOut, PublishIn)
from cityloop.deps import ActorDep, SessionDep, StateDep, require_roles
from cityloop.org.actor import Actor
from cityloop.shared.errors import AppError, NotFound
from cityloop.config import Settings

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment 综合评价"])
extra_routers = [public, console]
PERIOD = Query(None, max_length=40, description="2026-10 | 2026-Q4 | 2026 | 2026-10-01..2026-10-15 (默认上月)")
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@router.get("/analysis", response_model=None)
def get_analysis(state: StateDep, session: SessionDep, actor: ActorDep, period: str | None = PERIOD) -> dict[str, Any]:
    """分析 / Hot spots by grid and category, sources, monthly trend and the most overdue departments."""
    access.require_citywide(actor)
    wanted = period_or_last(state, period)
    fresh(state)
    return analysis.analysis(session, state.settings, wanted, state.clock.now())


@router.get("/periods", response_model=list[PublicationOut])
def list_periods(session: SessionDep, actor: ActorDep) -> list[Publication]:
    """已发布期间 / Published (frozen) periods, newest first."""
    access.require_citywide(actor)
    return list(session.scalars(select(Publication).order_by(Publication.published_at.desc()).limit(500)))


@router.get("/periods/{period}", response_model=PeriodStatusOut)
def period_status(period: str, state: StateDep, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """期间状态 / Whether a period is published and whether its inputs changed since (checksum)."""
    access.require_citywide(actor)
    wanted = service.period_of(period)
    fresh(state)
    return service.status(session, state.settings, wanted)


@router.post("/periods/{period}/publish", response_model=PublicationOut, status_code=201)
def publish(period: str, state: StateDep, session: SessionDep,
            actor: Annotated[Actor, Depends(require_roles(*access.PUBLISHERS))], body: PublishIn | None = None
            ) -> Publication:
    """发布 / Freeze a finished period: every kind's figures as of now, with the checksum of their inputs."""
    access.require_citywide(actor)
    wanted = service.period_of(period)
    fresh(state)
    return service.publish(session, state.settings, wanted, state.clock.now(), actor.display_name, body.note if body else None)


@router.get("/reports/monthly/{name}", response_class=Response,
            responses={200: {"content": {media: {} for media in MEDIA.values()}}})
def monthly_report(name: str, state: StateDep, session: SessionDep, actor: ActorDep) -> Response:
    """月报 / The monthly report, e.g. 2026-10.xlsx, 2026-10.pdf or the 通报 2026-10.docx."""
    access.require_citywide(actor)
    stem, _, fmt = name.rpartition(".")
    if fmt not in MEDIA:
        raise NotFound("unknown-format", "报告格式应为 .xlsx、.pdf 或 .docx", "The report is .xlsx, .pdf or .docx")
    wanted = service.period_of(stem)
    fresh(state)
    settings = state.settings
    data = report.monthly(session, settings, wanted, state.clock.now())
    body = report.xlsx(data) if fmt == "xlsx" else _printed(fmt, data, settings)
    return Response(body, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="assessment-{wanted.key}.{fmt}"'})


YEAR = Query(..., ge=2000, le=2100, description="考核年度, e.g. 2026")
UNIT_TYPE = Query("department", max_length=40, description="department, street, inspector, …")


def _annual(state: AppState, session: Session, actor: Actor, year: int, unit_type: str) -> dict[str, Any]:
    access.require_citywide(actor)
    kind = service.kind_of(unit_type)
    fresh(state)
    return annual.annual(session, state.settings, year, kind, state.clock.now())


@router.get("/annual", response_model=AnnualOut)
def annual_result(state: StateDep, session: SessionDep, actor: ActorDep, year: int = YEAR,
                  unit_type: str = UNIT_TYPE) -> dict[str, Any]:
    """年度考核结果 / Per unit: the year's monthly scores, annual score, grade and 考核奖惩."""
    return _annual(state, session, actor, year, unit_type)


@router.get("/reports/annual/{year}.xlsx", response_class=Response, responses={200: {"content": {MEDIA["xlsx"]: {}}}})
def annual_report(state: StateDep, session: SessionDep, actor: ActorDep, year: int = Path(..., ge=2000, le=2100),
                  unit_type: str = UNIT_TYPE) -> Response:
    """年度考核结果 (Excel) for the 文明单位/目标责任 assessment."""
    body = annual.xlsx(_annual(state, session, actor, year, unit_type))
    return Response(body, media_type=MEDIA["xlsx"],
                    headers={"Content-Disposition": f'attachment; filename="assessment-annual-{year}-{unit_type}.xlsx"'})


def _printed(fmt: str, data: dict[str, Any], settings: Settings) -> bytes:
    """The PDF or Word form; a 503 that says which package to install when no Chinese font is there."""
    from cityloop.assessment import pdf, word

    try:
        render = pdf.render if fmt == "pdf" else word.render
        return render(data, settings.assessment_font)
    except (pdf.FontMissing, word.ChartFontMissing) as exc:
        raise AppError("no-cjk-font", pdf.FontMissing.zh, pdf.FontMissing.en, status=503) from exc


@router.get("/{object_kind}", response_model=AssessmentOut)
def assessment(object_kind: str, state: StateDep, session: SessionDep, actor: ActorDep,
               period: str | None = PERIOD) -> dict[str, Any]:
    """考核排名 / Counters, rates, score, grade and rank of every object of a kind in a period.

    Kinds: department, district, street, community, grid, inspector, operator, shift_lead, dispatcher."""
    kind = service.kind_of(object_kind)
    own = access.own_key(actor, kind)
    wanted = period_or_last(state, period)
    fresh(state)
    out = service.assessment(session, state.settings, wanted, kind, state.clock.now())
    rows = access.in_district(session, kind, access.only_own(out["rows"], own), access.district_of(actor))
    return out | {"rows": rows}


@router.get("/{object_kind}/{object_id}/cases", response_model=DrillOut)
def cases_behind(object_kind: str, object_id: str, state: StateDep, session: SessionDep, actor: ActorDep,
                 period: str | None = PERIOD,
                 figure: str = Query(..., max_length=40, description="计数指标名, e.g. handled_on_time"),
                 page: int = Query(1, ge=1, le=100_000), size: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    """指标明细 / The cases behind one object's figure in a period."""
    kind = service.kind_of(object_kind)
    own = access.own_key(actor, kind)
    key = service.object_key(kind, object_id)
    if own is not None and key != own:
        raise NotFound("unknown-object", f"评价对象 {object_id} 不存在", f"No {kind} {object_id}")
    access.check_in_district(session, kind, key, access.district_of(actor))
    wanted = period_or_last(state, period)
    fresh(state)
    return service.cases_behind(session, state.settings, wanted, kind, key, figure, state.clock.now(), page, size)
