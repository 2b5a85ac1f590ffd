"""Content-Security-Policy: no page may run inline script. Every HTML page the app serves says so in its header,
no template carries an inline <script> or on*= handler, and /docs runs only its own nonce-marked start-up script."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.routing import iter_route_contexts

import cityloop
from tests.factories import form_login

SRC = Path(cityloop.__file__).resolve().parent


def script_src(policy: str) -> list[str]:
    """The sources of a policy's script-src directive."""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return directives["script-src"].split()


def page_paths(app) -> list[str]:
    """GET pages without path parameters (everything but the JSON API and static files)."""
    return sorted({c.path for c in iter_route_contexts(app.routes) if "GET" in (c.methods or ()) and "{" not in c.path
                   and not c.path.startswith(("/api/", "/static", "/open311", "/healthz", "/openapi"))})


def test_no_html_page_allows_inline_script(api, world):
    r = form_login(api, "admin")
    assert r.status_code == 303
    paths = page_paths(api.app)
    assert {"/console", "/public/services", "/public/warnings", "/m/report", "/docs"} <= set(paths)
    admin, checked = dict(api.cookies), set()
    for cookies in (admin, {}):  # as the admin, and as a passer-by
        api.cookies.clear()
        api.cookies.update(cookies)
        for path in paths:
            r = api.get(path, follow_redirects=False)
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue
            sources = script_src(r.headers["content-security-policy"])
            assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, path
            assert "'self'" in sources, path
            checked.add((bool(cookies), path, r.status_code))
    assert len(checked) > 40 and (True, "/console/sensors", 200) in checked and (False, "/public/services", 200) in checked


def test_docs_nonce_is_fresh_and_only_on_its_own_scripts(api):
    first, second = api.get("/docs"), api.get("/docs")
    assert first.status_code == 200 and "/static/vendor/swagger-ui-bundle.js" in first.text
    assert "cdn.jsdelivr.net" not in first.text and "fastapi.tiangolo.com" not in first.text
    nonces = [re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20
    inline = re.findall(r"<script( [^>]*)?>(?!</script>)", first.text)
    assert inline and all(f'nonce="{nonces[0]}"' in attrs or "src=" in attrs for attrs in inline)
    redirect = api.get("/docs/oauth2-redirect")
    nonce = re.search(r"'nonce-([^']+)'", redirect.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in redirect.text
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-favicon.png"):
        assert api.get(f"/static/vendor/{name}").status_code == 200
    assert api.get("/redoc").status_code == 404  # its bundle only comes from a CDN


class _Inline(HTMLParser):
    """Collect inline scripts and event-handler attributes of one template."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        self.found += [f"{name}= at line {self.getpos()[0]}" for name in attrs if name.startswith("on")]
        self.found += [f"javascript: URL at line {self.getpos()[0]}" for value in attrs.values()
                       if value and value.strip().lower().startswith("javascript:")]


def test_no_template_carries_inline_script_or_handlers():
    templates = sorted(SRC.glob("*/templates/**/*.html"))
    assert len(templates) > 40
    found = {}
    for path in templates:
        parser = _Inline()
        parser.feed(path.read_text(encoding="utf-8"))
        if parser.found:
            found[str(path.relative_to(SRC))] = parser.found
    assert found == {}
