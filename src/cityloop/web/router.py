"""Health checks, the static files of every area and the vendor libraries, and the pages every user meets first:
home, login, logout."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import text

from cityloop.areas import folders
from cityloop.config import Settings
from cityloop.deps import OptionalActorDep, SessionDep, SettingsDep, StateDep
from cityloop.state import AppState
from cityloop.shared.errors import AppError, Forbidden, NotFound
from cityloop.http.problems import problem
from cityloop.web import docs, pages, vocab

router = APIRouter(tags=["system 系统"])
extra_routers = [docs.router]
STATIC = Path(__file__).resolve().parent / "static"
CACHE = {"Cache-Control": "public, max-age=86400"}
# The phone apps' files: their service worker keeps the offline copy, so the browser always revalidates (and a new
# release reaches the phones at once).
FIELD_APP_AREAS = ("channels", "department_app")
REVALIDATE = {"Cache-Control": "no-cache"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
         ".webmanifest": "application/manifest+json"}  # others: by the file name's extension


@router.get("/healthz", response_model=None)
def healthz(session: SessionDep) -> dict[str, str]:
    """健康检查 / Liveness and database reachability (reads); /readyz checks that writes go through."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: say so, don't crash
        raise AppError("db-down", "数据库不可用", "Database unreachable", status=503) from exc
    return {"status": "ok"}


def _write_probe(state: AppState) -> None:
    """A real write, rolled back: takes the write lock (SQLite) or a row lock and fails on a read-only database."""
    with state.session_factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL statement_timeout = 5000"))
        session.execute(text("UPDATE alembic_version SET version_num = version_num"))
        session.rollback()


@router.get("/readyz", responses={503: {"description": "数据库不可写 / the database takes no writes"}},
            response_model=None)
async def readyz(request: Request, state: StateDep) -> Response | dict[str, str]:
    """就绪检查 / Readiness: the database takes writes now (a test write, rolled back); else 503 with Retry-After."""
    try:
        await asyncio.wait_for(run_in_threadpool(_write_probe, state), state.settings.ready_timeout_seconds)
    except Exception as exc:  # locked, read-only, down or too slow: not ready, and say so
        logging.getLogger("cityloop").warning("readiness write failed: %r", exc)
        response = problem(request, 503, "not-ready", "数据库暂不可写，请稍后重试",
                           "The database takes no writes at the moment")
        response.headers["Retry-After"] = "5"
        return response
    return {"status": "ready"}


@router.get("/static/vendor/{name:path}", include_in_schema=False)
def vendor(name: str, settings: SettingsDep) -> FileResponse:
    """Front-end libraries from node_modules (only the files listed in pages.VENDOR)."""
    path = pages.vendor_file(Path(settings.vendor_dir), name)
    if path is None or not path.is_file():
        raise NotFound("no-such-file", "文件不存在", "No such file")
    return FileResponse(path, headers=CACHE)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The icon browsers ask for by themselves (pages name /static/web/favicon.svg; this answers the rest)."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml", headers=CACHE)


@router.get("/vocab.js", include_in_schema=False)
def vocabulary(lang: str = "zh") -> Response:
    """The one vocabulary (web/vocab.py) for scripts in one language: window.CL_VOCAB, read by cityloop.label()."""
    body = f"window.CL_VOCAB = {vocab.vocab_json('en' if lang == 'en' else 'zh')};\n"
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/static/{area}/{name:path}", include_in_schema=False)
def static(area: str, name: str, settings: SettingsDep) -> FileResponse:
    """Every area's scripts, styles and icons: the files of src/cityloop/<area>/static/ (web's are the shell's)."""
    folder = None if area in settings.disabled_areas else folders("static").get(area)
    path = (folder / name).resolve() if folder is not None else None
    if (folder is None or path is None or not path.is_relative_to(folder) or not path.is_file()
            or any(part.startswith(".") for part in PurePosixPath(name).parts)):
        raise NotFound("no-such-file", "文件不存在", "No such file")
    cache = REVALIDATE if area in FIELD_APP_AREAS else CACHE
    return FileResponse(path, media_type=TYPES.get(path.suffix), headers=cache)


@router.get("/", include_in_schema=False)
def home(request: Request, actor: OptionalActorDep, settings: SettingsDep) -> Response:
    """The start page: staff go to their console, everyone else sees the public entrances."""
    if actor is not None:
        return RedirectResponse("/console", status_code=303)
    return pages.render(request, "home.html", demo=settings.demo)


@router.get("/login", include_in_schema=False)
def login_page(request: Request, settings: SettingsDep, next: str = "/console") -> Response:
    """登录页 / The login form, with a CSRF token (a cookie the form echoes) so no other site can log you in."""
    return _login_form(request, settings, next, None)


@router.post("/login", include_in_schema=False)
def login(request: Request, session: SessionDep, state: StateDep,
          username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form()] = "/console", csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Check the CSRF token and the password and start a session (HttpOnly cookie), or show the form again with
    the reason."""
    from cityloop.channels.http import client_ip
    from cityloop.org import service

    if not pages.csrf_ok(request, csrf):
        return _login_form(request, state.settings, next, _STALE, status=403)
    try:
        with state.read_session_factory() as reads:
            token = service.login(reads, session, state.settings, username, password, state.clock.now(),
                                  client_ip(request))
    except AppError as exc:
        return _login_form(request, state.settings, next, exc, status=exc.status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    pages.set_session(response, token, state.settings.token_minutes * 60, state.settings.secure_cookies)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep, state: StateDep,
           csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    """End the session: the form must carry the CSRF token, and the user's tokens stop working everywhere."""
    from cityloop.org import service
    from cityloop.org.security import read_token

    token = request.cookies.get(pages.TOKEN_COOKIE)
    if token:
        if not pages.csrf_ok(request, csrf):
            raise Forbidden(*_STALE_TEXT)
        claims = read_token(state.settings.secret_key, token, state.clock.now())
        if claims is not None:
            service.logout(session, claims[0])
            state.changes.announce("actor", str(claims[0]))
    response = RedirectResponse("/login", status_code=303)
    pages.clear_session(response)
    return response


_STALE_TEXT = ("csrf", "页面已过期，请刷新后重试", "Missing or wrong CSRF token; reload the page")
_STALE = Forbidden(*_STALE_TEXT)


def _login_form(request: Request, settings: Settings, next: str, error: AppError | None,
                status: int = 200) -> Response:
    """The login page, with the reason of a refusal, and a CSRF cookie if the browser has none yet."""
    token = request.cookies.get(pages.CSRF_COOKIE) or pages.new_csrf()
    message = None if error is None else (error.en if pages.lang(request) == "en" else error.zh)
    response = pages.render(request, "login.html", status=status, next=_safe_next(next), error=message, csrf=token)
    if request.cookies.get(pages.CSRF_COOKIE) != token:
        pages.set_csrf(response, token, settings.secure_cookies)
    return response


def _safe_next(target: str) -> str:
    # Only paths on this site: never redirect a login to another host.
    return target if target.startswith("/") and not target.startswith("//") else "/console"
