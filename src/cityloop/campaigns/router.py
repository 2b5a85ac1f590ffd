"""Campaign endpoints (专项普查): create and list, an inspector's tasks, checks, tags, progress and its export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session

from cityloop.state import app_state
from cityloop.audit import service as audit
from cityloop.campaigns import export, service
from cityloop.campaigns.pages import extra_routers  # noqa: F401 - mounted by the app with this module
from cityloop.campaigns.schemas import CampaignIn, CampaignOut, CheckIn, ProgressOut, TagIn, TaskOut
from cityloop.deps import get_session, require_roles
from cityloop.org.actor import Actor

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns 专项普查"])
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _now(request: Request):
    return app_state(request.app).clock.now()


@router.post("", response_model=CampaignOut, status_code=201)
def create(body: CampaignIn, request: Request, session: Session = Depends(get_session),
           actor: Actor = Depends(require_roles(*service.MANAGERS))):
    """新建专项普查 / Create a campaign: theme, matters, window, duty grids, inspectors, checklist."""
    audit.record(session, actor, "campaign.create", body.name, body.model_dump(mode="json"), _now(request))
    return service.create(session, body, actor, app_state(request.app).settings.catalog_standard, _now(request))


@router.get("", response_model=list[CampaignOut])
def listing(request: Request, session: Session = Depends(get_session),
            _: Actor = Depends(require_roles(*service.VIEWERS))):
    """专项普查列表 / Every campaign, newest first."""
    return service.listing(session, _now(request))


@router.get("/tasks", response_model=list[TaskOut])
def tasks(request: Request, session: Session = Depends(get_session),
          actor: Actor = Depends(require_roles("inspector"))):
    """我的普查任务 / The running campaigns I am assigned to, with what is left to verify in my grids."""
    return service.tasks(session, actor, _now(request))


@router.get("/{campaign_id}", response_model=CampaignOut)
def one(campaign_id: RowId, request: Request, session: Session = Depends(get_session),
        _: Actor = Depends(require_roles(*service.VIEWERS))):
    """单个专项普查 / One campaign."""
    return service.campaign_out(session, service.get(session, campaign_id), _now(request))


@router.post("/{campaign_id}/checks", response_model=ProgressOut)
def check(campaign_id: RowId, body: CheckIn, request: Request, session: Session = Depends(get_session),
          actor: Actor = Depends(require_roles("inspector", *service.MANAGERS))):
    """核查完成 / Mark a checklist item verified in a duty grid (assigned inspectors, while running)."""
    return service.check(session, campaign_id, actor, body.item_id, body.grid, body.note, _now(request))


@router.post("/{campaign_id}/cases", response_model=ProgressOut)
def tag(campaign_id: RowId, body: TagIn, request: Request, session: Session = Depends(get_session),
        actor: Actor = Depends(require_roles("operator", *service.MANAGERS))):
    """标记案件 / Tag a case as found by the campaign."""
    audit.record(session, actor, "campaign.tag", str(campaign_id), {"case_id": body.case_id}, _now(request))
    return service.tag(session, campaign_id, body.case_id, _now(request))


@router.get("/{campaign_id}/cases", response_model=list[int])
def cases(campaign_id: RowId, session: Session = Depends(get_session),
          _: Actor = Depends(require_roles(*service.VIEWERS))):
    """普查发现的案件 / Ids of the cases the campaign found."""
    service.get(session, campaign_id)
    return service.case_ids(session, campaign_id)


@router.get("/{campaign_id}/progress", response_model=ProgressOut)
def progress(campaign_id: RowId, request: Request, session: Session = Depends(get_session),
             _: Actor = Depends(require_roles(*service.VIEWERS))):
    """进度 / Per duty grid: checklist done/total, cases found, closed; and overall."""
    return service.report(session, campaign_id, _now(request))


@router.get("/{campaign_id}/progress.xlsx", response_class=Response)
def progress_xlsx(campaign_id: RowId, request: Request, session: Session = Depends(get_session),
                  _: Actor = Depends(require_roles(*service.VIEWERS))):
    """进度导出 Excel / The progress report as an .xlsx file."""
    data = export.workbook(service.report(session, campaign_id, _now(request)))
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.xlsx"',
                             "Cache-Control": "no-store"})
