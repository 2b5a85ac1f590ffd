"""Public services API: service points (staff CRUD, CSV import), nearby services and the public map (no login),
QR placements with their PNG/SVG images and PDF sheets, closed cases without personal data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from cityloop.config import Settings
from cityloop.deps import ClockDep, GridIndexDep, SessionDep, SettingsDep, require_roles
from cityloop.org.actor import Actor
from cityloop.http.params import PathId as Id
from cityloop.public.schemas import NO_NUL
from cityloop.public import pages, pages_console, placements, points, qr, queries, router_work, schemas
from cityloop.public.domain import CODE_RE, GUIDE_KINDS
from cityloop.public.models import QrPlacement, ServicePoint
from cityloop.shared.errors import Invalid, NotFound, TooLarge
from cityloop.http.problems import wants_english
from cityloop.http.openapi import file_of

router = APIRouter(prefix="/api/v1/public", tags=["public 公众服务"])
extra_routers = [router_work.router, pages.router, pages_console.router]
EDIT = ("operator", "shift_lead", "dispatcher")
READ = (*EDIT, "leader", "inspector")
Editor = Annotated[Actor, Depends(require_roles(*EDIT))]
Reader = Annotated[Actor, Depends(require_roles(*READ))]


def _kinds(kind: list[str] | None) -> list[str] | None:
    if kind and any(k not in GUIDE_KINDS for k in kind):
        raise Invalid("bad-kind", f"类型应为：{', '.join(GUIDE_KINDS)}", f"kind must be one of {', '.join(GUIDE_KINDS)}")
    return kind or None


@router.get("/nearby", response_model=list[schemas.NearbyOut])
def nearby(request: Request, settings: SettingsDep, clock: ClockDep, session: SessionDep,
           lon: float = Query(ge=-180, le=180), lat: float = Query(ge=-90, le=90),
           kind: list[str] | None = Query(None), limit: int = Query(5, ge=1, le=50)) -> list[dict[str, Any]]:
    """附近服务 / The nearest public services by walking distance (no login)."""
    return queries.nearby(session, settings, lon, lat, clock.now(), kinds=_kinds(kind),
                          limit=limit, english=wants_english(request))


@router.get("/points", response_model=None)
def public_points(request: Request, session: SessionDep, kind: list[str] | None = Query(None)) -> dict[str, Any]:
    """服务点位地图 / Active public service points as GeoJSON (no login)."""
    return queries.public_points(session, _kinds(kind), wants_english(request))


@router.get("/closed-cases", response_model=None)
def closed_cases(request: Request, settings: SettingsDep, clock: ClockDep, session: SessionDep) -> dict[str, Any]:
    """结案公开 / Recently closed cases: rounded position, category, date — no personal data (no login)."""
    return queries.closed_cases(session, settings, clock.now(), wants_english(request))


@router.get("/service-points", response_model=list[schemas.ServicePointOut])
def list_points(session: SessionDep, actor: Reader, kind: str | None = Query(None, max_length=16, pattern=NO_NUL),
                q: str | None = Query(None, max_length=50, pattern=NO_NUL),
                limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[ServicePoint]:
    """服务点位列表 / Service points (staff)."""
    return queries.service_points(session, kind, q, limit, offset)


@router.post("/service-points", response_model=schemas.ServicePointOut, status_code=201)
def create_point(body: schemas.ServicePointIn, clock: ClockDep, session: SessionDep, index: GridIndexDep,
                 actor: Editor) -> ServicePoint:
    """新增服务点位 / Add a service point."""
    return points.create(session, body, index.locate, clock.now())


@router.post("/service-points/import", response_model=schemas.ImportResult)
def import_points(settings: SettingsDep, clock: ClockDep, session: SessionDep, index: GridIndexDep, actor: Editor,
                  file: UploadFile = File(...),
                  crs: Literal["wgs84", "gcj02", "bd09"] = Form("wgs84")) -> dict[str, int]:
    """导入服务点位（CSV）/ Import service points from CSV; all rows or none."""
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise TooLarge("file-too-large", "文件过大", "File too large")
    created, updated = points.import_rows(session, points.parse_csv(data, crs), index.locate, clock.now())
    return {"created": created, "updated": updated}


@router.get("/service-points/{point_id}", response_model=schemas.ServicePointOut)
def get_point(point_id: Id, session: SessionDep, actor: Reader) -> ServicePoint:
    """服务点位详情 / One service point."""
    return points.get(session, point_id)


@router.patch("/service-points/{point_id}", response_model=schemas.ServicePointOut)
def patch_point(point_id: Id, body: schemas.ServicePointPatch, clock: ClockDep, session: SessionDep,
                index: GridIndexDep, actor: Editor) -> ServicePoint:
    """修改服务点位 / Change a service point."""
    return points.update(session, point_id, body, index.locate, clock.now())


@router.delete("/service-points/{point_id}", status_code=204)
def delete_point(point_id: Id, session: SessionDep, actor: Editor) -> Response:
    """删除服务点位 / Remove a service point."""
    points.delete(session, point_id)
    return Response(status_code=204)


def _out(settings: Settings, placement: QrPlacement) -> schemas.PlacementOut:
    out = schemas.PlacementOut.model_validate(placement)
    out.url = placements.url_of(settings, placement.code)
    return out


@router.get("/placements", response_model=list[schemas.PlacementOut])
def list_placements(settings: SettingsDep, session: SessionDep, actor: Reader,
                    batch: str | None = Query(None, max_length=40, pattern=NO_NUL),
                    limit: int = Query(100, ge=1, le=1000),
                    offset: int = Query(0, ge=0)) -> list[schemas.PlacementOut]:
    """二维码点位 / QR placements, most scanned first."""
    return [_out(settings, p) for p in queries.placements(session, batch, limit, offset)]


@router.get("/placements/batches", response_model=None)
def list_batches(session: SessionDep, actor: Reader) -> list[dict[str, Any]]:
    """二维码批次 / Placement batches with codes and scans."""
    return queries.batches(session)


@router.post("/placements", response_model=schemas.PlacementOut, status_code=201)
def create_placement(body: schemas.PlacementIn, settings: SettingsDep, clock: ClockDep, session: SessionDep,
                     index: GridIndexDep, actor: Editor) -> schemas.PlacementOut:
    """新增二维码点位 / One QR placement."""
    return _out(settings, placements.create(session, body, index.locate, clock.now()))


@router.post("/placements/batch", response_model=schemas.BatchResult, status_code=201)
def batch_placements(body: schemas.PlacementBatchIn, clock: ClockDep, session: SessionDep,
                     actor: Editor) -> dict[str, Any]:
    """批量生成二维码点位 / Placements in every unit grid of an area."""
    made = placements.spread_over_grids(session, body.batch, body.per_grid, body.area_code, body.label, clock.now())
    return {"batch": body.batch, "created": made}


@router.get("/placements/sheet.pdf", response_class=Response, responses=file_of("application/pdf"))
def sheet(settings: SettingsDep, session: SessionDep, actor: Reader,
          batch: str | None = Query(None, max_length=40, pattern=NO_NUL),
          code: list[str] | None = Query(None), offset: int = Query(0, ge=0),
          limit: int | None = Query(None, ge=1)) -> Response:
    """打印二维码（PDF）/ A4 sheets of QR stickers of a batch (or of the given codes)."""
    limit = min(limit or settings.public_sheet_max_codes, settings.public_sheet_max_codes)
    items = placements.for_sheet(session, batch, code, offset, limit)
    if not items:
        raise NotFound("nothing-to-print", "没有可打印的二维码", "No active placements to print")
    title = f"服务指南二维码 {batch or ''}".strip()
    data = qr.sheet_pdf(items, lambda c: placements.url_of(settings, c), title)
    name = f"qr-{batch or 'codes'}.pdf".encode("ascii", "ignore").decode() or "qr.pdf"
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/placements/{code}", response_model=schemas.PlacementOut)
def get_placement(code: str, settings: SettingsDep, session: SessionDep, actor: Reader) -> schemas.PlacementOut:
    """二维码点位详情 / One placement."""
    return _out(settings, placements.get(session, _code(code)))


@router.patch("/placements/{code}", response_model=schemas.PlacementOut)
def patch_placement(code: str, body: schemas.PlacementPatch, settings: SettingsDep, session: SessionDep,
                    actor: Editor) -> schemas.PlacementOut:
    """修改或停用二维码 / Relabel or retire a placement."""
    return _out(settings, placements.patch(session, _code(code), body))


def _code(code: str) -> str:
    if not CODE_RE.match(code.upper()):
        raise NotFound("no-such-placement", "二维码不存在", "No such QR placement")
    return code.upper()


@router.get("/placements/{code}/qr.png", response_class=Response, responses=file_of("image/png"))
def placement_png(code: str, settings: SettingsDep, session: SessionDep, actor: Reader,
                  box: int = Query(10, ge=2, le=40)) -> Response:
    """二维码图片（PNG）/ The placement's QR code as PNG."""
    placement = placements.get(session, _code(code))
    data = qr.png(settings, placements.url_of(settings, placement.code), placement.code, box)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/placements/{code}/qr.svg", response_class=Response, responses=file_of("image/svg+xml"))
def placement_svg(code: str, settings: SettingsDep, session: SessionDep, actor: Reader) -> Response:
    """二维码图片（SVG）/ The placement's QR code as SVG."""
    placement = placements.get(session, _code(code))
    data = qr.svg(settings, placements.url_of(settings, placement.code), placement.code)
    return Response(data, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})
