"""`cityloop workorders outbox|send|sign` on a SQLite file, against the stand-in 12345 platform."""

from __future__ import annotations

from datetime import datetime

import pytest
from typer.testing import CliRunner

from cityloop.config import get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.workorders import domain
from cityloop.workorders.cli import app
from cityloop.workorders.models import WorkOrder, WorkOrderMessage
from tests.conftest import SHANGHAI
from tests.integration.workorders_kit import SECRET, FakePlatform

runner = CliRunner()
AT = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'wo.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        order = WorkOrder(external_no="GD-C-1", raw={}, fields={}, status="case", received_at=AT)
        session.add(order)
        session.flush()
        for k, kind in enumerate(("accept", "progress")):
            session.add(WorkOrderMessage(workorder_id=order.id, kind=kind, dedupe_key=f"GD-C-1:{k}", created_at=AT,
                                         attempts=0, next_attempt_at=AT,
                                         body={"message_id": f"GD-C-1:{k}", "kind": kind}))
        session.commit()
    for name, value in {"DATABASE_URL": url, "DEMO": "1", "MEDIA_DIR": str(tmp_path / "media"),
                        "WORKORDER_SECRET": SECRET}.items():
        monkeypatch.setenv(f"CITYLOOP_{name}", value)
    get_settings.cache_clear()
    yield factory
    get_settings.cache_clear()


def test_outbox_then_send_delivers_in_order(cli_db, monkeypatch):
    out = runner.invoke(app, ["outbox"])
    assert out.exit_code == 0 and "pending: 2" in out.output and "GD-C-1 accept" in out.output
    assert runner.invoke(app, ["send"]).exit_code == 2  # no platform URL yet
    with FakePlatform() as platform:
        monkeypatch.setenv("CITYLOOP_WORKORDER_PLATFORM_URL", platform.url)
        get_settings.cache_clear()
        out = runner.invoke(app, ["send"])
        assert out.exit_code == 0, out.output
        assert "sent: 2" in out.output and "pending: 0" in out.output
        assert platform.kinds() == ["accept", "progress"]
        assert runner.invoke(app, ["send"]).exit_code == 0 and len(platform.received) == 2


def test_sign_prints_the_webhook_headers(cli_db, tmp_path):
    doc = tmp_path / "order.json"
    doc.write_text('{"工单编号": "GD-S-1"}', encoding="utf-8")
    out = runner.invoke(app, ["sign", str(doc), "--timestamp", "1764000000"])
    assert out.exit_code == 0, out.output
    assert "X-12345-Timestamp: 1764000000" in out.output
    assert f"X-12345-Signature: {domain.sign(SECRET, '1764000000', doc.read_bytes())}" in out.output
    assert runner.invoke(app, ["sign", str(tmp_path / "missing.json")]).exit_code == 2
