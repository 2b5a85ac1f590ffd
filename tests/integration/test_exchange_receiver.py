"""The city's receiver refuses bad input with a clear reason and applies nothing of it: bad signatures, unknown
platforms, stale timestamps, replayed, reused and stale batches, malformed events; out-of-order events wait."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from cityloop.config import Settings
from cityloop.exchange.domain import sign
from cityloop.exchange.models import Link, MirrorCase, MirrorEvent, Monthly, Parked, Record

KEY = "receiver-test-key-0123456789abcdef"
P = "341122"


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    return Settings(database_url=db_url, demo=True, media_dir=tmp_path / "media", scheduler_in_server=False,
                    secret_key="test-secret-of-thirty-two-bytes-or-more", exchange_downstream={P: KEY})


def event(case_id: int, seq: int, prev: int | None, action: str = "report", stage: str = "reported", **extra) -> dict:
    return {"kind": "case.event", "event_id": f"{P}:c{case_id}:{seq}", "seq": seq, "prev_seq": prev,
            "action": action, "actor_role": "operator", "at": "2026-11-23T08:00:00+08:00", "to_stage": stage,
            "case": {"id": case_id, "number": f"LA20261123{case_id:05d}", "category_code": "06010",
                     "source": "inspector", "stage": stage, "created_at": "2026-11-23T08:00:00+08:00"}, **extra}


def batch(first: int, last: int, events: list[dict], platform: str = P) -> dict:
    return {"platform": platform, "batch_id": f"{first}-{last}", "first_id": first, "last_id": last,
            "sent_at": "2026-11-23T09:00:00+08:00", "events": events}


@pytest.fixture
def post(api, clock):
    def _post(body, platform: str = P, key: str = KEY, ts: int | None = None, signature: str | None = None,
              raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body).encode()
        stamp = int(clock.now().timestamp()) if ts is None else ts
        headers = {"content-type": "application/json", "x-exchange-platform": platform,
                   "x-exchange-timestamp": str(stamp),
                   "x-exchange-signature": signature or sign(key, platform, stamp, data)}
        return api.post("/api/v1/exchange/batches", content=data, headers=headers)
    return _post


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_batch_applies_once_and_a_replay_gets_the_same_answer(post, session):
    body = batch(1, 3, [event(7, 1, None), event(7, 2, 1, "accept", "accepted"),
                        {"kind": "assessment.monthly", "event_id": f"{P}:m:2026-11", "key": "2026-11",
                         "at": "2026-11-30T23:00:00+08:00", "data": {"closed": 12}}])
    first = post(body)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] == 3 and first.json()["acked_through"] == 3 and not first.json()["replay"]
    again = post(body)
    assert again.status_code == 200 and again.json()["replay"] and again.json()["applied"] == 3
    assert count(session, MirrorEvent) == 3
    mirror = session.scalar(select(MirrorCase))
    assert (mirror.stage, mirror.last_seq) == ("accepted", 2)
    assert session.scalar(select(Monthly.figures)) == {"closed": 12}
    # A re-formed batch holding applied events and a new one (the county died before its ack): new ones only.
    more = post(batch(1, 4, [event(7, 1, None), event(7, 2, 1, "accept", "accepted"),
                             event(7, 3, 2, "file", "filed")]))
    assert more.json()["applied"] == 1 and more.json()["duplicates"] == 2
    assert count(session, MirrorEvent) == 4


def test_signature_platform_and_timestamp_are_checked_first(post, session, clock):
    body = batch(1, 1, [event(1, 1, None)])
    bad = post(body, signature="0" * 64)
    assert bad.status_code == 401 and bad.json()["code"] == "bad-signature"
    wrong_key = post(body, key="another-key")
    assert wrong_key.json()["code"] == "bad-signature"
    unknown = post(batch(1, 1, [event(1, 1, None)], platform="999999"), platform="999999")
    assert unknown.status_code == 403 and unknown.json()["code"] == "unknown-platform"
    stale = post(body, ts=int(clock.now().timestamp()) - 3600)
    assert stale.status_code == 401 and stale.json()["code"] == "stale-timestamp"
    missing = post(body, signature=None, raw=b"{}")
    assert missing.status_code in (401, 422)
    assert count(session, MirrorEvent) == 0 and count(session, MirrorCase) == 0


def test_stale_and_reused_batches_are_refused(post, session):
    assert post(batch(1, 2, [event(1, 1, None), event(1, 2, 1, "accept", "accepted")])).status_code == 200
    stale = post(batch(1, 1, [event(1, 1, None)]))
    assert stale.status_code == 409 and stale.json()["code"] == "stale-batch" and stale.json()["acked_through"] == 2
    reused = post(batch(1, 2, [event(1, 1, None)]))
    assert reused.status_code == 409 and reused.json()["code"] == "batch-conflict"
    assert count(session, MirrorEvent) == 2
    link = session.scalar(select(Link))
    assert link.errors == 2 and "batch-conflict" in link.last_error


def test_an_out_of_order_event_is_parked_until_the_gap_fills(post, session):
    assert post(batch(1, 1, [event(5, 1, None)])).status_code == 200
    ahead = post(batch(2, 2, [event(5, 3, 2, "file", "filed")]))
    assert ahead.status_code == 200
    assert ahead.json()["parked"][0]["reason"].startswith("gap: expected prev_seq=1")
    assert session.scalar(select(MirrorCase.last_seq)) == 1 and count(session, Parked) == 1
    filled = post(batch(3, 3, [event(5, 2, 1, "accept", "accepted")]))
    assert filled.status_code == 200 and filled.json()["applied"] == 2
    session.expire_all()
    assert session.scalar(select(MirrorCase.last_seq)) == 3 and count(session, Parked) == 0
    seqs = session.scalars(select(MirrorEvent.seq).order_by(MirrorEvent.id)).all()
    assert seqs == [1, 2, 3]


@pytest.mark.parametrize("bad", [
    {"kind": "case.event", "event_id": f"{P}:c1:2", "at": "2026-11-23T08:00:00+08:00"},  # no case
    {**event(1, 2, None), "event_id": f"{P}:c9:2"},  # id does not match case and seq
    {**event(1, 2, 2)},  # prev_seq not before seq
    {"kind": "assessment.monthly", "event_id": "m", "key": "2026-13", "at": "2026-11-23T08:00:00+08:00"},
    {**event(1, 2, 1), "surprise": 1},  # unknown field
    {**event(1, 2, 1), "at": 1700000000},  # time as a number
])
def test_a_malformed_event_refuses_the_whole_batch(post, session, bad):
    r = post(batch(1, 2, [event(1, 1, None), bad]))
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("malformed-event", "invalid-input")
    assert count(session, MirrorEvent) == 0 and count(session, MirrorCase) == 0


def test_malformed_json_and_a_platform_mismatch_are_refused(post, session):
    assert post(None, raw=b"{not json").status_code == 422
    mismatch = post(batch(1, 1, [event(1, 1, None)], platform="341100"))
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "platform-mismatch"
    assert count(session, MirrorEvent) == 0


COMPONENT = {"op": "create", "id": "34112201001000001", "type_code": "01001", "name": "北门井盖", "state": "完好",
             "grid_code": "341122100001001", "lon": 118.43, "lat": 32.45}
ALARM = {"change": "raise", "device": "WL-1", "device_type": "waterlogging", "rule": "water_depth", "level": "yellow",
         "state": "active", "value": 30.0, "peak_value": 30.0, "raised_at": "2026-11-23T08:00:00+08:00"}


def record(kind: str, n: int, key: str, data: dict, at: str = "2026-11-23T08:00:00+08:00") -> dict:
    return {"kind": kind, "event_id": f"{P}:{kind[0]}:{n}:{key}", "key": key, "at": at, "data": data}


@pytest.mark.parametrize("kind,key,data", [
    ("component.change", "34112201001000001", {**COMPONENT, "op": "delete"}),
    ("component.change", "34112201001000001", {k: v for k, v in COMPONENT.items() if k != "type_code"}),
    ("component.change", "34112201001000009", COMPONENT),  # key is not the component id
    ("alarm.summary", "WL-1:1", {**ALARM, "state": "gone"}),
    ("alarm.summary", "WL-1:1", {**ALARM, "raised_at": 1700000000}),
])
def test_a_malformed_record_refuses_the_batch(post, session, kind, key, data):
    r = post(batch(1, 2, [event(1, 1, None), record(kind, 1, key, data)]))
    assert r.status_code == 422 and r.json()["code"] == "malformed-event", r.text
    assert "data." in r.json()["detail"] or "key" in r.json()["detail"]
    assert count(session, MirrorEvent) == 0 and count(session, Record) == 0


def test_records_keep_the_newest_per_key_and_the_receiver_is_described(post, session, api):
    later = "2026-11-23T09:00:00+08:00"
    r = post(batch(1, 3, [record("component.change", 1, COMPONENT["id"], COMPONENT),
                          record("alarm.summary", 2, "WL-1:1", ALARM),
                          record("alarm.summary", 3, "WL-1:1", {**ALARM, "change": "clear", "state": "cleared",
                                                                  "cleared_at": later}, at=later)]))
    assert r.status_code == 200 and r.json()["applied"] == 3, r.text
    # An older message arriving late does not overwrite the newer state, but counts as a change.
    r = post(batch(4, 4, [record("alarm.summary", 4, "WL-1:1", {**ALARM, "change": "escalate", "level": "red"})]))
    assert r.status_code == 200 and r.json()["applied"] == 1
    alarm = session.scalar(select(Record).where(Record.kind == "alarm.summary"))
    assert alarm.data["state"] == "cleared" and alarm.changes == 3 and count(session, Record) == 2
    doc = api.get("/openapi.json").json()
    body = doc["paths"]["/api/v1/exchange/batches"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/BatchIn"}
    schemas = doc["components"]["schemas"]
    assert {"BatchIn", "EventIn", "CaseSnapshot", "PhotoRef"} <= set(schemas)
    titles = {s.get("title") for s in schemas["EventIn"]["properties"]["data"]["anyOf"]}
    assert {"ComponentData", "AlarmData"} <= titles
    assert "component.change" in schemas["EventIn"]["properties"]["kind"]["enum"]
