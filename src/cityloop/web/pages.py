"""Server-rendered pages: one Jinja2 environment over every area's `templates/` folder, zh-CN first with English
by cookie or ?lang=en, the logged-in user from the session cookie, and vendor libraries served from npm's
node_modules (never a CDN)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape

from cityloop.areas import folders
from cityloop.cases.api import SOURCE_NAMES, STAGES
from cityloop.org.actor import Actor
from cityloop.org.domain import ROLE_NAMES
from cityloop.shared.errors import AppError
from cityloop.sla.domain import time_left_words
from cityloop.web import vocab
from cityloop.web.menu import Entry, Group, grouped, menu_for

TOKEN_COOKIE, CSRF_COOKIE, LANG_COOKIE = "cl_token", "cl_csrf", "cl_lang"
CSRF_HEADER = "x-csrf-token"
ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def menu_bar(entries: Iterable[Entry] | None) -> list[Entry | Group]:
    """The header bar of these menu entries: plain links and per-area dropdowns (see web/menu.py)."""
    return grouped(list(entries or []))


@cache
def templates() -> Jinja2Templates:
    """The template set: web/templates first (the shell: base, home, login, error), then each area's templates
    folder (its own under templates/<area>/)."""
    found = folders("templates")
    ordered = [found["web"], *(folder for area, folder in found.items() if area != "web")]
    loader = ChoiceLoader([FileSystemLoader(str(f)) for f in ordered])
    env = Environment(loader=loader, autoescape=select_autoescape(["html", "xml"]))
    env.globals["ROLE_NAMES"] = ROLE_NAMES
    env.globals["menu_bar"] = menu_bar
    env.globals["SOURCE_NAMES"] = SOURCE_NAMES
    env.globals["STAGE_NAMES"] = STAGES
    env.filters["local"] = local_time
    env.filters["label"] = pass_context(lambda ctx, code, kind: vocab.label(kind, code, ctx.get("lang", "zh")))
    env.filters["readings"] = pass_context(lambda ctx, values: vocab.readings(values, ctx.get("lang", "zh")))
    env.filters["time_left"] = lambda minutes, language="zh": time_left_words(minutes)[language == "en"]
    return Jinja2Templates(env=env)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in Asia/Shanghai for display ('' for none)."""
    return value.astimezone(SHANGHAI).strftime(fmt) if value else ""


def lang(request: Request) -> str:
    """'zh' unless the user chose English (?lang=en or the language cookie)."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return "en" if wanted == "en" else "zh"


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the user, the language and t(zh, en) available to the template."""
    language = lang(request)
    context.setdefault("actor", getattr(request.state, "actor", None))
    response = templates().TemplateResponse(
        request, name, {"lang": language, "t": (lambda zh, en: en if language == "en" else zh),
                        "csrf": request.cookies.get(CSRF_COOKIE, ""), **context}, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="lax")
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """Send a visitor without a session to the login page, coming back here afterwards."""
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


# Addresses that answer machines (problem details), never pages.
MACHINE_PATHS = ("/api/", "/open311", "/map/tiles", "/static/", "/healthz", "/readyz", "/metrics")
PAGE_ERRORS = {403, 404}


def error_page(request: Request, status: int, zh: str, en: str) -> HTMLResponse | None:
    """A 403/404 in the app's look for a browser opening a page; None for API callers (they get JSON)."""
    if (status not in PAGE_ERRORS or request.method not in ("GET", "HEAD")
            or "text/html" not in request.headers.get("accept", "") or request.url.path.startswith(MACHINE_PATHS)):
        return None
    actor = getattr(request.state, "actor", None)
    title = ("页面不存在", "Page not found") if status == 404 else ("无权访问", "Not allowed")
    return render(request, "error.html", status=status, menu=menu_for(actor) if actor else None,
                  error=SimpleNamespace(zh=zh, en=en), title=title)


def refuse(request: Request, actor: Actor, error: AppError) -> HTMLResponse:
    """The 403 page for a logged-in user whose roles do not open this page (an AppError says why)."""
    return render(request, "error.html", status=403, menu=menu_for(actor), error=error)


def set_session(response: Response, token: str, max_age: int, secure: bool) -> None:
    """Store the bearer token in an HttpOnly cookie plus a fresh CSRF token that page scripts echo in a header."""
    response.set_cookie(TOKEN_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure)
    set_csrf(response, new_csrf(), secure, max_age)


def new_csrf() -> str:
    """A new random CSRF token."""
    return secrets.token_urlsafe(24)


def set_csrf(response: Response, token: str, secure: bool, max_age: int | None = None) -> None:
    """The CSRF cookie that forms echo in a hidden `csrf` field and scripts in the X-CSRF-Token header."""
    response.set_cookie(CSRF_COOKIE, token, max_age=max_age, samesite="lax", secure=secure)


def csrf_ok(request: Request, submitted: str) -> bool:
    """True when a form's `csrf` field (or the header) matches the CSRF cookie: a double-submit check that another
    site cannot pass, since it can neither read nor set our cookie."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = submitted or request.headers.get(CSRF_HEADER, "")
    return bool(expected) and secrets.compare_digest(expected.encode(), given.encode())


def clear_session(response: Response) -> None:
    """Log out."""
    response.delete_cookie(TOKEN_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


# What /static/vendor/<name> may serve, from node_modules: nothing else there is reachable.
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "htmx-sse.js": "htmx-ext-sse/dist/sse.min.js",
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "protomaps-leaflet.js": "protomaps-leaflet/dist/protomaps-leaflet.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-favicon.png": "swagger-ui-dist/favicon-32x32.png",
}
VENDOR_DIRS = {"images/": "leaflet/dist/images/"}  # leaflet.css refers to images/… beside itself


def vendor_file(node_modules: Path, name: str) -> Path | None:
    """The node_modules file behind a /static/vendor name, or None."""
    if name in VENDOR:
        return node_modules / VENDOR[name]
    for prefix, folder in VENDOR_DIRS.items():
        rest = name.removeprefix(prefix)
        if name.startswith(prefix) and rest and "/" not in rest and not rest.startswith("."):
            return node_modules / folder / rest
    return None


# Every field app's shell shares these files (the base map, the page script, the styles).
FIELD_SHELL = ("/vocab.js", "/static/channels/outbox.js", "/static/channels/channels.css", "/static/channels/icon.svg",
               "/static/web/css/app.css", "/static/web/js/app.js", "/static/vendor/leaflet.js",
               "/static/vendor/leaflet.css", "/static/vendor/protomaps-leaflet.js", "/map/config.js",
               "/static/web/js/map.js")


def field_worker(app: str, version: int, shell: tuple[str, ...]) -> Response:
    """A field app's service worker (web/static/js/field-sw.js) with its cache name and app shell; allowed to
    control /m/<app> itself (a scope without the trailing slash)."""
    config = {"cache": f"cityloop-{app}-v{version}", "prefix": f"cityloop-{app}", "shell": [*shell, *FIELD_SHELL]}
    text = f"const APP = {json.dumps(config, ensure_ascii=False)};\n" + (ROOT / "web/static/js/field-sw.js").read_text()
    return Response(text, media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/m/"})
