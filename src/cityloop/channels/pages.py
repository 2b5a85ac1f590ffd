"""Channel pages: the inspector app (城管通, an installable PWA with an offline queue), 拍一拍 public reporting and
its status page, the hotline form and the operator's intake review; plus the app's manifest and service worker."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.channels import public
from cityloop.config import Settings
from cityloop.deps import OptionalActorDep, SessionDep, SettingsDep
from cityloop.org.actor import Actor
from cityloop.shared.errors import AppError
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)


def _tiles(s: Settings) -> dict[str, Any]:
    """The map tile server, when the deployment has one (else the grids alone are the map)."""
    return {"tile_url": s.map_tile_url, "tile_attribution": s.map_tile_attribution}


def _staff_page(request: Request, settings: Settings, actor: Actor | None, template: str, *roles: str,
                **context: Any) -> Response:
    if actor is None:
        return pages.login_redirect(request)
    if roles and not actor.has(*roles, "admin"):
        return pages.render(request, "channels/forbidden.html", status=403, menu=menu_for(actor))
    return pages.render(request, template, menu=menu_for(actor), **_tiles(settings), **context)


@router.get("/m/inspector")
def inspector_app(request: Request, actor: OptionalActorDep, settings: SettingsDep) -> Response:
    """城管通: the inspector's phone app."""
    return _staff_page(request, settings, actor, "channels/inspector.html", "inspector")


@router.get("/m/inspector/sw.js")
def inspector_worker() -> Response:
    """The app's service worker; allowed to control /m/inspector itself (scope without the trailing slash)."""
    return pages.field_worker("inspector", 7, ("/m/inspector", "/static/channels/inspector.js",
                                               "/static/channels/catpicker.js"))


@router.get("/m/inspector/manifest.webmanifest")
def inspector_manifest() -> JSONResponse:
    """Makes the app installable on a phone's home screen."""
    return JSONResponse({
        "name": "城管通 · CityLoop", "short_name": "城管通", "start_url": "/m/inspector", "scope": "/m/inspector",
        "display": "standalone", "background_color": "#f5f7fa", "theme_color": "#0b2340", "lang": "zh-CN",
        "icons": [{"src": "/static/channels/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }, media_type="application/manifest+json")


@router.get("/m/report")
def report_page(request: Request, settings: SettingsDep) -> Response:
    """拍一拍: anyone reports a problem with a photo."""
    return pages.render(request, "channels/report.html", **_tiles(settings))


@router.get("/m/report/status/{code}")
def status_page(code: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The public progress of a report by its tracking code."""
    zone = ZoneInfo(settings.timezone)
    try:
        status = public.status(session, code, pages.lang(request) == "en")
    except AppError:
        return pages.render(request, "channels/status.html", status=404, report=None, code=code[:16])
    return pages.render(request, "channels/status.html", report=status, code=status.tracking_code,
                        local=lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M"))


@router.get("/console/hotline")
def hotline_page(request: Request, actor: OptionalActorDep, settings: SettingsDep) -> Response:
    """热线受理: the operator's form for 12319/12345 calls."""
    return _staff_page(request, settings, actor, "channels/hotline.html", "operator", "shift_lead",
                       can_accept=actor is not None and actor.has("operator", "admin"))


@router.get("/console/intake")
def intake_page(request: Request, actor: OptionalActorDep, settings: SettingsDep) -> Response:
    """上报审核: reports waiting for 受理 with duplicate suggestions and photo evidence flags."""
    return _staff_page(request, settings, actor, "channels/intake.html", "operator", "shift_lead")
