"""Serving tiles without the framework: the app's route table has hundreds of routes and matching a path against
them cost more than reading the tile. TileFastPath (an ASGI middleware inside the security headers) answers a well
formed GET /map/tiles/… itself; anything else, errors included, goes on to the route in router.py."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from cityloop.basemap import domain
from cityloop.basemap.files import TileFile
from cityloop.state import AppState, app_state
from cityloop.basemap.mbtiles import FORMATS, GZIP

PREFIX = "/map/tiles/"
TILE_CACHE = b"public, max-age=3600"
CONTENT_TYPES = {k: v.encode() for k, v in FORMATS.items()}


def store(state: AppState) -> TileFile:
    """The app's open handle on the local tile file (MBTiles or PMTiles), one per worker."""
    current = state.basemap_store
    path = state.settings.map_tiles_path
    if current is None or current.path != path:
        current = state.basemap_store = TileFile(path)
    return current


async def answer(scope: Scope, send: Send, z: str, x: str, name: str) -> bool:
    """Send tile z/x/name (200 as stored: vector tiles stay gzip with Content-Encoding; 204 where the map has
    nothing; 304 when the browser's copy is current). False, having sent nothing, when it is no tile of this map."""
    if not (z.isascii() and z.isdigit() and x.isascii() and x.isdigit()):
        return False
    parsed = domain.parse_tile(int(z), int(x), name)
    if parsed is None:
        return False
    tiles = store(app_state(scope["app"]))
    data = tiles.tile(parsed[0], parsed[1], parsed[2])
    meta = tiles.metadata
    fmt = meta.get("format", "pbf")
    if not meta or parsed[3] != fmt and not (fmt == "jpeg" and parsed[3] == "jpg"):
        return False
    headers = [(b"cache-control", TILE_CACHE)]
    if data is None:
        await _send(send, 204, headers, b"")
        return True
    etag = f'"{tiles.version}-{parsed[0]}-{parsed[1]}-{parsed[2]}"'.encode()
    headers.append((b"etag", etag))
    for key, value in scope["headers"]:
        if key == b"if-none-match" and etag in value:
            await _send(send, 304, headers, b"")
            return True
    headers.append((b"content-type", CONTENT_TYPES[fmt]))
    if fmt == "pbf" and data[:2] == GZIP:
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(data)).encode()))
    await _send(send, 200, headers, bytes(data))
    return True


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TileFastPath:
    """Answer GET /map/tiles/{z}/{x}/{y}.{ext} before routing; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            parts = scope["path"][len(PREFIX):].split("/")
            if len(parts) == 3 and "app" in scope and await answer(scope, send, *parts):
                return
        await self.app(scope, receive, send)
