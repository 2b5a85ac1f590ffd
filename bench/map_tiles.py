"""map_tiles: base-map tiles/s from the local MBTiles file over HTTP (GET /map/tiles/{z}/{x}/{y}.pbf, one uvicorn
worker, wrk cycling over every stored tile of z12–16 of the demo county). Target: ≥ 2,000 tiles/s.

Baseline (same run, same server): GET /healthz, the cheapest route through the app's routing. Tiles are answered
ahead of routing (basemap/http.py), so they may beat it. The same tiles from a PMTiles copy of the map (a second
server on that file) are reported in params."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pmtiles.convert import mbtiles_to_pmtiles  # noqa: E402

from _http_load import build_county, ensure_wrk, server  # noqa: E402
from common import write_result  # noqa: E402

PORT = 18742
CONNECTIONS = 32
DURATION = "10s"
GET_LUA = r"""
local paths = {%(paths)s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%%d,"errors":%%d,"status":%%d,"p50_ms":%%.3f,"p99_ms":%%.3f,"seconds":%%.3f}\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50)/1000, latency:percentile(99)/1000, summary.duration/1e6))
end
"""


def run_get(wrk: str, paths: list[str]) -> dict:
    """GET the paths round-robin for DURATION; requests/s of 2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(GET_LUA % {"paths": ",".join(json.dumps(p) for p in paths)})
    out = subprocess.run([wrk, "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--timeout", "10s", "-s", fh.name,
                          f"http://127.0.0.1:{PORT}{paths[0]}"], capture_output=True, text=True, check=True).stdout
    os.unlink(fh.name)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    result["per_second"] = round((result["requests"] - result["status"] - result["errors"]) / result["seconds"], 1)
    return result


def main() -> None:
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        tiles = Path(tmp) / "basemap.mbtiles"
        env = {**os.environ, "CITYLOOP_DATABASE_URL": db, "CITYLOOP_DEMO": "1", "CITYLOOP_MAP_TILES_PATH": str(tiles),
               "CITYLOOP_FLEET_GATEWAY_IN_SERVER": "false"}
        build_county(db, env)
        subprocess.run([sys.executable, "-m", "cityloop.cli", "map", "build"], env=env, check=True,
                       capture_output=True)
        with sqlite3.connect(tiles) as con:
            rows = con.execute("SELECT zoom_level, tile_column, tile_row FROM tiles WHERE zoom_level >= 12").fetchall()
        paths = [f"/map/tiles/{z}/{x}/{(1 << z) - 1 - r}.pbf" for z, x, r in rows]
        with server(env, PORT, 1):
            run_get(wrk, paths[:50])  # warm-up
            tiles_run = run_get(wrk, paths)
            health = run_get(wrk, ["/healthz"])
        pm = Path(tmp) / "basemap.pmtiles"
        mbtiles_to_pmtiles(str(tiles), str(pm), None)
        with server({**env, "CITYLOOP_MAP_TILES_PATH": str(pm)}, PORT, 1):
            run_get(wrk, paths[:50])
            pm_run = run_get(wrk, paths)
    write_result("map_tiles", "tiles/s", tiles_run["per_second"], True, "GET /healthz (requests/s, same server)",
                 health["per_second"],
                 {"tiles": len(paths), "zooms": "12-16", "connections": CONNECTIONS, "duration": DURATION,
                  "workers": 1, "p99_ms": tiles_run["p99_ms"], "healthz_p99_ms": health["p99_ms"],
                  "errors": tiles_run["errors"] + tiles_run["status"], "pmtiles_tiles_per_s": pm_run["per_second"],
                  "pmtiles_errors": pm_run["errors"] + pm_run["status"], "load_average": os.getloadavg()[0]},
                 "sqlite (MBTiles file)")


if __name__ == "__main__":
    main()
