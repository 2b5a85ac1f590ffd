"""HTTP load plumbing for the intake benchmarks: a demo-county database, a uvicorn server in a subprocess, and wrk
(Debian package, installed if missing) driven by a Lua script that posts reports (the core API's JSON, or an Open311
form) as fast as it can; at a fixed rate, the open-loop client of _open_loop.py instead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import httpx
from _open_loop import run_open_loop

POST_LUA = r"""
local points = {%(points)s}
local token = "%(token)s"
local path = "%(path)s"
local i = 0
request = function()
  i = i + 1
  local p = points[(i %% #points) + 1]
  local body = string.format('%(body)s', p[1], p[2], i)
  return wrk.format("POST", path, {["Content-Type"]="%(ctype)s", ["Authorization"]="Bearer " .. token}, body)
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%%d,"errors":%%d,"status":%%d,"p50_ms":%%.3f,"p99_ms":%%.3f,"seconds":%%.3f}\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50)/1000, latency:percentile(99)/1000, summary.duration/1e6))
end
"""


PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fresh_postgres(name: str) -> str:
    """Drop and create the PostgreSQL database `name` (next to BENCH_PG_URL's); returns its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def analyze(url: str) -> None:
    """PostgreSQL: ANALYZE the database after the warm-up, as autovacuum does within a minute of a city's first
    reports. A pooled connection keeps the plans of its foreign-key checks from their first use; made while
    `cases` was empty, they scan it whole for every new case event until the table is analyzed."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian's packages when missing."""
    path = shutil.which("wrk")
    if not path:
        for step in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"],
                     ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(step, check=False, capture_output=True)
            if (path := shutil.which("wrk")):
                break
    if not path:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return path


def build_county(db_url: str, env: dict) -> list[tuple[float, float]]:
    """Migrate and build the demo county (no history) in a subprocess; returns a point in every unit grid."""
    code = (
        "import json\n"
        "from cityloop.config import Settings\n"
        "from cityloop.db.migrate import upgrade\n"
        "from cityloop.db import make_engine, make_session_factory\n"
        "from cityloop.demo.county import build_base, places\n"
        "from cityloop.shared.clock import SystemClock\n"
        f"s = Settings(database_url={db_url!r}, demo=True)\n"
        "upgrade(s.database_url)\n"
        "with make_session_factory(make_engine(s.database_url))() as session:\n"
        "    build_base(session, s, SystemClock().now())\n"
        "    print(json.dumps([[p.lon, p.lat] for p in places(session)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return [tuple(p) for p in json.loads(out.strip().splitlines()[-1])]


@contextmanager
def server(env: dict, port: int, workers: int):
    """uvicorn with `workers` processes on `port`; yields a bearer token of inspector01."""
    # Several workers as `cityloop serve --workers` runs them (a listening socket each: cityloop/http/serving.py).
    options = dict(app="cityloop.app:create_app", factory=True, host="127.0.0.1", port=port, log_level="warning",
                   access_log=False)
    code = f"from cityloop.http import serving; serving.run({options!r}, '127.0.0.1', {port}, {workers}, 10.0)"
    cmd = ([sys.executable, "-c", code] if workers > 1 else
           [sys.executable, "-m", "uvicorn", "cityloop.app:create_app", "--factory", "--port", str(port),
            "--log-level", "warning", "--no-access-log"])
    proc = subprocess.Popen(cmd, env={**env, "CITYLOOP_SCHEDULER_IN_SERVER": "false"})
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                           data={"username": "inspector01", "password": "demo"}).json()["access_token"]
        yield token
    finally:
        proc.terminate()
        proc.wait(timeout=60)


JSON_BODY = ('{"category_code":"06010","lon":%.6f,"lat":%.6f,"description":"bench %d"}', "application/json")
# Open311 GeoReport v2 POST Service Request, form-encoded (demo mode accepts the api_key `demo`).
OPEN311_BODY = ("api_key=demo&service_code=06010&long=%.6f&lat=%.6f&description=bench+%d",
                "application/x-www-form-urlencoded")


def run_wrk(wrk: str, port: int, path: str, token: str, points, connections: int, duration: str,
            rate: float | None = None, body: tuple[str, str] = JSON_BODY) -> dict:
    """POST reports to `path`: as fast as wrk goes (closed loop), or open-loop at `rate` requests/s."""
    if rate:
        return run_open_loop(port, path, token, points[:2000], body, rate, float(duration.rstrip("s")),
                             connections)
    script = POST_LUA % {"points": ",".join(f"{{{x},{y}}}" for x, y in points[:2000]), "token": token,
                         "path": path, "body": body[0], "ctype": body[1]}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    cmd = [wrk, "-t2", f"-c{connections}", f"-d{duration}", "--timeout", "10s", "-s", fh.name,
           f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    os.unlink(fh.name)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    result["per_second"] = round((result["requests"] - result["status"] - result["errors"]) / result["seconds"], 1)
    return result
