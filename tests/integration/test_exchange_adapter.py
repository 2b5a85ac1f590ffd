"""A county CityLoop reporting to an upstream that is not a CityLoop (CITYLOOP_EXCHANGE_ADAPTER=national-json): a
fake provincial endpoint receives the mapped batches over real HTTP, refuses one, and still gets every record
once, in order, in the documented generic layout."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cityloop.exchange.domain import signature_ok
from tests.conftest import free_port
from tests.integration.exchange_servers import COUNTY, EXCHANGE_KEY, headers, server, seeded, wait_for
from tests.integration.test_backup import two_databases  # noqa: F401

pytestmark = pytest.mark.slow


class Upstream:
    """A fake provincial platform: checks the signature, refuses the first batch with a 503, keeps the rest."""

    def __init__(self):
        self.batches: list[dict] = []
        self.refused = 0
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                ok = signature_ok(EXCHANGE_KEY, self.headers["x-exchange-platform"],
                                  int(self.headers["x-exchange-timestamp"]), body,
                                  self.headers["x-exchange-signature"])
                doc = json.loads(body)
                if not ok:
                    outer.bad_signatures += 1
                    status = 401
                elif doc["records"] and not outer.refused:
                    outer.refused += 1
                    status = 503
                else:
                    outer.batches.append(doc)
                    status = 200
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"code":0}' if status == 200 else b'{"code":1}')

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def records(self) -> list[dict]:
        return [r for b in self.batches for r in b["records"]]


def test_a_national_json_upstream_receives_mapped_batches(two_databases, tmp_path):  # noqa: F811
    county_url, _ = two_databases
    users = seeded(county_url)
    upstream = Upstream()
    upstream.thread.start()
    county = server(county_url, tmp_path / "media", CITYLOOP_EXCHANGE_UPSTREAM_URL=f"http://127.0.0.1:{upstream.port}/in",
                    CITYLOOP_EXCHANGE_KEY=EXCHANGE_KEY, CITYLOOP_EXCHANGE_ADAPTER="national-json",
                    CITYLOOP_EXCHANGE_INTERVAL_SECONDS="0.2", CITYLOOP_EXCHANGE_BACKOFF_MAX_SECONDS="1")
    county.start()
    try:
        body = {"category_code": "06010", "lon": users["_lon"], "lat": users["_lat"], "description": "暴露垃圾"}
        r = httpx.post(f"{county.base}/api/v1/cases", json=body, headers=headers(users, "inspector01"), timeout=10)
        assert r.status_code == 201, r.text
        case = r.json()
        r = httpx.post(f"{county.base}/api/v1/cases/{case['id']}/actions/accept", json={},
                       headers=headers(users, "operator1"), timeout=10)
        assert r.status_code == 200, r.text
        records = wait_for(lambda: len(upstream.records()) >= 2 and upstream.records())
        assert upstream.refused == 1 and upstream.bad_signatures == 0  # the 503 was retried, nothing doubled
        assert [r["record_id"] for r in records] == [f"{COUNTY}:c{case['id']}:1", f"{COUNTY}:c{case['id']}:2"]
        batch = upstream.batches[-1]
        assert batch["interface"] == "cityloop-national-json" and batch["version"] == "1.0"
        assert batch["sender"] == {"platform_code": COUNTY}
        assert batch["batch"]["count"] == len(batch["records"])
        report, accept = records
        assert report | {"fields": None} == {
            "record_id": f"{COUNTY}:c{case['id']}:1", "category": "管理数据", "category_code": "GL",
            "record_type": "case_event", "object_key": case["number"], "occurred_at": report["occurred_at"],
            "written_at": report["written_at"], "fields": None}
        assert report["fields"].items() >= {
            "case_number": case["number"], "matter_code": "06010", "action": "report", "to_stage": "reported",
            "seq": 1, "prev_seq": None, "description": "暴露垃圾", "photo_sha256": []}.items()
        assert "reporter_phone" not in report["fields"] and "reporter_name" not in report["fields"]
        assert accept["fields"]["action"] == "accept" and accept["fields"]["prev_seq"] == 1
        uplink = httpx.get(f"{county.base}/api/v1/exchange/uplink", headers=headers(users, "lead1"), timeout=5).json()
        assert uplink["pending"] == 0 and uplink["sent_events"] == 2 and "HTTP 503" in (uplink["last_error"] or "")
    finally:
        county.kill()
        upstream.server.shutdown()
