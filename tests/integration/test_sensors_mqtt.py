"""IoT monitoring over a real Mosquitto (a private broker on a free port): the storm, bad messages, shared
subscriptions, and a subscriber that survives failures."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from cityloop.state import app_state
from cityloop.sensors.mqtt import LocalBroker, Subscriber, partition_of, publish
from cityloop.sensors.pipeline import Ingestor
from cityloop.sensors.service import get_ingestor
from cityloop.sensors.simulate import messages
from tests.integration.sensors_kit import (  # noqa: F401
    STORM_MINUTES, STORM_START, check_storm_outcome, fake_notifier, sensor_settings, sensor_world, storm,
)

TOPIC = "cityloop/341122/devices/{}/telemetry"


@pytest.fixture(scope="module")
def broker():
    with LocalBroker() as url:
        yield url


@pytest.fixture
def subscribe(app, sensors, broker):
    started = []

    def _start(shared: bool = True, ingestor: Ingestor | None = None,
               partition: tuple[int, int] | None = None) -> Subscriber:
        sub = Subscriber(ingestor or get_ingestor(app_state(app)), app_state(app).settings, broker, shared=shared,
                         partition=partition).start()
        assert sub.ready.wait(10), "could not subscribe"
        started.append(sub)
        return sub

    yield _start
    for sub in started:
        sub.stop()


def wait_until(check, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def handled(ingestor) -> int:
    return sum(v for k, v in ingestor.counts.items() if k == "accepted" or k.startswith("rejected:"))


def test_a_rainstorm_over_mqtt_yields_exactly_the_expected_alarms_cases_and_warnings(app, api, sensors, broker,
                                                                                        subscribe, clock, login, fake):
    clock.set(STORM_START + timedelta(minutes=STORM_MINUTES))
    sub = subscribe()
    plan, ticks = storm(sensors)
    total = sum(len(t) for t in ticks)
    sent = sum(publish(broker, messages(tick, "341122"), qos=1) for tick in ticks)
    ingestor = get_ingestor(app_state(app))
    wait_until(lambda: ingestor.counts["accepted"] >= total)
    sub.stop()
    assert sent == total and ingestor.counts["stored"] == total and handled(ingestor) == total
    check_storm_outcome(api, login, plan, fake)


def test_bad_messages_are_counted_and_the_subscriber_keeps_going(app, api, sensors, broker, subscribe, clock, login,
                                                                 settings):
    sub = subscribe()
    ts = clock.now().isoformat()
    good = json.dumps({"ts": ts, "values": {"depth_cm": 2}}).encode()
    bad = [
        (TOPIC.format("WL-1"), b"{oops"),
        (TOPIC.format("WL-1"), json.dumps({"ts": ts, "values": {"depth_cm": "x"}}).encode()),
        (TOPIC.format("WL-1"), b'{"ts": "' + ts.encode() + b'", "values": {"depth_cm": NaN}}'),
        (TOPIC.format("WL-1"), b'{"ts": "' + ts.encode() + b'", "values": {"depth_cm": 1e999}}'),
        (TOPIC.format("NOPE"), good),
        (TOPIC.format("WL-1"), json.dumps({"device_id": "WL-2", "ts": ts, "values": {"depth_cm": 1}}).encode()),
        (TOPIC.format("WL-1"), json.dumps([{"ts": ts, "values": {"depth_cm": 1}}] * (settings.sensor_max_batch + 1))
         .encode()),
        (TOPIC.format("WL-1"), json.dumps({"ts": (clock.now() + timedelta(hours=2)).isoformat(),
                                           "values": {"depth_cm": 1}}).encode()),
    ]
    publish(broker, bad + [(TOPIC.format("WL-1"), good)], qos=1)
    ingestor = get_ingestor(app_state(app))
    wait_until(lambda: handled(ingestor) >= len(bad) + 1)
    sub.stop()
    stats = api.get("/api/v1/sensors/stats", headers=login("operator1")).json()["counters"]
    assert stats["accepted"] == 1 and stats["stored"] == 1
    for reason in ("bad-json", "wrong-type", "not-finite", "unknown-device", "device-mismatch",
                   "batch-too-large", "future-ts"):
        assert stats.get(f"rejected:{reason}", 0) >= 1, reason
    assert stats["rejected:bad-json"] == 2  # the broken text and the NaN literal


def test_a_shared_subscription_splits_the_load_without_duplicates(app, api, sensors, broker, subscribe, clock, login):
    first, second = subscribe(), subscribe()
    start = clock.now() - timedelta(hours=3)
    msgs = [(TOPIC.format("WL-2"), json.dumps({"ts": (start + timedelta(seconds=i)).isoformat(),
                                               "values": {"depth_cm": 1}}).encode()) for i in range(2000)]
    publish(broker, msgs, qos=1)
    ingestor = get_ingestor(app_state(app))
    wait_until(lambda: ingestor.counts["accepted"] >= 2000)
    assert first.received > 0 and second.received > 0 and first.received + second.received == 2000
    assert ingestor.counts["stored"] == 2000


def test_two_partitions_split_the_devices_and_the_storm_comes_out_exactly_as_from_one(app, api, sensors, broker,
                                                                                    subscribe, clock, login, fake):
    """Each partition is its own process in production (its own rule state): here two ingestors, one per
    partition. Every device's readings reach exactly one of them, so durations and clears work as with one."""
    clock.set(STORM_START + timedelta(minutes=STORM_MINUTES))
    state = app_state(app)
    first = get_ingestor(state)
    second = Ingestor(state.session_factory, state.settings, state.clock, state.sensor_notifier)
    second.lock = first.lock  # tests share one connection, so the two take turns; their rule states stay apart
    subs = [subscribe(ingestor=first, partition=(0, 2)), subscribe(ingestor=second, partition=(1, 2))]
    plan, ticks = storm(sensors)
    total = sum(len(t) for t in ticks)
    publish(broker, [m for tick in ticks for m in messages(tick, "341122")], qos=1)
    wait_until(lambda: first.counts["accepted"] + second.counts["accepted"] >= total)
    for sub in subs:
        sub.stop()
    owners = {code: partition_of(code, 2) for code in sensors}
    assert set(owners.values()) == {0, 1}  # the test devices land in both partitions
    assert first.counts["accepted"] == sum(len([r for r in t if owners[r["device_id"]] == 0]) for t in ticks)
    assert first.counts["stored"] + second.counts["stored"] == total
    assert all(sub.received + sub.skipped == len(ticks) * len(sensors) for sub in subs)
    check_storm_outcome(api, login, plan, fake)


def test_a_failing_batch_is_retried_and_the_subscriber_survives(app, sensors, broker, subscribe, clock,
                                                                monkeypatch):
    ingestor = get_ingestor(app_state(app))
    real, calls = ingestor.ingest_messages, []

    def flaky(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(batch)

    monkeypatch.setattr(ingestor, "ingest_messages", flaky)
    sub = subscribe()
    publish(broker, [(TOPIC.format("RG-1"), json.dumps({"ts": clock.now().isoformat(),
                                                        "values": {"rain_mm_h": 3}}).encode())], qos=1)
    wait_until(lambda: ingestor.counts["stored"] >= 1)
    assert len(calls) >= 2 and sub.failed_batches == 0
