"""Health check, static files, and the pages every user meets first: home, login, logout, the console menu."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from cityloop.deps import Actor, get_session, optional_actor
from cityloop.shared.errors import AppError, NotFound
from cityloop.web import console as console_pages
from cityloop.web import admin, docs, pages, screen
from cityloop.web.menu import menu_for

router = APIRouter(tags=["system 系统"])
extra_routers = [console_pages.router, admin.router, screen.router, screen.api, docs.router]
STATIC = Path(__file__).resolve().parent / "static"
CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get("/healthz")
def healthz(session: Session = Depends(get_session)):
    """健康检查 / Liveness and database reachability."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: say so, don't crash
        raise AppError("db-down", "数据库不可用", "Database unreachable", status=503) from exc
    return {"status": "ok"}


@router.get("/static/vendor/{name:path}", include_in_schema=False)
def vendor(name: str, request: Request):
    """Front-end libraries from node_modules (only the files listed in pages.VENDOR)."""
    path = pages.vendor_file(Path(request.app.state.settings.vendor_dir), name)
    if path is None or not path.is_file():
        raise NotFound("no-such-file", "文件不存在", "No such file")
    return FileResponse(path, headers=CACHE)


@router.get("/static/{name:path}", include_in_schema=False)
def static(name: str):
    """Our own CSS, scripts and icons."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFound("no-such-file", "文件不存在", "No such file")
    return FileResponse(path, headers=CACHE)


@router.get("/", include_in_schema=False)
def home(request: Request, actor: Actor | None = Depends(optional_actor)):
    """The start page: staff go to their console, everyone else sees the public entrances."""
    if actor is not None:
        return RedirectResponse("/console", status_code=303)
    return pages.render(request, "home.html", demo=request.app.state.settings.demo)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/console"):
    """登录页 / The login form."""
    return pages.render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", include_in_schema=False)
def login(request: Request, username: str = Form(..., max_length=64), password: str = Form(..., max_length=256),
          next: str = Form("/console"), session: Session = Depends(get_session)):
    """Check the password and start a session (HttpOnly cookie), or show the form again with the reason."""
    from cityloop.org import service

    state = request.app.state
    try:
        with state.read_session_factory() as reads:
            token = service.login(reads, session, state.settings, username, password, state.clock.now())
    except AppError as exc:
        error = exc.en if pages.lang(request) == "en" else exc.zh
        return pages.render(request, "login.html", status=exc.status, next=_safe_next(next), error=error)
    response = RedirectResponse(_safe_next(next), status_code=303)
    pages.set_session(response, token, state.settings.token_minutes * 60, state.settings.secure_cookies)
    return response


@router.post("/logout", include_in_schema=False)
def logout():
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    pages.clear_session(response)
    return response


@router.get("/console", include_in_schema=False)
def console(request: Request, session: Session = Depends(get_session), actor: Actor | None = Depends(optional_actor)):
    """The staff console's start: today's figures and what waits for this user."""
    from cityloop.cases import queries
    from cityloop.sla.service import calendar

    if actor is None:
        return pages.login_redirect(request)
    now, cal = request.app.state.clock.now(), calendar(session, request.app.state.settings)
    items = queries.inbox(session, actor, now, cal)
    return pages.render(request, "console/index.html", menu=menu_for(actor), items=items[:10], waiting=len(items),
                        figures=console_pages.dashboard_figures(session, actor, now, cal))


def _safe_next(target: str) -> str:
    # Only paths on this site: never redirect a login to another host.
    return target if target.startswith("/") and not target.startswith("//") else "/console"
