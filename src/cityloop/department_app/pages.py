"""The department app's page (/m/department), its service worker and manifest."""

from __future__ import annotations


from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from cityloop.deps import OptionalActorDep, SettingsDep
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)


@router.get("/m/department")
def department_app(request: Request, actor: OptionalActorDep, s: SettingsDep) -> Response:
    """部门处置端: department and town (属地) staff handle their cases on the phone."""
    if actor is None:
        return pages.login_redirect(request)
    if not actor.has("department", "admin"):
        return pages.render(request, "channels/forbidden.html", status=403, menu=menu_for(actor))
    return pages.render(request, "department_app/department.html", menu=menu_for(actor),
                        tile_url=s.map_tile_url, tile_attribution=s.map_tile_attribution)


@router.get("/m/department/sw.js")
def department_worker() -> Response:
    """The app's service worker, controlling /m/department (scope without the trailing slash)."""
    return pages.field_worker("department", 4, ("/m/department", "/static/department_app/department.js",
                                                "/static/department_app/department.css"))


@router.get("/m/department/manifest.webmanifest")
def department_manifest() -> JSONResponse:
    """Makes the app installable on a phone's home screen."""
    return JSONResponse({
        "name": "部门处置通 · CityLoop", "short_name": "处置通", "start_url": "/m/department",
        "scope": "/m/department", "display": "standalone", "background_color": "#f5f7fa", "theme_color": "#0b2340",
        "lang": "zh-CN",
        "icons": [{"src": "/static/channels/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }, media_type="application/manifest+json")
