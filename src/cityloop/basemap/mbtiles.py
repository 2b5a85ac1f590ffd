"""MBTiles files (SQLite: a `metadata` table and a `tiles` table in TMS rows): write, validate, install, and read
tiles through one open read-only handle with an LRU cache in front."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

FORMATS = {"pbf": "application/vnd.mapbox-vector-tile", "png": "image/png", "jpg": "image/jpeg",
           "jpeg": "image/jpeg", "webp": "image/webp"}
GZIP = b"\x1f\x8b"
ZLIB = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",), "webp": (b"RIFF",)}


WHOLE_FILE_BYTES = 32 << 20  # a tile file up to this size is read into memory whole when opened

Stamp = tuple[int, int, int]  # a file's inode, mtime (ns) and size: it changes when the file is replaced


class TileFileError(ValueError):
    """A tile file that cannot be used, with the reason in Chinese and English."""


def write_mbtiles(path: Path, metadata: dict[str, str], tiles: dict[tuple[int, int, int], bytes]) -> None:
    """Write an MBTiles file beside `path` and move it into place when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".building", dir=path.parent)
    os.close(fd)
    try:
        with sqlite3.connect(tmp) as db:
            db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
            db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                       "tile_data BLOB)")
            db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
            db.executemany("INSERT INTO metadata VALUES (?, ?)", sorted(metadata.items()))
            db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                           ((z, x, (1 << z) - 1 - y, data) for (z, x, y), data in sorted(tiles.items())))
        db.close()
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _tile_ok(fmt: str, data: bytes) -> bool:
    if fmt == "pbf":
        if data[:2] == GZIP:
            import gzip

            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                return False
        return _mvt_ok(data)
    return data.startswith(MAGIC[fmt])


def _mvt_ok(data: bytes) -> bool:
    import mapbox_vector_tile

    try:
        mapbox_vector_tile.decode(data)
    except Exception:  # the decoder raises protobuf's DecodeError and others on garbage
        return False
    return True


def validate(path: Path, sample: int = 8) -> dict[str, str]:
    """Check an MBTiles file completely (SQLite integrity, metadata, tile table, a sample of tiles decoding);
    returns its metadata or raises TileFileError."""
    if not path.is_file():
        raise TileFileError(f"文件不存在 / no such file: {path}")
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise TileFileError("不是 MBTiles（SQLite）文件 / not an MBTiles (SQLite) file")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise TileFileError("MBTiles 文件已损坏 / the MBTiles file is corrupt (integrity check failed)")
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            fmt = meta.get("format", "")
            if fmt not in FORMATS:
                raise TileFileError(f"MBTiles 元数据缺少或不支持 format（{fmt!r}）/ metadata format missing or "
                                    "unsupported (pbf, png, jpg, webp)")
            count = db.execute("SELECT count(*) FROM tiles").fetchone()[0]
            if not count:
                raise TileFileError("MBTiles 文件没有瓦片 / the MBTiles file holds no tiles")
            rows = db.execute("SELECT tile_data FROM tiles ORDER BY random() LIMIT ?", (sample,)).fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        raise TileFileError(f"MBTiles 文件无法读取 / the MBTiles file cannot be read: {e}") from e
    for (data,) in rows:
        if not data or not _tile_ok(fmt, bytes(data)):
            raise TileFileError(f"瓦片数据损坏（{fmt}）/ a tile does not decode as {fmt}")
    return meta


class TileStore:
    """Tiles of one MBTiles file: a read-only connection kept open and an LRU of recent tiles (64 Ki tiles: a county
    map whole, a city's busy part); reopened when the file is replaced (an import while the server runs)."""

    def __init__(self, path: Path, cache_size: int = 65536, recheck: float = 0.0) -> None:
        self.path, self.cache_size = Path(path), cache_size
        self.recheck, self._next_check = recheck, 0.0  # seconds between looks at the file for a replacement
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._stamp: Stamp | None = None
        self._cache: OrderedDict[tuple[int, int, int], bytes | None] = OrderedDict()
        self._all: dict[tuple[int, int, int], bytes] | None = None
        self.metadata: dict[str, str] = {}

    def _stat(self) -> Stamp | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _open(self, stamp: Stamp | None) -> None:
        if self._db is not None:
            self._db.close()
        self._db, self._cache, self.metadata, self._all = None, OrderedDict(), {}, None
        self._stamp = stamp
        if stamp is not None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self.metadata = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            if stamp[2] <= WHOLE_FILE_BYTES:  # a county's map: every tile in memory, no query per tile
                self._all = {(z, x, (1 << z) - 1 - r): bytes(d) for z, x, r, d in self._db.execute(
                    "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")}

    def available(self) -> bool:
        """Whether the file is there and readable."""
        with self._lock:
            self._refresh()
            return self._db is not None

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.recheck
        stamp = self._stat()
        if stamp != self._stamp:
            self._open(stamp)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored bytes of tile z/x/y (XYZ scheme), or None."""
        key = (z, x, y)
        with self._lock:
            self._refresh()
            if self._db is None:
                return None
            if self._all is not None:
                return self._all.get(key)
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            row = self._db.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                   (z, x, (1 << z) - 1 - y)).fetchone()
            data = bytes(row[0]) if row else None
            self._cache[key] = data
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return data

    def close(self) -> None:
        """Close the handle."""
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = None
