"""An open-loop HTTP load generator (the wrk2 model): requests leave on a fixed schedule whatever the server does,
and each latency is counted from the request's *scheduled* time, so a slow server cannot lower its own offered load
or hide its queue (no coordinated omission).

Each of C keep-alive connections owns every C-th slot of the schedule (slot k at t0 + k / rate). A connection that
falls behind sends its next request at once; the wait it could not avoid is part of that request's latency.
Debian's wrk only has a per-connection think time (a closed loop), hence this small asyncio client."""

from __future__ import annotations

import asyncio
import time


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked body); returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        await reader.readexactly(int(lower[at + 17:lower.index(b"\r\n", at + 2)]))
    elif b"transfer-encoding: chunked" in lower:
        while (size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status


async def _connection(port: int, requests, first: int, stride: int, t0: float, rate: float, slots: int,
                      latencies: list[float], outcome: dict) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for slot in range(first, slots, stride):
            scheduled = t0 + slot / rate
            if (wait := scheduled - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(requests(slot))
            try:
                status = await asyncio.wait_for(_read_response(reader), 10)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                outcome["errors"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(loop.time() - scheduled)
            outcome["status"] += not 200 <= status < 300
    finally:
        writer.close()


async def _run(port: int, requests, rate: float, seconds: float, connections: int) -> dict:
    loop = asyncio.get_running_loop()
    slots = int(rate * seconds)
    latencies: list[float] = []
    outcome = {"errors": 0, "status": 0}
    t0 = loop.time() + 0.2  # let every connection open before the first slot
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(_connection(port, requests, c, connections, t0, rate, slots, latencies, outcome)
                           for c in range(connections)))
    elapsed, cpu = time.perf_counter() - started - 0.2, time.process_time() - cpu
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else 0.0

    done = len(latencies)
    return {"requests": done + outcome["errors"], "errors": outcome["errors"], "status": outcome["status"],
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0), "seconds": round(elapsed, 3),
            "offered": rate, "per_second": round((done - outcome["status"]) / elapsed, 1),
            "client_cpu_us_per_request": round(cpu / max(done, 1) * 1e6, 1)}


def run_open_loop(port: int, path: str, token: str, points, body: tuple[str, str], rate: float, seconds: float,
                  connections: int = 64) -> dict:
    """POST `body` (a %-template of lon, lat, serial) to `path` at `rate` requests/s for `seconds`."""
    template, ctype = body
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ctype}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: ").encode()

    def request(slot: int) -> bytes:
        lon, lat = points[slot % len(points)]
        payload = (template % (lon, lat, slot)).encode()
        return head + str(len(payload)).encode() + b"\r\n\r\n" + payload

    try:
        import uvloop
        runner = uvloop.run
    except ImportError:  # the standard loop measures the same, only with more client CPU
        runner = asyncio.run
    return runner(_run(port, request, rate, seconds, connections))
