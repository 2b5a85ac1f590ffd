"""Machine-to-machine intake: the video-analytics webhook and 上级交办 assignments (API key or a leader's login)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cityloop.state import app_state
from cityloop.channels import assign, http, service, video
from cityloop.channels.schemas import AssignIn, AssignOut, VideoEventIn, VideoEventOut
from cityloop.deps import current_actor, get_grid_index, get_session, oauth2
from cityloop.org.actor import Actor
from cityloop.shared.errors import Forbidden, Unauthorized

router = APIRouter(prefix="/api/v1/intake", tags=["channels 上报渠道"])
KEY_DOC = [{"name": "X-Api-Key", "in": "header", "required": False, "schema": {"type": "string"}}]
ASSIGNERS = ("leader", "shift_lead", "admin")


def _require_key(request: Request, session: Session, kind: str) -> None:
    raw = request.headers.get("x-api-key") or request.query_params.get("api_key")
    if not service.key_ok(session, app_state(request.app).settings, kind, raw):
        raise Forbidden("bad-api-key", "缺少或无效的 API key", "Missing or invalid API key")


def _json(model, created: bool) -> Response:
    return Response(model.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


@router.post("/video", response_model=VideoEventOut, status_code=201, openapi_extra={"parameters": KEY_DOC})
async def video_event(request: Request, session: Session = Depends(get_session)):
    """视频抓拍 / An event from the video-analytics system (JSON with `snapshot_base64`, or multipart `data` +
    `snapshot`). Repeats of one camera's event within the window note the open case; 200 then, 201 for a new case."""
    with app_state(request.app).read_session_factory() as reads:
        _require_key(request, reads, "video")
    raw, files = await http.read_body(request, "snapshot", 1)
    body = http.validate(VideoEventIn, raw)
    image = video.snapshot_of(body, files)
    locate = get_grid_index(request).locate

    def run() -> Response:
        with app_state(request.app).read_session_factory() as reads:
            ctx = http.make_ctx(request, session, service.channel_actor("video"), reads=reads)
            out = video.ingest(ctx, body, image, locate)
        http.save_photos(ctx)
        return _json(out, out.created)

    return await run_in_threadpool(run)


async def _assigner(request: Request, token: str | None = Depends(oauth2)) -> Actor | None:
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
def assigned(body: AssignIn, request: Request, session: Session = Depends(get_session),
             person: Actor | None = Depends(_assigner)):
    """上级交办 / Assign a case with a required deadline (an upper platform's key, or a leader). The same
    external_ref never opens a second case."""
    with app_state(request.app).read_session_factory() as reads:
        if person is None:
            _require_key(request, reads, "assign")
        ctx = http.make_ctx(request, session, person or service.channel_actor("assigned"), reads=reads)
        out = assign.assign(ctx, body, get_grid_index(request).locate)
    return _json(out, out.created)
