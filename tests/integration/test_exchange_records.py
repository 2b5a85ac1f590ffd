"""Two CityLoop servers over real HTTP: the county's 部件普查 changes (an import run by its CLI) and its sensor alarm
summaries (readings posted by a gateway) go up the exchange outbox and the city stores and shows them."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.integration.exchange_servers import COUNTY, headers, pair, seeded, wait_for
from tests.integration.test_backup import two_databases  # noqa: F401

pytestmark = pytest.mark.slow
GATEWAY_KEY = "gw-exchange-test-key-0123456789"
CSV = "id,type_code,name,lon,lat,state,grid_code\n"


def _import(county, path) -> None:
    run = subprocess.run([sys.executable, "-m", "cityloop.cli", "catalog", "components", "import", str(path)],
                         env=county.env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_component_changes_and_alarm_summaries_reach_the_city(two_databases, tmp_path):  # noqa: F811
    county_url, city_url = two_databases
    county_users, city_users = seeded(county_url), seeded(city_url)
    city, county = pair(county_url, city_url, tmp_path, CITYLOOP_SENSOR_GATEWAY_KEYS=f'["{GATEWAY_KEY}"]')
    city.start()
    county.start()
    try:
        lead = headers(city_users, "leader1")
        lon, lat = county_users["_lon"], county_users["_lat"]

        def records(kind: str, want: int):
            r = httpx.get(f"{city.base}/api/v1/exchange/records", params={"kind": kind, "platform": COUNTY},
                          headers=lead, timeout=5)
            assert r.status_code == 200, r.text
            return r.json() if len(r.json()) >= want else None

        # 部件普查: two new covers, then one of them found broken (an update), the other unchanged.
        first = tmp_path / "census1.csv"
        first.write_text(CSV + f"34112201001000001,01001,北门井盖,{lon},{lat},完好,341122100001001\n"
                               f"34112201001000002,01001,南门井盖,{lon + 0.001},{lat},完好,341122100001001\n")
        _import(county, first)
        second = tmp_path / "census2.csv"
        second.write_text(CSV + f"34112201001000001,01001,北门井盖,{lon},{lat},破损,341122100001001\n"
                                f"34112201001000002,01001,南门井盖,{lon + 0.001},{lat},完好,341122100001001\n")
        _import(county, second)
        rows = wait_for(lambda: (r := records("component.change", 2)) and
                        {x["key"]: x for x in r}["34112201001000001"]["changes"] == 2 and r)
        by_id = {x["key"]: x for x in rows}
        assert len(rows) == 2
        broken, other = by_id["34112201001000001"], by_id["34112201001000002"]
        assert broken["data"].items() >= {"op": "update", "type_code": "01001", "name": "北门井盖", "state": "破损",
                                          "grid_code": "341122100001001"}.items()
        assert abs(broken["data"]["lon"] - lon) < 1e-9 and broken["changes"] == 2
        assert other["data"]["op"] == "create" and other["changes"] == 1  # an unchanged row sends nothing

        # 运行监测: a gateway posts flooding depths to the county; the alarm and its clearing go up.
        now = datetime.now(timezone.utc)
        device = {"code": "WL-9", "name": "北门下穿通道积水监测", "type": "waterlogging", "lon": lon, "lat": lat,
                  "context": "underpass", "department": "d01"}
        r = httpx.post(f"{county.base}/api/v1/sensors/devices", json=device,
                       headers=headers(county_users, "admin"), timeout=10)
        assert r.status_code == 201, r.text

        def readings(depths, start):
            body = {"readings": [{"device_id": "WL-9", "ts": (start + timedelta(minutes=i)).isoformat(),
                                  "values": {"depth_cm": d}} for i, d in enumerate(depths)]}
            r = httpx.post(f"{county.base}/api/v1/telemetry", json=body, headers={"X-Gateway-Key": GATEWAY_KEY},
                           timeout=10)
            assert r.status_code == 200, r.text
            return r.json()

        assert readings([30, 30, 35], now - timedelta(minutes=10))["alarms"]
        alarm = wait_for(lambda: records("alarm.summary", 1))[0]
        assert alarm["data"].items() >= {"device": "WL-9", "device_type": "waterlogging", "state": "active"}.items()
        assert alarm["key"].startswith("WL-9:")
        alarm_id = int(alarm["key"].split(":")[1])
        r = httpx.post(f"{county.base}/api/v1/sensors/alarms/{alarm_id}/acknowledge", json={},
                       headers=headers(county_users, "dispatcher1"), timeout=10)
        assert r.status_code == 200, r.text
        wait_for(lambda: (r := records("alarm.summary", 1)) and r[0]["data"]["state"] == "acknowledged")
        readings([1] * 8, now - timedelta(minutes=7))
        cleared = wait_for(lambda: (r := records("alarm.summary", 1)) and r[0]["data"]["state"] == "cleared" and r)
        assert cleared[0]["key"] == alarm["key"] and cleared[0]["data"]["peak_value"] >= 30
        assert cleared[0]["data"]["cleared_at"] and cleared[0]["changes"] >= 2

        # The city's console shows both tables.
        page = httpx.get(f"{city.base}/console/exchange", headers=lead, timeout=10)
        assert page.status_code == 200
        assert "34112201001000001" in page.text and "破损" in page.text and "WL-9" in page.text
        assert page.text.count('id="component-table"') == 1 and page.text.count('id="alarm-table"') == 1
        assert "已解除" in page.text or "cleared" in page.text
        # Nothing parked, nothing refused on the link.
        link = httpx.get(f"{city.base}/api/v1/exchange/links", headers=lead, timeout=5).json()[0]
        assert link["errors"] == 0 and link["parked"] == 0
    finally:
        county.kill()
        city.kill()
