"""Simulated readings: the rainstorm scenario (underpasses flood, covers knocked open, a dusty site, an exam-night
party) and the demo's gentle live feed. Pure: devices, times and a seeded random source in, readings out."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SCENARIOS = ("rainstorm", "calm")


@dataclass
class Plan:
    """Which devices misbehave in a scenario (device codes)."""

    flooded: set[str] = field(default_factory=set)
    opened: set[str] = field(default_factory=set)
    dusty: set[str] = field(default_factory=set)
    loud: set[str] = field(default_factory=set)
    rainy: set[str] = field(default_factory=set)


def plan(devices: list[tuple[str, str]], scenario: str, seed: int = 7, flood_share: float = 0.1,
         open_share: float = 0.02) -> Plan:
    """Pick the misbehaving devices: a share of waterlogging monitors flood, a share of covers are knocked open,
    one dust site and one noise monitor go over; every rain gauge sees the storm."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; use one of {', '.join(SCENARIOS)}")
    p = Plan()
    if scenario == "calm":
        return p
    rng = random.Random(seed)
    by_type: dict[str, list[str]] = {}
    for code, kind in devices:
        by_type.setdefault(kind, []).append(code)
    water = by_type.get("waterlogging", [])
    covers = by_type.get("manhole", [])
    p.flooded = set(rng.sample(water, max(1, round(len(water) * flood_share)))) if water else set()
    p.opened = set(rng.sample(covers, max(1, round(len(covers) * open_share)))) if covers else set()
    p.dusty = set(by_type.get("dust", [])[:1])
    p.loud = set(by_type.get("noise", [])[:1])
    p.rainy = set(by_type.get("weather", []))
    return p


def _bump(f: float, rise: tuple[float, float], fall: tuple[float, float]) -> float:
    """0 before rise[0], up to 1 at rise[1], 1 until fall[0], down to 0 at fall[1] (f is the share of the run)."""
    if f < rise[0] or f >= fall[1]:
        return 0.0
    if f < rise[1]:
        return (f - rise[0]) / (rise[1] - rise[0])
    if f < fall[0]:
        return 1.0
    return 1.0 - (f - fall[0]) / (fall[1] - fall[0])


def values(code: str, kind: str, p: Plan, f: float, rng: random.Random) -> dict[str, float | bool]:
    """One device's values at share f (0…1) of the scenario."""
    noise = rng.uniform(-0.5, 0.5)
    if kind == "waterlogging":
        depth = 45.0 * _bump(f, (0.10, 0.45), (0.60, 0.85)) if code in p.flooded else rng.uniform(0, 6)
        return {"depth_cm": round(max(0.0, depth + noise), 1), "battery_pct": 90}
    if kind == "manhole":
        if code in p.opened and 0.3 <= f < 0.7:
            return {"open": True, "battery_pct": 80}
        return {"open": False, "tilt_deg": round(abs(noise), 1), "depth_cm": round(40 + 40 * f + noise, 1),
                "battery_pct": 80}
    if kind == "dust":
        pm10 = 320.0 * _bump(f, (0.2, 0.3), (0.7, 0.8)) + 60 if code in p.dusty else rng.uniform(30, 80)
        return {"pm10": round(pm10 + noise, 1), "pm25": round(pm10 * 0.45, 1)}
    if kind == "noise":
        leq = 72.0 if code in p.loud and 0.3 <= f < 0.7 else rng.uniform(42, 50)
        return {"leq_db": round(leq + noise, 1)}
    rain = 65.0 * math.sin(math.pi * min(1.0, f / 0.8)) if code in p.rainy else 0.0
    return {"rain_mm_h": round(max(0.0, rain + noise), 1)}


def ticks(devices: list[tuple[str, str]], p: Plan, start_s: float, minutes: int, step_s: int = 60,
          seed: int = 11) -> Iterator[list[dict[str, Any]]]:
    """Per time step, one reading per device: {"device_id", "ts" (epoch s), "values"}."""
    rng = random.Random(seed)
    steps = max(1, minutes * 60 // step_s)
    for i in range(steps + 1):
        f = i / steps
        ts = start_s + i * step_s
        yield [{"device_id": code, "ts": ts, "values": values(code, kind, p, f, rng)} for code, kind in devices]


def messages(readings: list[dict[str, Any]], tenant: str, per_message: int = 1) -> Iterator[tuple[str, bytes]]:
    """MQTT (topic, payload) pairs; a gateway packs up to per_message readings of one device in a message."""
    by_device: dict[str, list[dict[str, Any]]] = {}
    for r in readings:
        by_device.setdefault(r["device_id"], []).append({"ts": r["ts"], "values": r["values"]})
    for code, items in by_device.items():
        topic = f"cityloop/{tenant}/devices/{code}/telemetry"
        for i in range(0, len(items), per_message):
            chunk = items[i:i + per_message]
            yield topic, json.dumps(chunk[0] if len(chunk) == 1 else chunk).encode()


def gentle(devices: list[tuple[str, str]], now_s: float, rng: random.Random,
           incident: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo's live feed: quiet values for every device; now and then one waterlogging monitor or cover runs a
    short incident (`incident` keeps it between calls: code, kind, started)."""
    if not incident and devices and rng.random() < 0.02:
        code, kind = rng.choice([d for d in devices if d[1] in ("waterlogging", "manhole")] or devices)
        incident.update(code=code, kind=kind, started=now_s)
    out = []
    for code, kind in devices:
        if incident.get("code") == code:
            f = min(1.0, (now_s - incident["started"]) / 1800)  # a 30-minute incident
            p = Plan(flooded={code}, opened={code})
            vals = values(code, kind, p, 0.1 + 0.8 * f, rng)
            if f >= 1.0:
                incident.clear()
        else:
            vals = values(code, kind, Plan(), 0.5, rng)
        out.append({"device_id": code, "ts": now_s, "values": vals})
    return out
