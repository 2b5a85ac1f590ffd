"""Security headers on every response (a pure ASGI middleware: no body buffering, SSE keeps streaming)."""

from __future__ import annotations

from urllib.parse import urlparse

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def csp(tile_url: str | None, nonce: str | None = None) -> str:
    """The pages' Content-Security-Policy: only this server, plus the map tile host when one is configured.

    Scripts come only from our own files (never inline), except an inline script carrying this response's `nonce`."""
    tiles = ""
    if tile_url:
        host = urlparse(tile_url.replace("{s}", "x")).netloc
        if "{s}" in tile_url:  # subdomain-rotated tiles (t0…t7.example.com): allow the parent domain's subdomains
            host = "*." + host.split(".", 1)[-1]
        tiles = f" https://{host} http://{host}"
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    # Leaflet, ECharts and Swagger UI set inline styles; styles cannot run code, so they may stay inline.
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{tiles}; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
            "frame-ancestors 'self'; base-uri 'self'; form-action 'self'")


class SecurityHeaders:
    """Add nosniff, framing, referrer, permissions and CSP headers (and HSTS behind TLS), and `Cache-Control:
    no-store` on every response that sets no caching of its own: API answers and pages carry names and phone
    numbers, which no browser or proxy cache may keep; static assets and QR images say how they may be cached."""

    def __init__(self, app: ASGIApp, tile_url: str | None = None, hsts: bool = False) -> None:
        self.app = app
        self.headers = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"),
                        (b"referrer-policy", b"same-origin"),
                        (b"permissions-policy", b"geolocation=(self), camera=(self), microphone=()"),
                        (b"content-security-policy", csp(tile_url).encode())]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in present]
                if b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over `limit` bytes with a 413 problem (by Content-Length, or counted as they arrive)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from cityloop.http.problems import problem

        mb = self.limit // (1024 * 1024)
        response = problem(Request(scope, receive), 413, "request-too-large", f"请求内容超过 {mb} MB",
                           f"The request body is larger than {self.limit} bytes")
        await response(scope, receive, send)
