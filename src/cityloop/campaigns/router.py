"""Campaign endpoints (专项普查): create and list, an inspector's tasks, checks, tags, progress and its export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from cityloop.audit import service as audit
from cityloop.campaigns import export, service
from cityloop.campaigns.case_hooks import TOPIC
from cityloop.campaigns.pages import extra_routers  # noqa: F401 - mounted by the app with this module
from cityloop.campaigns.schemas import CampaignIn, CampaignOut, CheckIn, ProgressOut, TagIn, TaskOut
from cityloop.deps import ClockDep, SessionDep, SettingsDep, StateDep, require_roles
from cityloop.org.actor import Actor

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns 专项普查"])
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ViewerDep = Annotated[Actor, Depends(require_roles(*service.VIEWERS))]


@router.post("", response_model=CampaignOut, status_code=201)
def create(body: CampaignIn, session: SessionDep, actor: Annotated[Actor, Depends(require_roles(*service.MANAGERS))],
           settings: SettingsDep, clock: ClockDep, state: StateDep) -> CampaignOut:
    """新建专项普查 / Create a campaign: theme, matters, window, duty grids, inspectors, checklist."""
    audit.record(session, actor, "campaign.create", body.name, body.model_dump(mode="json"), clock.now())
    out = service.create(session, body, actor, settings.catalog_standard, clock.now())
    state.changes.announce(TOPIC)  # every host's intake tags cases to it at once
    return out


@router.get("", response_model=list[CampaignOut])
def listing(session: SessionDep, _: ViewerDep, clock: ClockDep) -> list[CampaignOut]:
    """专项普查列表 / Every campaign, newest first."""
    return service.listing(session, clock.now())


@router.get("/tasks", response_model=list[TaskOut])
def tasks(session: SessionDep, actor: Annotated[Actor, Depends(require_roles("inspector"))],
          clock: ClockDep) -> list[TaskOut]:
    """我的普查任务 / The running campaigns I am assigned to, with what is left to verify in my grids."""
    return service.tasks(session, actor, clock.now())


@router.get("/{campaign_id}", response_model=CampaignOut)
def one(campaign_id: RowId, session: SessionDep, _: ViewerDep, clock: ClockDep) -> CampaignOut:
    """单个专项普查 / One campaign."""
    return service.campaign_out(session, service.get(session, campaign_id), clock.now())


@router.post("/{campaign_id}/checks", response_model=ProgressOut)
def check(campaign_id: RowId, body: CheckIn, session: SessionDep,
          actor: Annotated[Actor, Depends(require_roles("inspector", *service.MANAGERS))],
          clock: ClockDep) -> ProgressOut:
    """核查完成 / Mark a checklist item verified in a duty grid (assigned inspectors, while running)."""
    return service.check(session, campaign_id, actor, body.item_id, body.grid, body.note, clock.now())


@router.post("/{campaign_id}/cases", response_model=ProgressOut)
def tag(campaign_id: RowId, body: TagIn, session: SessionDep,
        actor: Annotated[Actor, Depends(require_roles("operator", *service.MANAGERS))],
        clock: ClockDep) -> ProgressOut:
    """标记案件 / Tag a case as found by the campaign."""
    audit.record(session, actor, "campaign.tag", str(campaign_id), {"case_id": body.case_id}, clock.now())
    return service.tag(session, campaign_id, body.case_id, clock.now())


@router.get("/{campaign_id}/cases", response_model=list[int])
def cases(campaign_id: RowId, session: SessionDep, _: ViewerDep) -> list[int]:
    """普查发现的案件 / Ids of the cases the campaign found."""
    service.get(session, campaign_id)
    return service.case_ids(session, campaign_id)


@router.get("/{campaign_id}/progress", response_model=ProgressOut)
def progress(campaign_id: RowId, session: SessionDep, _: ViewerDep, clock: ClockDep) -> ProgressOut:
    """进度 / Per duty grid: checklist done/total, cases found, closed; and overall."""
    return service.report(session, campaign_id, clock.now())


@router.get("/{campaign_id}/progress.xlsx", response_class=Response)
def progress_xlsx(campaign_id: RowId, session: SessionDep, _: ViewerDep, clock: ClockDep) -> Response:
    """进度导出 Excel / The progress report as an .xlsx file."""
    data = export.workbook(service.report(session, campaign_id, clock.now()))
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.xlsx"',
                             "Cache-Control": "no-store"})
