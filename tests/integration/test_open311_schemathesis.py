"""The Open311 endpoint against the official GeoReport v2.1 OpenAPI description (tests/data/georeport_v2-1.yaml,
patched only where it contradicts the specification text; the patches are listed at its top): `schemathesis run`
with every check, in JSON and in XML, on a live server with a few requests in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.channels.models import ChannelReport

from tests.integration.test_open311_georeport_client import accept_live
from tests.live import live  # noqa: F401

DESCRIPTION = Path(__file__).resolve().parents[1] / "data" / "georeport_v2-1.yaml"
CLI = Path(sys.executable).parent / "schemathesis"


def _seed(live) -> tuple[list[str], str]:  # noqa: F811
    """Two requests in the live database; their numbers and the first one's token."""
    numbers = []
    for grid in ("341122100001001", "341122100001004"):
        lon, lat = live.world.point(grid)
        r = httpx.post(f"{live.url}/open311/v2/requests.json",
                       data={"api_key": "demo", "service_code": "06010", "lat": lat, "long": lon, "description": "垃圾"})
        assert r.status_code == 200, r.text
        numbers.append(r.json()[0]["service_request_id"])
        accept_live(live, numbers[-1])  # public once accepted
    with app_state(live.app).session_factory() as session:
        token = session.scalar(select(ChannelReport.tracking_code).order_by(ChannelReport.id))
    return numbers, token


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_schemathesis_run_passes(live, tmp_path, fmt):  # noqa: F811
    numbers, token = _seed(live)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.response_format" = "{fmt}"\n'
        '"query.api_key" = "demo"\n'
        # by-id operations also meet real requests, not only 404s
        f'"path.service_request_id" = "{numbers[0]}"\n'
        '"path.service_code" = "01001"\n'
        f'"path.token_id" = "{token}"\n')
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    run = subprocess.run(
        [str(CLI), "--config-file", str(config), "run", str(DESCRIPTION), "--url", f"{live.url}/open311/v2",
         "--checks", "all", "--max-examples", "40", "--seed", "311", "--workers", "1",
         "--generation-database", "none", "--request-timeout", "20"],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
