"""Case endpoints: report, list, read, history, actions, photos, inbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.state import AppState, app_state
from cityloop.cases import actions, intake, pages, pages_screen, queries, service
from cityloop.cases import saved_filters as saved
from cityloop.cases.domain import available_actions, scoped_key
from cityloop.cases.models import Case, CasePhoto
from cityloop.cases.photos import photo_path, save, screen_all
from cityloop.cases.schemas import ActionIn, CaseOut, CasePage, CheckOut, EventOut, NodeOut, ReportIn, TaskOut
from cityloop.deps import current_actor, get_grid_index, get_session
from cityloop.org.actor import Actor
from cityloop.geo.coords import to_wgs84
from cityloop.shared.errors import Conflict, Invalid, NotFound
from cityloop.shared.ids import as_id
from cityloop.http.pagination import PageParams, page_params
from cityloop.sla.service import calendar
from cityloop.shared.fields import Instant

router = APIRouter(prefix="/api/v1", tags=["cases 案件"])
extra_routers = [pages.router, pages_screen.router, pages_screen.api]  # the console pages, the big screen


def _body_doc(model: type[BaseModel], required: bool) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required, "content": {
        "application/json": {"schema": schema},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "data": {"type": "string", "description": "JSON of the body"},
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
    }}}


async def _parse(request: Request, model: type[BaseModel], required: bool):
    """JSON body, or a form (multipart or urlencoded) with a `data` JSON field and `photos` files."""
    ctype = request.headers.get("content-type", "")
    photos: list[tuple[str, bytes]] = []
    settings = app_state(request.app).settings
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=settings.max_photos + 1, max_fields=20)
        raw = form.get("data") or ("{}" if not required else None)
        for item in form.getlist("photos"):
            if not hasattr(item, "read"):
                raise Invalid("bad-photo-field", "photos 字段必须是文件", "photos must be files")
            photos.append((item.filename or "", await item.read(settings.max_upload_bytes + 1)))
        if not isinstance(raw, (str, type(None))):
            raise Invalid("bad-data-field", "data 字段必须是 JSON 文本", "data must be a JSON string")
    else:
        raw = (await request.body()).decode("utf-8", "replace") or None
    if raw is None or not raw.strip():
        if required:
            raise Invalid("body-required", "请求体不能为空", "A JSON body is required")
        raw = "{}"
    try:
        return model.model_validate_json(raw), photos
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
        raise Invalid("invalid-input", f"输入无效：{fields}", f"Invalid input: {fields}",
                      errors=[{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
                              for e in exc.errors()]) from exc


def _calendar(request: Request):
    with app_state(request.app).read_session_factory() as rs:  # cached; a read never waits for the write lock
        return calendar(rs, app_state(request.app).settings)


def _ctx(request: Request, session: Session, actor: Actor, photos) -> service.Ctx:
    return service.Ctx(session, app_state(request.app).settings, _calendar(request), app_state(request.app).clock.now(), actor,
                       photos)


def _out(request: Request, session: Session, case, actor: Actor) -> CaseOut:
    return queries.to_out(session, case, actor, app_state(request.app).clock.now(), _calendar(request))


def _out_after_write(request: Request, case, actor: Actor) -> CaseOut:
    """The response of a write, read outside the (committed) write transaction."""
    with app_state(request.app).read_session_factory() as rs:
        return _out(request, rs, case, actor)


@router.post("/cases", response_model=CaseOut, status_code=201, openapi_extra=_body_doc(ReportIn, True),
             responses={200: {"description": "同一 Idempotency-Key 的重复提交 / replay of the same key"}})
async def report(request: Request, accept: bool = Query(False, description="保存并受理: 受理 in the same commit "
                                                                           "when the caller may (else saved only)"),
                 actor: Actor = Depends(current_actor)):
    """上报案件 / Report a problem (JSON, or multipart with photos). Honours Idempotency-Key. With ?accept=true a
    caller allowed to 受理 (the operator) saves and accepts in one transaction."""
    body, raw_photos = await _parse(request, ReportIn, True)
    photos = screen_all(app_state(request.app).settings, raw_photos)  # size and format only; decoded in prepare
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 128):
        raise Invalid("bad-idempotency-key", "Idempotency-Key 长度应为 1–128", "Idempotency-Key must be 1–128 chars")
    key = scoped_key(f"user:{actor.id}", key) if key else None  # one user's key never finds another's case
    state, index = app_state(request.app), get_grid_index(request)

    def prepare():
        with state.read_session_factory() as reads:
            return intake.prepare(_ctx(request, reads, actor, photos), body, index.locate, to_wgs84, key,
                                  state.matters.get)

    # Most reports need no query (matters are cached): prepare them right here rather than hop to a thread.
    inline = not photos and not intake.needs_reads(body, key)
    prepared = prepare() if inline else await run_in_threadpool(prepare)
    case, created = (prepared, False) if isinstance(prepared, Case) else (None, True)
    if created and accept:
        prepared.after = partial(_accept, _ctx(request, None, actor, []))
        try:
            case_id = (await state.intake.submit(prepared)).id  # group commit; 受理 in the same transaction
        except IntegrityError:  # the same Idempotency-Key raced in from another request
            case_id, created = (await run_in_threadpool(_replayed, state, key, prepared)).id, False
        if created and photos:
            await run_in_threadpool(save, state.settings, photos)

        def full() -> CaseOut:
            with state.read_session_factory() as reads:
                return _out(request, reads, reads.get(Case, case_id), actor)

        result = await run_in_threadpool(full)
        return Response(result.model_dump_json(), status_code=201 if created else 200, media_type="application/json")
    if created:
        try:
            case = await state.intake.submit(prepared)  # group commit with other reports arriving now
        except IntegrityError:  # the same Idempotency-Key raced in from another request
            case, created = await run_in_threadpool(_replayed, state, key, prepared), False
        if created and photos:
            await run_in_threadpool(save, state.settings, photos)  # committed: now the files may be written

    def out() -> CaseOut:
        with state.read_session_factory() as reads:
            if not created:
                return _out(request, reads, case, actor)
            labels = dict.fromkeys(queries.LABELS) | {"category_name": prepared.category_name}
            return queries.to_out(reads, case, actor, state.clock.now(), _calendar(request), labels=labels,
                                  photo_ids=None if prepared.photos else [])

    # A new case without photos is described fully by what was written: no query, no thread hop.
    result = out() if created and not prepared.photos else await run_in_threadpool(out)
    return Response(result.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


@router.post("/cases/check", response_model=CheckOut)
async def check(request: Request, actor: Actor = Depends(current_actor)):
    """预检 / Check and locate a report without storing it: where it is, which matter, whether it needs 核实."""
    body, _ = await _parse(request, ReportIn, True)
    state, index = app_state(request.app), get_grid_index(request)
    with state.read_session_factory() as reads:
        ctx = _ctx(request, reads, actor, [])
        prepared = intake.prepare(ctx, body, index.locate, to_wgs84, None, state.matters.get)
    c = prepared.case
    return CheckOut(category_code=c["category_code"], category_name=prepared.category_name, source=c["source"],
                    lon=c["lon"], lat=c["lat"], grid_code=c["grid_code"], duty_grid_code=c["duty_grid_code"],
                    community_code=c["community_code"], street_code=c["street_code"],
                    district_code=c["district_code"], needs_verification=c["needs_verification"])


def _accept(ctx: service.Ctx, writes: Session, new: Case) -> None:
    """保存并受理: when the caller may 受理 the report just written, accept it in the same transaction."""
    case = writes.get(Case, new.id)
    if "accept" in available_actions(*actions.states(writes, case, ctx.actor)):
        actions.apply_in_transaction(replace(ctx, session=writes), new.id, "accept", ActionIn())


def _replayed(state: AppState, key: str | None, prepared: intake.Prepared) -> Case:
    with state.read_session_factory() as reads:
        existing = intake.find_by_key(reads, key, prepared.case["request_hash"]) if key else None
    if existing is None:
        raise Conflict("report-conflict", "上报冲突，请重试", "The report conflicted with another; retry")
    return existing


@router.get("/cases", response_model=CasePage)
def list_cases(request: Request, stage: str | None = None, category: str | None = None,
               department: str | None = None, grid: str | None = None, duty_grid: str | None = None,
               district: str | None = None, street: str | None = None, source: str | None = None,
               overdue: bool | None = None, created_from: Instant | None = None,
               created_to: Instant | None = None, number: str | None = Query(None, max_length=24),
               address: str | None = Query(None, max_length=100), q: str | None = Query(None, max_length=100),
               pg: PageParams = Depends(page_params),
               session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """案件列表 / Cases the caller may see, filtered (number prefix, address or description keyword, …), paginated."""
    filters = dict(stage=stage, category=category, department=department, grid=grid, duty_grid=duty_grid,
                   district=district, street=street, source=source, overdue=overdue,
                   created_from=created_from, created_to=created_to, number=number, address=address, q=q)
    items, total = queries.list_cases(session, actor, filters, app_state(request.app).clock.now(), pg.page, pg.size,
                                      _calendar(request))
    return CasePage(items=items, total=total, page=pg.page, size=pg.size)


@router.get("/cases/{ident}", response_model=CaseOut)
def get_case(ident: str, request: Request, session: Session = Depends(get_session),
             actor: Actor = Depends(current_actor)):
    """案件详情 / One case by id or number."""
    return _out(request, session, queries.get_visible(session, actor, ident), actor)


@router.get("/cases/{ident}/events", response_model=list[EventOut])
def case_events(ident: str, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """案件流转记录 / The full history of a case."""
    return queries.events(session, queries.get_visible(session, actor, ident))


@router.get("/cases/{ident}/nodes", response_model=list[NodeOut])
def case_nodes(ident: str, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """环节时限 / Every node run of a case with its limit, deadline and whether it finished on time."""
    return queries.nodes(session, queries.get_visible(session, actor, ident))


@router.post("/cases/{ident}/actions/{action}", response_model=CaseOut, openapi_extra=_body_doc(ActionIn, False))
async def act(ident: str, action: str, request: Request, session: Session = Depends(get_session),
              actor: Actor = Depends(current_actor)):
    """办理 / Take a workflow action (accept, verify_ok, file, dispatch, handle, check_ok, close, …)."""
    body, raw_photos = await _parse(request, ActionIn, False)
    photos = screen_all(app_state(request.app).settings, raw_photos)

    def run():
        queries.get_visible(session, actor, ident)  # 404 for cases the caller may not see
        ctx = _ctx(request, session, actor, photos)
        case = actions.apply(ctx, ident, action, body)  # decodes the photos once the action is allowed
        save(ctx.settings, photos)  # committed: now the files may be written
        return _out_after_write(request, case, actor)

    return await run_in_threadpool(run)


@router.get("/cases/{ident}/photos")
def case_photos(ident: str, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """案件照片 / Photos of a case with the event they belong to."""
    case = queries.get_visible(session, actor, ident)
    rows = session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id).order_by(CasePhoto.id))
    return [{"id": p.id, "event_seq": p.event_seq, "content_type": p.content_type, "width": p.width,
             "height": p.height, "url": f"/api/v1/photos/{p.id}", "thumb_url": f"/api/v1/photos/{p.id}/thumb"}
            for p in rows]


@router.get("/photos/{photo_id}", response_class=FileResponse)
def photo(photo_id: int, request: Request, thumb: bool = False, session: Session = Depends(get_session),
          actor: Actor = Depends(current_actor)):
    """照片原图 / A photo."""
    return _photo(photo_id, request, session, actor, thumb)


@router.get("/photos/{photo_id}/thumb", response_class=FileResponse)
def photo_thumb(photo_id: int, request: Request, session: Session = Depends(get_session),
                actor: Actor = Depends(current_actor)):
    """照片缩略图 / A photo's thumbnail."""
    return _photo(photo_id, request, session, actor, True)


def _photo(photo_id: int, request: Request, session: Session, actor: Actor, thumb: bool):
    row = session.get(CasePhoto, photo_id) if as_id(photo_id) else None
    if row is None:
        raise NotFound("photo-not-found", "照片不存在", "Photo not found")
    queries.get_visible(session, actor, row.case_id)
    path: Path = photo_path(app_state(request.app).settings, row.sha256, thumb)
    if not path.exists():
        raise NotFound("photo-missing", "照片文件缺失", "Photo file missing")
    return FileResponse(path, media_type="image/jpeg" if thumb else row.content_type)


@router.get("/tasks", response_model=list[TaskOut])
def tasks(request: Request, limit: int = Query(200, ge=1, le=500, description="最多条数 / most urgent first"),
          session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """我的待办 / What waits for the caller now, most urgent first, with due times and traffic lights."""
    now: datetime = app_state(request.app).clock.now()
    return queries.inbox(session, actor, now, _calendar(request), limit)


class SavedFilterIn(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    query: str = Field(max_length=1000)  # the query string of /console/cases, without "?"


class SavedFilterOut(BaseModel):
    id: int
    name: str
    query: str



@router.get("/saved-filters", response_model=list[SavedFilterOut], tags=["cases 案件"])
def saved_filters(session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """我的常用查询 / The caller's saved case searches."""
    return [SavedFilterOut(id=f.id, name=f.name, query=f.query) for f in saved.mine(session, actor.id)]


@router.post("/saved-filters", response_model=SavedFilterOut, status_code=201)
def save_filter(body: SavedFilterIn, request: Request, session: Session = Depends(get_session),
                actor: Actor = Depends(current_actor)):
    """保存查询条件 / Save (or overwrite by name) a case search for the caller."""
    row = saved.save(session, actor.id, body.name, body.query, app_state(request.app).clock.now())
    return SavedFilterOut(id=row.id, name=row.name, query=row.query)


@router.delete("/saved-filters/{filter_id}", status_code=204)
def delete_filter(filter_id: int, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    """删除常用查询 / Delete one of the caller's saved searches (another user's is 404)."""
    saved.delete(session, actor.id, filter_id)
    return Response(status_code=204)
