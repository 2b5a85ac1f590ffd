"""Machine-to-machine intake: the video-analytics webhook and 上级交办 assignments (API key or a leader's login)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityloop.channels import assign, http, service, video
from cityloop.channels.schemas import AssignIn, AssignOut, VideoEventIn, VideoEventOut
from cityloop.config import Settings
from cityloop.deps import GridIndexDep, SessionDep, StateDep, current_actor, oauth2
from cityloop.org.actor import Actor
from cityloop.shared.errors import Forbidden, Unauthorized

router = APIRouter(prefix="/api/v1/intake", tags=["channels 上报渠道"])
KEY_DOC = [{"name": "X-Api-Key", "in": "header", "required": False, "schema": {"type": "string"}}]
ASSIGNERS = ("leader", "shift_lead", "admin")


def _require_key(request: Request, session: Session, settings: Settings, kind: str) -> None:
    raw = request.headers.get("x-api-key") or request.query_params.get("api_key")
    if not service.key_ok(session, settings, kind, raw):
        raise Forbidden("bad-api-key", "缺少或无效的 API key", "Missing or invalid API key")


def _json(model: BaseModel, created: bool) -> Response:
    return Response(model.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


@router.post("/video", response_model=VideoEventOut, status_code=201, openapi_extra={"parameters": KEY_DOC})
async def video_event(request: Request, session: SessionDep, state: StateDep, index: GridIndexDep) -> Response:
    """视频抓拍 / An event from the video-analytics system (JSON with `snapshot_base64`, or multipart `data` +
    `snapshot`). Repeats of one camera's event within the window note the open case; 200 then, 201 for a new case."""
    with state.read_session_factory() as reads:
        _require_key(request, reads, state.settings, "video")
    raw, files = await http.read_body(request, state.settings, "snapshot", 1)
    body = http.validate(VideoEventIn, raw)
    image = video.snapshot_of(body, files)
    locate = index.locate

    def run() -> Response:
        with state.read_session_factory() as reads:
            ctx = http.make_ctx(state, session, service.channel_actor("video"), reads=reads)
            out = video.ingest(ctx, body, image, locate)
        http.save_photos(ctx)
        return _json(out, out.created)

    return await run_in_threadpool(run)


async def _assigner(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Actor | None:
    """A leader's login, or None when the call carries an upper platform's API key instead."""
    if token or request.cookies.get("cl_token"):
        actor = await current_actor(request, token)
        if not actor.has(*ASSIGNERS):
            raise Forbidden("role-required", "需要角色：领导/值班长", "Requires role: leader or shift lead")
        return actor
    if not (request.headers.get("x-api-key") or request.query_params.get("api_key")):
        raise Unauthorized("not-authenticated", "请先登录或提供 API key", "Log in or send an API key")
    return None


@router.post("/assigned", response_model=AssignOut, status_code=201, openapi_extra={"parameters": KEY_DOC})
def assigned(body: AssignIn, request: Request, session: SessionDep,
             person: Annotated[Actor | None, Depends(_assigner)], state: StateDep, index: GridIndexDep) -> Response:
    """上级交办 / Assign a case with a required deadline (an upper platform's key, or a leader). The same
    external_ref never opens a second case."""
    with state.read_session_factory() as reads:
        if person is None:
            _require_key(request, reads, state.settings, "assign")
        ctx = http.make_ctx(state, session, person or service.channel_actor("assigned"), reads=reads)
        out = assign.assign(ctx, body, index.locate)
    return _json(out, out.created)
