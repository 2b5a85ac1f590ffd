"""A stand-in 12345 platform (a real HTTP server on 127.0.0.1) and helpers to sign and send 工单 webhooks."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cityloop.places import importer
from cityloop.workorders.domain import sign
from tests.conftest import free_port
from tests.factories import LAT0, LON0

SECRET = "twelve-three-four-five-shared-secret-0123456789"


class FakePlatform:
    """Takes the outbound messages: checks the signature, keeps each Idempotency-Key once (409 on a resend),
    and can be switched off (503) to stand for an outage."""

    def __init__(self):
        self.received: list[dict] = []  # accepted messages, in arrival order
        self.resends = 0
        self.bad_signatures = 0
        self.down = False
        self.refuse: set[str] = set()  # 工单 numbers whose messages are answered 500
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/12345/feedback"

    def kinds(self) -> list[str]:
        return [m["kind"] for m in self.received]

    def _handler(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with platform.lock:
                    if platform.down:
                        return self._reply(503, {"error": "maintenance"})
                    stamp = self.headers.get("x-cityloop-timestamp") or ""
                    if sign(SECRET, stamp, body) != self.headers.get("x-cityloop-signature"):
                        platform.bad_signatures += 1
                        return self._reply(401, {"error": "bad signature"})
                    key = self.headers.get("idempotency-key")
                    if any(m["message_id"] == key for m in platform.received):
                        platform.resends += 1
                        return self._reply(409, {"error": "duplicate"})
                    message = json.loads(body)
                    assert message["message_id"] == key
                    if message.get("workorder_no") in platform.refuse:
                        return self._reply(500, {"error": "cannot take it now"})
                    platform.received.append(message)
                return self._reply(200, {"ok": True})

            def _reply(self, status: int, doc: dict):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def places(session) -> None:
    """Two named places: one inside the test grids (grid 341122100001001, duty grid DG01), one outside them."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": "poi", "name": "北门小区", "town": "新安镇"},
         "geometry": {"type": "Point", "coordinates": [LON0 + 0.0005, LAT0 - 0.0005]}},
        {"type": "Feature", "properties": {"kind": "poi", "name": "城东农贸市场", "town": "新安镇"},
         "geometry": {"type": "Point", "coordinates": [LON0 + 0.02, LAT0 + 0.02]}},
    ]}
    importer.replace(session, importer.parse_geojson(json.dumps(doc), "county"), "county")
    session.commit()


def order(number: str = "GD202611230001", **over) -> dict:
    """A 12345 工单 in the platform's own field names."""
    doc = {"工单编号": number, "诉求内容": "北门小区门口垃圾堆积多日无人清理", "诉求地址": "北门小区",
           "联系人": "王女士", "联系电话": "13900001111", "办理时限": "2026-11-25 18:00:00",
           "诉求分类": "城市管理/市容环境/暴露垃圾"}
    doc.update(over)
    return {k: v for k, v in doc.items() if v is not None}


def post(api, doc: dict, at: float, delivery: str | None = None, secret: str = SECRET, raw: bytes | None = None):
    """POST a signed 工单 webhook with timestamp `at` (seconds)."""
    body = raw if raw is not None else json.dumps(doc, ensure_ascii=False).encode()
    stamp = str(int(at))
    headers = {"content-type": "application/json", "X-12345-Timestamp": stamp,
               "X-12345-Signature": sign(secret, stamp, body)}
    if delivery:
        headers["X-12345-Delivery"] = delivery
    return api.post("/api/v1/workorders/12345", content=body, headers=headers)
