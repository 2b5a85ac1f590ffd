"""The department app's page (/m/department), its service worker, manifest and static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from cityloop.deps import OptionalActorDep, SettingsDep
from cityloop.shared.errors import NotFound
from cityloop.web import pages
from cityloop.web.menu import menu_for

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css"}
NO_CACHE = {"Cache-Control": "no-cache"}  # the service worker keeps the offline copy; the browser always revalidates


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
    return pages.field_worker("department", 3, ("/m/department", "/department-app/static/department.js",
                                                "/department-app/static/department.css"))


@router.get("/m/department/manifest.webmanifest")
def department_manifest() -> JSONResponse:
    """Makes the app installable on a phone's home screen."""
    return JSONResponse({
        "name": "部门处置通 · CityLoop", "short_name": "处置通", "start_url": "/m/department",
        "scope": "/m/department", "display": "standalone", "background_color": "#f5f7fa", "theme_color": "#0b2340",
        "lang": "zh-CN",
        "icons": [{"src": "/channels/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }, media_type="application/manifest+json")


@router.get("/department-app/static/{name}")
def department_static(name: str) -> FileResponse:
    """This area's script, styles and service worker."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFound("no-such-file", "文件不存在", "No such file")
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"), headers=NO_CACHE)
