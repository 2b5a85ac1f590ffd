"""Case endpoints: report, list, read, history, actions, photos, inbox."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

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
from cityloop.cases.photos import Photo, photo_path, save, screen_all
from cityloop.cases.schemas import ActionIn, CaseOut, CasePage, CheckOut, EventOut, NodeOut, ReportIn, TaskOut
from cityloop.config import Settings
from cityloop.deps import ActorDep, ClockDep, GridIndexDep, SessionDep, SettingsDep, StateDep, grid_index
from cityloop.org.actor import Actor
from cityloop.geo.coords import to_wgs84
from cityloop.shared.errors import Conflict, Forbidden, Invalid, NotFound
from cityloop.shared.ids import as_id
from cityloop.http.pagination import PageParams, page_params
from cityloop.sla.domain import WorkCalendar
from cityloop.sla.service import work_calendar
from cityloop.shared.fields import Instant

router = APIRouter(prefix="/api/v1", tags=["cases 案件"])
extra_routers = [pages.router, pages_screen.router, pages_screen.api]  # the console pages, the big screen
M = TypeVar("M", bound=BaseModel)


def _body_doc(model: type[BaseModel], required: bool) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": required, "content": {
        "application/json": {"schema": schema},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "data": {"type": "string", "description": "JSON of the body"},
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
    }}}


async def _parse(request: Request, settings: Settings, model: type[M], required: bool
                 ) -> tuple[M, list[tuple[str, bytes]]]:
    """JSON body, or a form (multipart or urlencoded) with a `data` JSON field and `photos` files."""
    ctype = request.headers.get("content-type", "")
    photos: list[tuple[str, bytes]] = []
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=settings.max_photos + 1, max_fields=20)
        raw = form.get("data") or ("{}" if not required else None)
        for item in form.getlist("photos"):
            if isinstance(item, str):
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


def _calendar(state: AppState) -> WorkCalendar:
    return work_calendar(state.read_session_factory, state.settings)


def _ctx(state: AppState, session: Session, actor: Actor, photos: list[Photo]) -> service.Ctx:
    return service.Ctx(session, state.settings, _calendar(state), state.clock.now(), actor, photos)


def _out(state: AppState, session: Session, case: Case, actor: Actor) -> CaseOut:
    return queries.to_out(session, case, actor, state.clock.now(), _calendar(state))


def _out_after_write(state: AppState, case: Case, actor: Actor) -> CaseOut:
    """The response of a write, read outside the (committed) write transaction."""
    with state.read_session_factory() as rs:
        return _out(state, rs, case, actor)


@router.post("/cases", response_model=CaseOut, status_code=201, openapi_extra=_body_doc(ReportIn, True),
             responses={200: {"description": "同一 Idempotency-Key 的重复提交 / replay of the same key"}})
async def report(request: Request, actor: ActorDep,
                 accept: bool = Query(False, description="保存并受理: 受理 in the same commit "
                                                         "when the caller may (else saved only)")) -> Response:
    """上报案件 / Report a problem (JSON, or multipart with photos). Honours Idempotency-Key. With ?accept=true a
    caller allowed to 受理 (the operator) saves and accepts in one transaction."""
    # The busiest write: state and index fetched here, not as dependencies (FastAPI's cost per dependency showed)
    state, index = app_state(request.app), await grid_index(request)
    body, raw_photos = await _parse(request, state.settings, ReportIn, True)
    photos = screen_all(state.settings, raw_photos)  # size and format only; decoded in prepare
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= 128):
        raise Invalid("bad-idempotency-key", "Idempotency-Key 长度应为 1–128", "Idempotency-Key must be 1–128 chars")
    key = scoped_key(f"user:{actor.id}", key) if key else None  # one user's key never finds another's case

    def prepare() -> intake.Prepared | Case:
        with state.read_session_factory() as reads:
            return intake.prepare(_ctx(state, reads, actor, photos), body, index.locate, to_wgs84, key,
                                  state.matters.get)

    # Most reports need no query (matters are cached): prepare them right here rather than hop to a thread.
    inline = not photos and not intake.needs_reads(body, key)
    prepared = prepare() if inline else await run_in_threadpool(prepare)
    if isinstance(prepared, Case):  # a replay of the Idempotency-Key: the case it made
        replay = prepared

        def replayed() -> CaseOut:
            with state.read_session_factory() as reads:
                return _out(state, reads, replay, actor)

        result = await run_in_threadpool(replayed)
        return Response(result.model_dump_json(), status_code=200, media_type="application/json")
    new = prepared
    case: Case
    if accept:
        new.after = partial(_accept, actor, state.settings, _calendar(state), state.clock.now())
        try:
            case_id: int = (await state.intake.submit(new)).id  # group commit; 受理 in the same transaction
            created = True
        except IntegrityError:  # the same Idempotency-Key raced in from another request
            case_id, created = (await run_in_threadpool(_replayed, state, key, new)).id, False
        if created and photos:
            await run_in_threadpool(save, state.settings, photos)

        def full() -> CaseOut:
            with state.read_session_factory() as reads:
                return _out(state, reads, reads.get_one(Case, case_id), actor)

        result = await run_in_threadpool(full)
        return Response(result.model_dump_json(), status_code=201 if created else 200, media_type="application/json")
    try:
        case = await state.intake.submit(new)  # group commit with other reports arriving now
        created = True
    except IntegrityError:  # the same Idempotency-Key raced in from another request
        case, created = await run_in_threadpool(_replayed, state, key, new), False
    if created and photos:
        await run_in_threadpool(save, state.settings, photos)  # committed: now the files may be written

    def out() -> CaseOut:
        with state.read_session_factory() as reads:
            if not created:
                return _out(state, reads, case, actor)
            labels = dict.fromkeys(queries.LABELS) | {"category_name": new.category_name}
            return queries.to_out(reads, case, actor, state.clock.now(), _calendar(state), labels=labels,
                                  photo_ids=None if new.photos else [])

    # A new case without photos is described fully by what was written: no query, no thread hop.
    result = out() if created and not new.photos else await run_in_threadpool(out)
    return Response(result.model_dump_json(), status_code=201 if created else 200, media_type="application/json")


@router.post("/cases/check", response_model=CheckOut)
async def check(request: Request, state: StateDep, actor: ActorDep, index: GridIndexDep) -> CheckOut:
    """预检 / Check and locate a report without storing it: where it is, which matter, whether it needs 核实."""
    body, _ = await _parse(request, state.settings, ReportIn, True)
    with state.read_session_factory() as reads:
        ctx = _ctx(state, reads, actor, [])
        prepared = intake.prepare(ctx, body, index.locate, to_wgs84, None, state.matters.get)
    assert isinstance(prepared, intake.Prepared)  # without an Idempotency-Key nothing is a replay
    c = prepared.case
    return CheckOut(category_code=c["category_code"], category_name=prepared.category_name, source=c["source"],
                    lon=c["lon"], lat=c["lat"], grid_code=c["grid_code"], duty_grid_code=c["duty_grid_code"],
                    community_code=c["community_code"], street_code=c["street_code"],
                    district_code=c["district_code"], needs_verification=c["needs_verification"])


def _accept(actor: Actor, settings: Settings, cal: WorkCalendar, now: datetime, writes: Session, new: Case) -> None:
    """保存并受理: when the caller may 受理 the report just written, accept it in the same transaction."""
    case = writes.get_one(Case, new.id)
    if "accept" in available_actions(*actions.states(writes, case, actor)):
        actions.apply_in_transaction(service.Ctx(writes, settings, cal, now, actor), new.id, "accept", ActionIn())


def _replayed(state: AppState, key: str | None, prepared: intake.Prepared) -> Case:
    with state.read_session_factory() as reads:
        existing = intake.find_by_key(reads, key, prepared.case["request_hash"]) if key else None
    if existing is None:
        raise Conflict("report-conflict", "上报冲突，请重试", "The report conflicted with another; retry")
    return existing


@router.get("/cases", response_model=CasePage)
def list_cases(state: StateDep, pg: Annotated[PageParams, Depends(page_params)], session: SessionDep, actor: ActorDep,
               stage: str | None = None, category: str | None = None,
               department: str | None = None, grid: str | None = None, duty_grid: str | None = None,
               district: str | None = None, street: str | None = None, source: str | None = None,
               overdue: bool | None = None, created_from: Instant | None = None,
               created_to: Instant | None = None, number: str | None = Query(None, max_length=24),
               address: str | None = Query(None, max_length=100), q: str | None = Query(None, max_length=100)
               ) -> CasePage:
    """案件列表 / Cases the caller may see, filtered (number prefix, address or description keyword, …), paginated."""
    filters = dict(stage=stage, category=category, department=department, grid=grid, duty_grid=duty_grid,
                   district=district, street=street, source=source, overdue=overdue,
                   created_from=created_from, created_to=created_to, number=number, address=address, q=q)
    items, total, capped = queries.list_cases(session, actor, filters, state.clock.now(), pg.page, pg.size,
                                              _calendar(state))
    return CasePage(items=items, total=total, page=pg.page, size=pg.size, total_is_estimate=capped)


@router.get("/cases/{ident}", response_model=CaseOut)
def get_case(ident: str, state: StateDep, session: SessionDep, actor: ActorDep) -> CaseOut:
    """案件详情 / One case by id or number."""
    return _out(state, session, queries.get_visible(session, actor, ident), actor)


@router.get("/cases/{ident}/events", response_model=list[EventOut])
def case_events(ident: str, session: SessionDep, actor: ActorDep) -> list[EventOut]:
    """案件流转记录 / The full history of a case."""
    return queries.events(session, queries.get_visible(session, actor, ident))


@router.get("/cases/{ident}/nodes", response_model=list[NodeOut])
def case_nodes(ident: str, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """环节时限 / Every node run of a case with its limit, deadline and whether it finished on time."""
    return queries.nodes(session, queries.get_visible(session, actor, ident))


@router.post("/cases/{ident}/actions/{action}", response_model=CaseOut, openapi_extra=_body_doc(ActionIn, False))
async def act(ident: str, action: str, request: Request, state: StateDep, session: SessionDep,
              actor: ActorDep) -> CaseOut:
    """办理 / Take a workflow action (accept, verify_ok, file, dispatch, handle, check_ok, close, …)."""
    body, raw_photos = await _parse(request, state.settings, ActionIn, False)
    photos = screen_all(state.settings, raw_photos)

    def run() -> CaseOut:
        queries.get_visible(session, actor, ident)  # 404 for cases the caller may not see
        ctx = _ctx(state, session, actor, photos)
        case = actions.apply(ctx, ident, action, body)  # decodes the photos once the action is allowed
        save(ctx.settings, photos)  # committed: now the files may be written
        return _out_after_write(state, case, actor)

    return await run_in_threadpool(run)


@router.get("/cases/{ident}/photos", response_model=None)
def case_photos(ident: str, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """案件照片 / Photos of a case with the event they belong to."""
    case = queries.get_visible(session, actor, ident)
    rows = session.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id).order_by(CasePhoto.id))
    return [{"id": p.id, "event_seq": p.event_seq, "content_type": p.content_type, "width": p.width,
             "height": p.height, "url": f"/api/v1/photos/{p.id}", "thumb_url": f"/api/v1/photos/{p.id}/thumb"}
            for p in rows]


@router.get("/photos/{photo_id}", response_class=FileResponse)
def photo(photo_id: int, settings: SettingsDep, session: SessionDep, actor: ActorDep,
          thumb: bool = False) -> FileResponse:
    """照片原图 / A photo."""
    return _photo(photo_id, settings, session, actor, thumb)


@router.get("/photos/{photo_id}/thumb", response_class=FileResponse)
def photo_thumb(photo_id: int, settings: SettingsDep, session: SessionDep, actor: ActorDep) -> FileResponse:
    """照片缩略图 / A photo's thumbnail."""
    return _photo(photo_id, settings, session, actor, True)


def _photo(photo_id: int, settings: Settings, session: Session, actor: Actor, thumb: bool) -> FileResponse:
    row = session.get(CasePhoto, photo_id) if as_id(photo_id) else None
    if row is None:
        raise NotFound("photo-not-found", "照片不存在", "Photo not found")
    queries.get_visible(session, actor, row.case_id)
    path: Path = photo_path(settings, row.sha256, thumb)
    if not path.exists():
        raise NotFound("photo-missing", "照片文件缺失", "Photo file missing")
    return FileResponse(path, media_type="image/jpeg" if thumb else row.content_type)


@router.get("/tasks", response_model=list[TaskOut])
def tasks(state: StateDep, session: SessionDep, actor: ActorDep,
          limit: int = Query(200, ge=1, le=500, description="最多条数 / most urgent first")) -> list[TaskOut]:
    """我的待办 / What waits for the caller now, most urgent first, with due times and traffic lights."""
    now: datetime = state.clock.now()
    return queries.inbox(session, actor, now, _calendar(state), limit)


def _user_id(actor: Actor) -> int:
    """A signed-in user's id (only the platform itself acts without one)."""
    if actor.id is None:
        raise Forbidden("user-only", "仅限登录用户", "Users only")
    return actor.id


class SavedFilterIn(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    query: str = Field(max_length=1000)  # the query string of /console/cases, without "?"


class SavedFilterOut(BaseModel):
    id: int
    name: str
    query: str



@router.get("/saved-filters", response_model=list[SavedFilterOut], tags=["cases 案件"])
def saved_filters(session: SessionDep, actor: ActorDep) -> list[SavedFilterOut]:
    """我的常用查询 / The caller's saved case searches."""
    return [SavedFilterOut(id=f.id, name=f.name, query=f.query) for f in saved.mine(session, _user_id(actor))]


@router.post("/saved-filters", response_model=SavedFilterOut, status_code=201)
def save_filter(body: SavedFilterIn, clock: ClockDep, session: SessionDep, actor: ActorDep) -> SavedFilterOut:
    """保存查询条件 / Save (or overwrite by name) a case search for the caller."""
    row = saved.save(session, _user_id(actor), body.name, body.query, clock.now())
    return SavedFilterOut(id=row.id, name=row.name, query=row.query)


@router.delete("/saved-filters/{filter_id}", status_code=204)
def delete_filter(filter_id: int, session: SessionDep, actor: ActorDep) -> Response:
    """删除常用查询 / Delete one of the caller's saved searches (another user's is 404)."""
    saved.delete(session, _user_id(actor), filter_id)
    return Response(status_code=204)
