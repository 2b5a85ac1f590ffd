"""The installed base-map file, MBTiles or PMTiles (told apart by their first bytes, not by the name): validate,
install (all or nothing) and read."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from cityloop.basemap import mbtiles, pmtiles_file
from cityloop.basemap.mbtiles import Stamp, TileFileError

SUFFIXES = (".mbtiles", ".pmtiles")


def validate(path: Path, sample: int = 8) -> dict[str, str]:
    """Check an MBTiles or PMTiles file completely; its metadata (MBTiles terms) or TileFileError."""
    if pmtiles_file.is_pmtiles(path):
        return pmtiles_file.validate(path, sample=sample)
    if path.suffix.lower() == ".pmtiles" and path.is_file():
        raise TileFileError("不是 PMTiles 文件（文件头不对）/ not a PMTiles file (wrong header)")
    return mbtiles.validate(path, sample=sample)


def install(source: Path, target: Path) -> dict[str, str]:
    """Validate `source`, copy it beside `target`, validate the copy, then rename it over `target`: a bad file or a
    failed copy leaves the installed map as it was."""
    meta = validate(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".importing", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        validate(Path(tmp), sample=1)  # the copy is what will be served
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return meta


class TileFile:
    """The tiles at `path`, whichever format is installed there; follows a replacement while the server runs
    (looking at the file at most every `recheck` seconds: a stat per tile is a good part of serving one)."""

    def __init__(self, path: Path, recheck: float = 0.5) -> None:
        self.path, self.recheck, self._next_check = Path(path), recheck, 0.0
        self._lock = threading.Lock()
        self._stamp: Stamp | tuple[str] | None = ("unopened",)
        self._store: mbtiles.TileStore | pmtiles_file.PMTilesStore | None = None
        self.version = "0"  # changes with the file: part of every tile's ETag

    def _current(self) -> mbtiles.TileStore | pmtiles_file.PMTilesStore:
        now = time.monotonic()
        store = self._store
        if store is not None and now < self._next_check:
            return store
        self._next_check = now + self.recheck
        stamp: Stamp | None
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if store is None or stamp != self._stamp:  # no store yet means the stamp is still "unopened"
            with self._lock:
                kind = pmtiles_file.PMTilesStore if pmtiles_file.is_pmtiles(self.path) else mbtiles.TileStore
                store = self._store
                if not isinstance(store, kind):
                    if store is not None:
                        store.close()
                    store = self._store = kind(self.path, recheck=self.recheck)
                self._stamp = stamp
                self.version = format(hash(stamp) & 0xFFFFFFFF, "x")
        return store

    @property
    def metadata(self) -> dict[str, str]:
        """The installed file's metadata (MBTiles terms), {} when there is none."""
        store = self._current()
        store.available()
        return store.metadata

    def available(self) -> bool:
        """Whether a readable tile file is installed."""
        return self._current().available()

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored bytes of tile z/x/y (XYZ), or None."""
        return self._current().tile(z, x, y)

    def close(self) -> None:
        """Close the open file."""
        if self._store is not None:
            self._store.close()
