"""Pure rules of the base map: which source a deployment uses and what a tile name means."""

from __future__ import annotations

import re

TILE_NAME = re.compile(r"^(\d{1,10})\.(pbf|mvt|png|jpg|jpeg|webp)$")
MAX_ZOOM = 24


def parse_tile(z: int, x: int, name: str) -> tuple[int, int, int, str] | None:
    """(z, x, y, extension) of /map/tiles/{z}/{x}/{name}, or None when no such tile can exist."""
    m = TILE_NAME.match(name)
    if m is None or not 0 <= z <= MAX_ZOOM:
        return None
    y, ext = int(m.group(1)), m.group(2)
    if not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
        return None
    return z, x, y, ("pbf" if ext == "mvt" else ext)


def base_source(local_available: bool, tile_url: str | None) -> str:
    """'local', 'url' or 'none', in that order of preference."""
    if local_available:
        return "local"
    return "url" if tile_url else "none"
