"""The API docs at /docs: Swagger UI from npm's swagger-ui-dist under /static/vendor (no CDN), its inline start-up
script allowed by a nonce made for each response (the rest of the app allows no inline script at all)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from cityloop.config import Settings
from cityloop.deps import SettingsDep
from cityloop.http.middleware import csp

router = APIRouter(include_in_schema=False)
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def with_nonce(settings: Settings, page: HTMLResponse) -> HTMLResponse:
    """The page with a fresh nonce on its inline scripts and a CSP that lets only those (and our files) run."""
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    policy = csp(settings.map_tile_url, nonce)
    return HTMLResponse(html, headers={"content-security-policy": policy, "cache-control": "no-store"})


@router.api_route("/docs", methods=["GET", "HEAD"])
def swagger_ui(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Swagger UI for /openapi.json."""
    app = request.app
    page = get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - API",
                               swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                               swagger_css_url="/static/vendor/swagger-ui.css",
                               swagger_favicon_url="/static/vendor/swagger-favicon.png",
                               oauth2_redirect_url=OAUTH2_REDIRECT,
                               swagger_ui_parameters={"validatorUrl": None})
    return with_nonce(settings, page)


@router.api_route(OAUTH2_REDIRECT, methods=["GET", "HEAD"])
def swagger_ui_redirect(settings: SettingsDep) -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return with_nonce(settings, get_swagger_ui_oauth2_redirect_html())
