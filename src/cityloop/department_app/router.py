"""部门处置端 API: my department's cases and requests, and its actions with Idempotency-Key (resend-safe)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from cityloop.cases.api import scoped_key, Case, to_out, ActionIn, CaseOut
from cityloop.channels import http
from cityloop.deps import SessionDep, StateDep, require_roles
from cityloop.org.actor import Actor
from cityloop.department_app import service
from cityloop.department_app.domain import request_fingerprint
from cityloop.department_app.pages import router as pages_router
from cityloop.department_app.schemas import MyCaseOut, RequestOut
from cityloop.shared.errors import Invalid
from cityloop.http.problems import wants_english
from cityloop.web import pages

router = APIRouter(prefix="/api/v1/department", tags=["department 部门处置端"])
extra_routers = [pages_router]
staff = require_roles("department")
StaffDep = Annotated[Actor, Depends(staff)]
ACTION_DOC = {
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string", "maxLength": 128}}],
    "requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ActionIn"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "data": {"type": "string", "description": "JSON of ActionIn"},
            "before": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "处置前照片"},
            "after": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "处置后照片"},
        }}},
    }},
}


def _english(request: Request) -> bool:
    return pages.lang(request) == "en" or wants_english(request)


@router.get("/cases", response_model=list[MyCaseOut])
def my_cases(request: Request, session: SessionDep, actor: StaffDep, state: StateDep) -> list[MyCaseOut]:
    """本部门待办案件 / My department's open cases, nearest deadline first, with traffic light and time left."""
    return service.my_cases(session, actor, state.clock.now(), http.cal(state), _english(request))


@router.get("/requests", response_model=list[RequestOut])
def my_requests(request: Request, session: SessionDep, actor: StaffDep,
                case_id: int | None = Query(None, ge=1, le=2**31 - 1)) -> list[RequestOut]:
    """本部门的申请 / My department's 延期/回退/挂账 requests and their approval state (of one case if given)."""
    return service.requests(session, actor, case_id, _english(request))


@router.post("/cases/{ident}/actions/{action}", response_model=CaseOut, openapi_extra=ACTION_DOC,
             responses={200: {"description": "处置或申请已记录；同一 Idempotency-Key 重发时返回同一结果"}})
async def act(ident: str, action: str, request: Request, session: SessionDep, actor: StaffDep,
              state: StateDep) -> Response:
    """处置反馈 / 申请延期·回退·挂账 (handle, request_extension, request_return, request_suspension): JSON, or
    multipart with `data` and 处置前 `before` / 处置后 `after` photos. A resend with the same Idempotency-Key acts
    once and answers with the case (header Idempotency-Replayed: true)."""
    header = request.headers.get("idempotency-key")
    if header is not None and not (0 < len(header) <= 128):
        raise Invalid("bad-idempotency-key", "Idempotency-Key 长度应为 1–128", "Idempotency-Key must be 1–128 chars")
    key = scoped_key(f"department:{actor.id}", header) if header else None
    with state.read_session_factory() as reads:
        service.may_act(reads, actor, ident, key)
    max_photos = state.settings.max_photos
    raw, before = await http.read_body(request, state.settings, "before", max_photos * 2)
    _, after = await http.read_body(request, state.settings, "after", max_photos * 2)  # the same parsed form
    body = http.validate(ActionIn, raw)

    def run() -> tuple[CaseOut, bool]:
        ctx = http.make_ctx(state, session, actor, [*before, *after])
        fingerprint = request_fingerprint(action, body.model_dump(), [p.sha256 for p in ctx.photos], len(before))
        case_id, replayed = service.act(ctx, ident, action, body, key, fingerprint, len(before))
        if not replayed:
            http.save_photos(ctx)  # committed: now the files may be written
        with state.read_session_factory() as reads:  # not the write session: it would lock again
            return to_out(reads, reads.get_one(Case, case_id), actor, ctx.now, ctx.cal), replayed

    out, replayed = await run_in_threadpool(run)
    return Response(out.model_dump_json(), media_type="application/json",
                    headers={"Idempotency-Replayed": "true"} if replayed else None)
