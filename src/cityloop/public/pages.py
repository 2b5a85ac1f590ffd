"""Public pages (no login): the index of public pages, the service map, a QR placement's phone page (counts the
scan) and closed cases on a map."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cityloop.config import Settings
from cityloop.deps import SessionDep, SettingsDep, StateDep
from cityloop.public import domain, placements, queries
from cityloop.shared.errors import AppError
from cityloop.web import pages

router = APIRouter(include_in_schema=False)


def _tiles(s: Settings) -> dict[str, Any]:
    return {"tile_url": s.map_tile_url or "", "tile_attribution": s.map_tile_attribution}


@router.get("/public")
def index(request: Request) -> HTMLResponse:
    """公众服务: every public page in one place."""
    return pages.render(request, "public/index.html")


@router.get("/public/services")
def services(request: Request, settings: SettingsDep) -> HTMLResponse:
    """便民服务地图: toilets, red stations, convenience points … on a map and in a list, nearest first."""
    kinds = [(k, v[0], v[1]) for k, v in domain.KINDS.items() if v[2]]
    return pages.render(request, "public/services.html", kinds=kinds, **_tiles(settings))


@router.get("/public/cases")
def cases(request: Request, settings: SettingsDep) -> HTMLResponse:
    """结案公开: recently closed cases on a map, without personal data."""
    return pages.render(request, "public/cases.html", days=settings.public_case_days, **_tiles(settings))


@router.get("/public/q/{code}")
def placement_page(code: str, request: Request, state: StateDep, session: SessionDep) -> HTMLResponse:
    """A QR code's phone page: the nearest services with directions, and a button to report a problem here."""
    code = code.upper()
    now = state.clock.now()
    if not domain.CODE_RE.match(code):
        return pages.render(request, "public/unknown.html", status=404, code=code[:12])
    with state.session_factory() as writer:  # GET reads use a read-only session; the scan counter needs a write
        counted = placements.record_scan(writer, code, now)
    try:
        placement = placements.get(session, code)
    except AppError:
        return pages.render(request, "public/unknown.html", status=404, code=code)
    if not counted:
        return pages.render(request, "public/unknown.html", status=410, code=code, retired=True)
    english = pages.lang(request) == "en"
    sections = queries.guide(session, state.settings, placement.lon, placement.lat, now, english)
    markers = [{"lon": i["lon"], "lat": i["lat"], "name": i["name"], "kind": i["kind"]}
               for s in sections for i in s["items"][:1]]
    return pages.render(request, "public/guide.html", placement=placement, sections=sections, markers=markers,
                        report_url=f"/m/report?lon={placement.lon:.6f}&lat={placement.lat:.6f}", **_tiles(state.settings))
