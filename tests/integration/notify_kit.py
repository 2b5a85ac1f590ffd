"""A real local HTTP server standing in for the SMS gateway and the group robots (企业微信, 钉钉, plain webhook)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeGateway:
    """Records every request; deduplicates SMS on message_id as providers' out-id does; can fail or be slow."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0, hold_after: int | None = None):
        self.fail_first, self.delay = fail_first, delay
        # After this many requests, accept (deliver) but do not answer until `release` is set: the moment a
        # worker killed now has sent messages without recording it.
        self.hold_after, self.release = hold_after, threading.Event()
        self.requests: list[tuple[str, dict, dict]] = []  # (path, query, body)
        self.delivered: list[dict] = []  # SMS handed to phones: once per message_id
        self.repeats = 0  # SMS requests for a message_id already delivered
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                url = urlparse(self.path)
                status, answer = gateway.handle(url.path, parse_qs(url.query), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        if self.delay:
            time.sleep(self.delay)
        answer = self._accept(path, query, body)
        if self.hold_after is not None and len(self.requests) > self.hold_after:
            self.release.wait(30)
        return answer

    def _accept(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append((path, query, body))
            if self.fail_first > 0:
                self.fail_first -= 1
                return 503, {"code": "isv.BUSY", "message": "gateway busy"}
            if path.startswith("/sms"):
                seen = {m["message_id"] for m in self.delivered}
                for item in body.get("messages", [body]):
                    if item["message_id"] in seen:
                        self.repeats += 1
                    else:
                        seen.add(item["message_id"])
                        self.delivered.append(item)
                return 200, {"code": "OK", "biz_id": str(len(self.delivered))}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def posts(self, prefix: str) -> list[dict]:
        with self.lock:
            return [b for p, _, b in self.requests if p.startswith(prefix)]

    def __enter__(self) -> "FakeGateway":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
