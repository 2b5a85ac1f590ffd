"""Shared fixtures of the sensors tests: the seeded world plus the matters sensor cases use and six devices."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cityloop.state import app_state
from cityloop.catalog.models import Category, FilingCondition
from cityloop.geo.queries import build_index
from cityloop.sensors import devices as registry
from cityloop.sensors.notify import Fake, Outbox

GATEWAY_KEY = "gw-test-key-0123456789"
# (code, name, type, grid, context, department, cover type)
DEVICES = [
    ("WL-1", "北门下穿通道积水监测", "waterlogging", "341122100001001", "underpass", "d01", None),
    ("WL-2", "人民广场积水监测", "waterlogging", "341122100001002", "square", "d01", None),
    ("MC-1", "建设路雨水井盖", "manhole", "341122100001002", "road", "d03", "01003"),
    ("DU-1", "城北工地扬尘监测", "dust", "341122100001003", "construction", "d02", None),
    ("NO-1", "实验中学噪声监测", "noise", "341122100001004", "school", "d01", None),
    ("RG-1", "城区雨量站", "weather", "341122100002001", "other", None, None),
]
MATTERS = [("01", "市政公用设施类", "01004", "雨水箅子异常", [("01", "箅子缺失", 2, "h", True),
                                                            ("02", "堵塞造成路面积水", 4, "h", False)]),
           ("01", "市政公用设施类", "01072", "排水泵站异常", [("01", "排水不畅", 4, "h", False)]),
           ("01", "市政公用设施类", "01003", "雨水井盖异常", [("01", "井盖缺失、移位", 2, "h", True)]),
           ("08", "施工管理类", "08004", "工地扬尘", [("01", "扬尘明显", 4, "h", False)]),
           ("06", "市容环境类", "06028", "噪声扰民", [("01", "噪声扰民", 1, "d", False)]),
           ("08", "施工管理类", "08001", "施工扰民", [("01", "施工扰民", 1, "d", False)])]


@pytest.fixture(name="settings")
def sensor_settings(settings):
    return settings.model_copy(update={"sensor_gateway_keys": [GATEWAY_KEY], "sensor_notify": ["webhook:http://hook"],
                                       "sensor_department_contacts": {"d01": ["sms:13800000001"]},
                                       "sensor_exam_dates": ["2026-11-24"]})


@pytest.fixture(name="fake")
def fake_notifier(app, settings):
    """The notifier every test's app uses: a fake channel behind the real outbox."""
    channel = Fake()
    app_state(app).sensor_notifier = Outbox(settings, {"sms": channel, "webhook": channel, "email": channel}, backoff=0.01)
    channel.outbox = app_state(app).sensor_notifier
    return channel


def seed_sensors(session, world, settings, now) -> None:
    """Add the matters sensor cases use and the six test devices (committed)."""
    for major, major_name, code, name, conds in MATTERS:
        if f"matter:{code}" in world.categories:
            continue
        cat = Category(standard="GB/T 47678.5-2026", kind="matter", major_code=major, major_name=major_name, code=code,
                       name=name, component_code=code if major <= "05" else None)
        cat.conditions = [FilingCondition(code=c, description=d, limit_value=v, limit_unit=u, urgent=urg,
                                          is_default=(i == 0), position=i, closing_condition="已处置")
                          for i, (c, d, v, u, urg) in enumerate(conds)]
        session.add(cat)
    locate = build_index(session).locate
    for code, name, kind, grid, context, dept, cover in DEVICES:
        lon, lat = world.point(grid)
        registry.register(session, settings, {"code": code, "name": name, "type": kind, "lon": lon, "lat": lat,
                                              "address": name.replace("监测", ""), "context": context,
                                              "department": dept, "cover_type": cover}, locate,
                          now - timedelta(days=30))
    session.commit()


@pytest.fixture(name="sensors")
def sensor_world(world, session, settings, clock, fake):
    """The world plus sensor matters and devices; returns the devices by code."""
    seed_sensors(session, world, settings, clock.now())
    return {d[0]: d for d in DEVICES}


def iso(clock, **delta) -> str:
    """The clock's time plus a delta, as ISO 8601 with zone."""
    return (clock.now() + timedelta(**delta)).isoformat()


def post(api, readings: list[dict]) -> dict:
    """POST readings as a gateway; returns the JSON reply (asserting 200)."""
    res = api.post("/api/v1/telemetry", json={"readings": readings}, headers={"X-Gateway-Key": GATEWAY_KEY})
    assert res.status_code == 200, res.text
    return res.json()


def utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


STORM_START = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))  # an exam day (see settings)
STORM_MINUTES = 90


def storm(sensors: dict, minutes: int = STORM_MINUTES):
    """The rainstorm plan and its ticks for the test devices, starting at STORM_START."""
    from cityloop.sensors import simulate

    devices = [(code, d[2]) for code, d in sensors.items()]
    plan = simulate.plan(devices, "rainstorm", seed=7)
    return plan, list(simulate.ticks(devices, plan, STORM_START.timestamp(), minutes, 60, seed=11))


def expected_alarms(plan) -> set[tuple[str, str]]:
    """(device, rule) of every alarm the storm must raise."""
    out = {(code, rule) for code in plan.flooded for rule in ("water_depth", "water_rise")}
    out |= {(code, "cover_open") for code in plan.opened} | {(code, "dust_pm10") for code in plan.dusty}
    out |= {(code, "noise_exam") for code in plan.loud} | {(code, "rain_heavy") for code in plan.rainy}
    return out


def check_storm_outcome(api, login, plan, fake) -> None:
    """The alarms, cases, dispatches, warnings, clears and notices a finished storm must leave behind."""
    headers = login("lead1")
    alarms = api.get("/api/v1/sensors/alarms", params={"limit": 1000}, headers=headers).json()
    assert {(a["device"], a["rule"]) for a in alarms} == expected_alarms(plan)
    assert len(alarms) == len(expected_alarms(plan))  # one alarm per device and rule: no duplicates
    assert all(a["state"] == "cleared" for a in alarms), [(a["device"], a["rule"], a["state"]) for a in alarms]
    with_case = {(a["device"], a["rule"]): a for a in alarms if a["case_id"]}
    assert set(with_case) == expected_alarms(plan) - {(c, r) for c, r in expected_alarms(plan)
                                                      if r in ("water_rise", "rain_heavy")}
    cases = api.get("/api/v1/cases", params={"source": "sensor", "size": 100}, headers=headers).json()["items"]
    assert len(cases) == len(with_case) == len({a["case_id"] for a in with_case.values()})
    want = {"water_depth": ("01004", "d01"), "cover_open": ("01003", "d03"), "dust_pm10": ("08004", "d02"),
            "noise_exam": ("06028", "d01")}
    by_id = {c["id"]: c for c in cases}
    for (device, rule), alarm in with_case.items():
        case = by_id[alarm["case_id"]]
        code, department = want[rule]
        code = "01072" if device == "WL-1" else code  # the underpass: its pump station, not a grate
        assert (case["category_code"], case["department_code"]) == (code, department)
        assert case["stage"] == "dispatched" and case["urgent"] is True and case["source"] == "sensor"
        events = api.get(f"/api/v1/cases/{case['id']}/events", headers=headers).json()
        assert [e["action"] for e in events[:4]] == ["report", "accept", "file", "dispatch"]
        assert events[0]["payload"]["evidence"]["chart"].startswith(f"/api/v1/sensors/devices/{device}/readings")
        assert events[-1]["action"] == "annotate" and events[-1]["payload"]["alarm"] == "cleared"
    warnings = api.get("/api/v1/public/warnings", params={"recent_hours": 24}).json()
    assert {w["place"] for w in warnings} == {sensors_place(code) for code in plan.flooded}
    assert all(w["lifted_at"] for w in warnings) and all(w["kind"] == "closed" for w in warnings)
    assert api.get("/api/v1/public/warnings").json() == []
    fake.outbox.drain()
    texts = [t for _, _, t in fake.sent]
    assert any("积水预警" in t for t in texts) and any("预警解除" in t for t in texts)
    assert any(addr == "13800000001" for addr, _, _ in fake.sent)  # d01's own contact


def sensors_place(code: str) -> str:
    return next(d[1] for d in DEVICES if d[0] == code).replace("监测", "")
