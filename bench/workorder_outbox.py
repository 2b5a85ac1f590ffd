"""workorder_outbox: 12345 outbox messages delivered per second to a local HTTP server standing in for the 12345
platform (SQLite, one sender, 2,000 messages over 200 工单, signed, one kept-alive connection), each marked sent in
its own commit.

Baseline, same run, same server and connection: the same 2,000 signed POSTs sent straight from memory, with no
outbox. The difference is what the durable, ordered, exactly-once bookkeeping costs."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402
from cityloop.workorders.models import WorkOrder, WorkOrderMessage  # noqa: E402
from cityloop.workorders.sender import http_post, send_due  # noqa: E402

ORDERS, PER_ORDER = 200, 10


class Ack(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cityloop-bench-wo-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(database_url=url, demo=True, workorder_secret="bench-secret-0123456789abcdef",
                        workorder_platform_url=f"http://127.0.0.1:{server.server_address[1]}/feedback")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    with factory() as session:
        ids = session.scalars(insert(WorkOrder).returning(WorkOrder.id), [
            dict(external_no=f"GD{i:06d}", raw={}, fields={}, status="case", received_at=now)
            for i in range(ORDERS)]).all()
        session.execute(insert(WorkOrderMessage), [
            dict(workorder_id=wo, kind="progress", dedupe_key=f"GD{wo}:{k}", created_at=now, attempts=0,
                 next_attempt_at=now, body={"message_id": f"GD{wo}:{k}", "kind": "progress", "stage": "filed",
                                            "note": "办理中" * 20})
            for k in range(PER_ORDER) for wo in ids])
        session.commit()
    total = ORDERS * PER_ORDER
    with factory() as session, httpx.Client() as client:
        bodies = [m.body for m in session.scalars(select(WorkOrderMessage).order_by(WorkOrderMessage.id))]
        post = http_post(settings, client)
        t0 = time.perf_counter()
        for body in bodies:  # baseline: the same signed POSTs, no bookkeeping
            assert post(WorkOrderMessage(body=body, dedupe_key=body["message_id"])) is None
        baseline = total / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        sent = 0
        while sent < total:
            sent += send_due(session, settings, now, post)
        rate = total / (time.perf_counter() - t0)
        left = session.scalar(select(func.count()).select_from(WorkOrderMessage).where(WorkOrderMessage.sent_at.is_(None)))
    server.shutdown()
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    write_result("workorder_outbox", "messages/s", rate, True, "plain_signed_posts_per_s", baseline,
                 {"messages": total, "workorders": ORDERS, "unsent_after": left, "commit_per_message": True},
                 "sqlite")


if __name__ == "__main__":
    main()
