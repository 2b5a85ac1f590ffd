"""PMTiles v3 files (one archive: header, directories, tiles) through the `pmtiles` package: validate and read
tiles from a memory map, with the directories decoded once and kept."""

from __future__ import annotations

import gzip
import json
import mmap
import os
import threading
import time
import zlib
from functools import lru_cache
from pathlib import Path

from pmtiles.tile import (Compression, Entry, HeaderDict, MagicNumberNotFound, SpecVersionUnsupported, TileType,
                          deserialize_directory, deserialize_header, find_tile, zxy_to_tileid)

from cityloop.basemap.mbtiles import MAGIC as MAGIC_OF
from cityloop.basemap.mbtiles import Stamp, TileFileError, _tile_ok

MAGIC = b"PMTiles"
TYPES = {TileType.MVT: "pbf", TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}
HEADER_BYTES = 127
MAX_DEPTH = 4  # the spec's limit on root + leaf directory levels


def is_pmtiles(path: Path) -> bool:
    """Whether the file starts like a PMTiles archive."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _header(data: mmap.mmap) -> HeaderDict:
    if len(data) < HEADER_BYTES:
        raise TileFileError("PMTiles 文件不完整 / the PMTiles file is truncated (no complete header)")
    try:
        return deserialize_header(data[:HEADER_BYTES])
    except (MagicNumberNotFound, UnicodeDecodeError):
        raise TileFileError("不是 PMTiles 文件 / not a PMTiles file") from None
    except SpecVersionUnsupported:
        raise TileFileError("只支持 PMTiles 第 3 版 / only PMTiles version 3 is supported") from None
    except ValueError as e:  # an unknown compression or tile type number
        raise TileFileError(f"PMTiles 文件头无效 / invalid PMTiles header: {e}") from None


def _metadata(data: mmap.mmap, header: HeaderDict) -> dict[str, str]:
    """The archive's metadata in MBTiles terms (format, minzoom, maxzoom, bounds, name, attribution)."""
    fmt = TYPES.get(header["tile_type"])
    if fmt is None:
        raise TileFileError(f"不支持的瓦片类型 / unsupported tile type: {header['tile_type'].name} "
                            "(MVT, PNG, JPEG, WebP)")
    raw = bytes(data[header["metadata_offset"]:header["metadata_offset"] + header["metadata_length"]])
    try:
        if header["internal_compression"] == Compression.GZIP:
            raw = gzip.decompress(raw)
        extra = json.loads(raw or b"{}")
    except (OSError, EOFError, zlib.error, ValueError):
        raise TileFileError("PMTiles 元数据损坏 / the PMTiles metadata is corrupt") from None
    extra = extra if isinstance(extra, dict) else {}
    bounds = [header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")]
    meta = {"format": fmt, "minzoom": str(header["min_zoom"]), "maxzoom": str(header["max_zoom"]),
            "bounds": ",".join(f"{v:.7f}" for v in bounds)}
    for key in ("name", "attribution", "description"):
        if isinstance(extra.get(key), str):
            meta[key] = extra[key]
    return meta


def _walk(data: mmap.mmap, header: HeaderDict, size: int) -> list[Entry]:
    """Every tile entry of the archive, with every directory and tile range checked against the file."""
    if header["internal_compression"] not in (Compression.GZIP, Compression.NONE):
        raise TileFileError("不支持的 PMTiles 目录压缩 / unsupported PMTiles directory compression")
    tiles: list[Entry] = []
    todo = [(header["root_offset"], header["root_length"], 0)]
    while todo:
        offset, length, depth = todo.pop()
        if depth >= MAX_DEPTH or offset + length > size or length <= 0:
            raise TileFileError("PMTiles 目录越界或不完整 / a PMTiles directory lies outside the file (truncated?)")
        try:
            entries = _directory(data, offset, length, header["internal_compression"])
        except (OSError, EOFError, zlib.error, ValueError, IndexError):
            raise TileFileError("PMTiles 目录损坏 / a PMTiles directory is corrupt") from None
        for e in entries:
            if e.run_length == 0:
                todo.append((header["leaf_directory_offset"] + e.offset, e.length, depth + 1))
            elif header["tile_data_offset"] + e.offset + e.length > size:
                raise TileFileError("PMTiles 瓦片数据越界 / tile data lies outside the file (truncated?)")
            else:
                tiles.append(e)
    return tiles


def _directory(data: mmap.mmap, offset: int, length: int, compression: Compression) -> list[Entry]:
    raw = bytes(data[offset:offset + length])
    if compression == Compression.NONE:  # deserialize_directory expects gzip
        raw = gzip.compress(raw, mtime=0)
    return deserialize_directory(raw)


def _check_tiles(data: mmap.mmap, base: int, entries: list[Entry], fmt: str, sample: int) -> None:
    """Every stored tile passes the cheap check (gzip CRC of vector tiles, image signatures), a sample decodes."""
    spans = sorted({(e.offset, e.length) for e in entries})
    step = max(1, len(spans) // max(sample, 1))
    for i, (offset, length) in enumerate(spans):
        tile = bytes(data[base + offset:base + offset + length])
        if not length:
            ok = False
        elif i % step == 0 and i // step < sample:
            ok = _tile_ok(fmt, tile)
        elif fmt == "pbf":
            ok = tile[:2] != b"\x1f\x8b" or _gunzips(tile)
        else:
            ok = tile.startswith(MAGIC_OF[fmt])
        if not ok:
            raise TileFileError(f"瓦片数据损坏（{fmt}）/ a tile does not decode as {fmt}")


def _gunzips(data: bytes) -> bool:
    try:
        gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return False
    return True


def validate(path: Path, sample: int = 8) -> dict[str, str]:
    """Check a PMTiles file completely (header, metadata, every directory, tile ranges, a sample of tiles
    decoding); returns its metadata in MBTiles terms or raises TileFileError."""
    if not path.is_file():
        raise TileFileError(f"文件不存在 / no such file: {path}")
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise TileFileError("不是 PMTiles 文件或文件不完整 / not a PMTiles file, or truncated")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        header = _header(data)
        meta = _metadata(data, header)
        if header["tile_compression"] not in (Compression.GZIP, Compression.NONE, Compression.UNKNOWN):
            raise TileFileError("不支持的瓦片压缩（只支持 gzip 或不压缩）/ unsupported tile compression "
                                "(gzip or none only)")
        entries = _walk(data, header, size)
        if not entries:
            raise TileFileError("PMTiles 文件没有瓦片 / the PMTiles file holds no tiles")
        _check_tiles(data, header["tile_data_offset"], entries, meta["format"], sample)
    return meta


class PMTilesStore:
    """Tiles of one PMTiles file, read from a memory map; directories decoded once (LRU); reopened when the file is
    replaced. Same interface as mbtiles.TileStore."""

    def __init__(self, path: Path, recheck: float = 0.0) -> None:
        self.path = Path(path)
        self.recheck, self._next_check = recheck, 0.0  # seconds between looks at the file for a replacement
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._map: mmap.mmap | None = None
        self._header: HeaderDict | None = None
        self.metadata: dict[str, str] = {}

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.recheck
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        self.close_map()
        self._stamp = stamp
        if stamp is None:
            return
        try:
            with open(self.path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._header = _header(self._map)
            self.metadata = _metadata(self._map, self._header)
        except (OSError, ValueError, TileFileError):
            self.close_map()
            return
        compression = self._header["internal_compression"]
        mapping = self._map
        self._dir = lru_cache(maxsize=256)(lambda off, length: _directory(mapping, off, length, compression))

    def close_map(self) -> None:
        """Drop the memory map (the file was replaced or removed)."""
        if self._map is not None:
            self._map.close()
        self._map, self._header, self.metadata = None, None, {}

    def available(self) -> bool:
        """Whether the file is there and readable."""
        with self._lock:
            self._refresh()
            return self._map is not None

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored bytes of tile z/x/y (XYZ scheme), or None."""
        with self._lock:
            self._refresh()
            h = self._header
            if self._map is None or h is None:
                return None
            tile_id = zxy_to_tileid(z, x, y)
            offset, length = h["root_offset"], h["root_length"]
            for _ in range(MAX_DEPTH):
                entry = find_tile(self._dir(offset, length), tile_id)
                if entry is None:
                    return None
                if entry.run_length:
                    start = h["tile_data_offset"] + entry.offset
                    return self._map[start:start + entry.length]
                offset, length = h["leaf_directory_offset"] + entry.offset, entry.length
            return None

    def close(self) -> None:
        """Close the memory map."""
        with self._lock:
            self.close_map()
            self._stamp = None
