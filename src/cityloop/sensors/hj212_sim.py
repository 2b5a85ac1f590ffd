"""Simulated HJ 212 stations: frames for dust and noise monitors (real-time 2011, minute 2051, hour 2061 data), a
station client that sends them over TCP and counts the platform's answers, and the demo's live stations."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cityloop.sensors import hj212, simulate
from cityloop.sensors.models import Device
from cityloop.state import AppState

log = logging.getLogger("cityloop.sensors.hj212")
SYSTEM = {"dust": "22", "noise": "23"}  # ST: air quality, noise
KINDS = tuple(SYSTEM)


def qn(when: datetime) -> str:
    """A request number from a local time (yyyyMMddHHmmssZZZ)."""
    return f"{when:%Y%m%d%H%M%S}{when.microsecond // 1000:03d}"


def values(code: str, kind: str, plan: simulate.Plan, f: float, rng: random.Random) -> dict[str, float]:
    """What a station measures at share f of a scenario: the simulator's dust or noise values, plus TSP and the
    weather a dust monitor reports."""
    out = simulate.values(code, kind, plan, f, rng)
    if kind == "dust":
        out.update(tsp=round(out["pm10"] * 1.6, 1), temp_c=round(rng.uniform(8, 14), 1),
                   humidity_pct=round(rng.uniform(40, 70), 1), wind_ms=round(rng.uniform(0, 4), 1),
                   wind_dir_deg=float(rng.randrange(360)))
    return out


def realtime(mn: str, password: str, kind: str, when: datetime, vals: dict[str, float],
             flags: dict[str, str] | None = None, answer: bool = True) -> bytes:
    """A 2011 real-time frame; `when` is the station's local time; flags: value key -> data flag (default N)."""
    factors = {hj212.CODES[k]: hj212.Factor(hj212.CODES[k], {"Rtd": v}, (flags or {}).get(k, "N"))
               for k, v in vals.items() if k in hj212.CODES}
    return hj212.encode(hj212.Packet(SYSTEM[kind], "2011", mn, qn(when), password, 5 if answer else 4,
                                     data_time=when.replace(microsecond=0), factors=factors))


def interval(mn: str, password: str, kind: str, cn: str, start: datetime, samples: dict[str, list[float]],
             answer: bool = True) -> bytes:
    """A minute (2051) or hour (2061) frame with Avg/Min/Max of the samples of each value key."""
    factors = {hj212.CODES[k]: hj212.Factor(hj212.CODES[k], {"Avg": round(sum(xs) / len(xs), 2), "Min": min(xs),
                                                              "Max": max(xs)}, "N")
               for k, xs in samples.items() if xs and k in hj212.CODES}
    return hj212.encode(hj212.Packet(SYSTEM[kind], cn, mn, qn(start), password, 5 if answer else 4,
                                     data_time=start.replace(second=0, microsecond=0), factors=factors))


class Minutes:
    """Gathers one station's real-time values and yields a 2051 frame when a minute is complete."""

    def __init__(self, mn: str, password: str, kind: str) -> None:
        self.mn, self.password, self.kind = mn, password, kind
        self.minute: datetime | None = None
        self.samples: dict[str, list[float]] = {}

    def add(self, when: datetime, vals: dict[str, float]) -> bytes | None:
        """Add a real-time sample; returns the previous minute's frame when `when` starts a new minute."""
        minute = when.replace(second=0, microsecond=0)
        out = None
        if self.minute is not None and minute != self.minute and self.samples:
            out = interval(self.mn, self.password, self.kind, "2051", self.minute, self.samples)
            self.samples = {}
        self.minute = minute
        for k, v in vals.items():
            self.samples.setdefault(k, []).append(v)
        return out


class Client:
    """One simulated station's TCP connection: sends frames and counts the platform's answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.answers: list[hj212.Packet] = []

    async def send(self, frames: Iterable[bytes], answers: int | None = None, timeout: float = 30.0) -> int:
        """Send frames (connecting first if needed) and wait for `answers` answers (default: one per frame);
        returns how many arrived."""
        frames = list(frames)
        wanted = len(frames) if answers is None else answers
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None  # connected with the writer
        self.writer.write(b"".join(frames))
        await self.writer.drain()
        got, splitter = 0, hj212.FrameReader()
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while got < wanted and loop.time() < end:
            try:
                data = await asyncio.wait_for(self.reader.read(65_536), end - loop.time())
            except asyncio.TimeoutError:
                break
            if not data:
                self.writer = None
                break
            for item in splitter.feed(data):
                if isinstance(item, bytes):
                    try:
                        self.answers.append(hj212.decode(item))
                        got += 1
                    except hj212.FrameError:
                        pass
        return got

    def close(self) -> None:
        """Hang up."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def feed(host: str, port: int, stations: dict[str, tuple[str, str, str]],
               ticks: Iterable[list[dict[str, Any]]], tz: tzinfo, realtime_pace: bool,
               console: object = None) -> dict[str, int]:
    """Send the scenario's ticks for the stations (code -> (kind, MN, password)) over HJ 212: every reading as a
    2011 frame, every completed minute as a 2051 frame; one connection per station. Returns the counts."""
    clients = {code: Client(host, port) for code in stations}
    minutes = {code: Minutes(mn, pw, kind) for code, (kind, mn, pw) in stations.items()}
    totals = {"frames": 0, "answers": 0}
    try:
        for tick in ticks:
            batch: dict[str, list[bytes]] = {}
            for r in tick:
                if r["device_id"] not in stations:
                    continue
                kind, mn, pw = stations[r["device_id"]]
                when = datetime.fromtimestamp(r["ts"], tz).replace(tzinfo=None)
                frames = batch.setdefault(r["device_id"], [realtime(mn, pw, kind, when, r["values"])])
                done = minutes[r["device_id"]].add(when, r["values"])
                if done is not None:
                    frames.append(done)
            if realtime_pace and tick:
                await asyncio.sleep(max(0.0, tick[0]["ts"] - time.time()))
            got = await asyncio.gather(*(clients[c].send(f) for c, f in batch.items()), return_exceptions=True)
            totals["frames"] += sum(len(f) for f in batch.values())
            totals["answers"] += sum(g for g in got if isinstance(g, int))
    finally:
        for client in clients.values():
            client.close()
    return totals


async def demo_stations(state: AppState, host: str, port: int, every: float) -> None:
    """The demo server's HJ 212 stations: every registered dust and noise station sends quiet real-time data
    every `every` seconds and minute data each minute; now and then a dust site runs a 30-minute episode."""
    def load() -> dict[str, tuple[str, str, str]]:
        with state.read_session_factory() as session:
            rows = session.execute(select(Device.code, Device.type, Device.hj212_mn, Device.hj212_password).where(
                Device.hj212_mn.is_not(None), Device.state == "active", Device.type.in_(KINDS)))
            return {code: (kind, mn, pw) for code, kind, mn, pw in rows if mn is not None and pw is not None}

    stations = await asyncio.to_thread(load)
    clients = {code: Client(host, port) for code in stations}
    minutes = {code: Minutes(mn, pw, kind) for code, (kind, mn, pw) in stations.items()}
    rng, tz = random.Random(), ZoneInfo(state.settings.timezone)
    episode: dict[str, Any] = {}
    while stations:
        await asyncio.sleep(every)
        try:
            await _demo_tick(state.clock.now(), stations, clients, minutes, rng, episode, tz, every)
        except Exception:  # noqa: BLE001 - the demo stations keep going
            log.exception("demo HJ 212 stations failed")


async def _demo_tick(now: datetime, stations: dict[str, tuple[str, str, str]], clients: dict[str, Client],
                     minutes: dict[str, Minutes], rng: random.Random, episode: dict[str, Any], tz: tzinfo,
                     every: float) -> None:
    """One round of the demo stations: a real-time frame each (and the minute's frame when one completes)."""
    when = now.astimezone(tz).replace(tzinfo=None)
    if not episode and rng.random() < 0.002:
        dusty = [c for c, s in stations.items() if s[0] == "dust"]
        if dusty:
            episode.update(code=rng.choice(dusty), started=now.timestamp())
    sends = []
    for code, (kind, mn, pw) in stations.items():
        plan, f = simulate.Plan(), 0.5
        if episode.get("code") == code:
            f = min(1.0, (now.timestamp() - episode["started"]) / 1800)
            plan = simulate.Plan(dusty={code})
            if f >= 1.0:
                episode.clear()
        vals = values(code, kind, plan, f, rng)
        frames = [realtime(mn, pw, kind, when, vals)]
        done = minutes[code].add(when, vals)
        if done is not None:
            frames.append(done)
        sends.append(clients[code].send(frames, timeout=every))
    failed = sum(1 for g in await asyncio.gather(*sends, return_exceptions=True) if isinstance(g, Exception))
    if failed:
        log.warning("demo HJ 212 stations: %d of %d could not send", failed, len(sends))
