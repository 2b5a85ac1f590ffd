"""The HJ 212 listener's connection protocol without sockets: a chunk's answers go out in one write, in the order
of its frames, once its batch is stored; what arrives meanwhile waits (reading pauses past READ_BYTES) and is the
next chunk; a failed batch leaves data frames unanswered but still answers refused ones."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

from cityloop.config import Settings
from cityloop.sensors import hj212
from cityloop.sensors.hj212_listener import READ_BYTES, Connection, Listener, Station
from cityloop.sensors.pipeline import Result

MN, PW = "LADU341122000001", "pw0001"


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.paused = self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> tuple[str, int]:
        return ("127.0.0.1", 40000)


def data(second: int, answer: bool = True) -> bytes:
    return hj212.frame(f"QN=20261123090{second:03d}000;ST=22;CN=2011;PW={PW};MN={MN};Flag={5 if answer else 4};"
                       f"CP=&&DataTime=20261123090{second:03d};a34002-Rtd=80.{second}&&")


def listener(batches: list[list[str]], fail: bool = False) -> Listener:
    one = Listener(SimpleNamespace(lock=threading.RLock()), None, Settings(database_url="sqlite://", demo=True))
    one.stations, one.loaded_at = {MN: Station(1, "DU-1", PW)}, time.monotonic()

    def ingest(packets, stations, counts):
        if fail:
            raise RuntimeError("database down")
        batches.append([p.qn for p in packets])
        return Result(accepted=len(packets))

    one.ingest = ingest  # type: ignore[method-assign]
    return one


def answers(write: bytes) -> list[tuple[str, str | None]]:
    return [(p.cn, p.qn) for p in map(hj212.decode, hj212.FrameReader().feed(write))]


def test_a_chunk_is_answered_in_one_write_in_order_once_stored_and_the_next_waits():
    async def scenario():
        batches: list[list[str]] = []
        gate = listener(batches)
        conn, transport = Connection(gate), Transport()
        conn.connection_made(transport)
        bad = data(2)[:-6] + b"0000\r\n"
        conn.data_received(data(1) + bad + data(3, answer=False) + data(4))
        conn.data_received(data(5))  # while the first chunk waits for its batch
        assert transport.writes == [] and gate.stats["frames"] == 4 and gate.queued == 3
        await gate._flush_once()
        assert batches == [[data_qn(1), data_qn(3), data_qn(4)]] and len(transport.writes) == 1
        (write,) = transport.writes
        assert answers(write) == [("9014", data_qn(1)), ("9011", data_qn(2)), ("9014", data_qn(4))]
        assert gate.stats["frames"] == 5 and gate.queued == 1  # the waiting read is the next chunk
        await gate._flush_once()
        assert answers(transport.writes[1]) == [("9014", data_qn(5))] and gate.stats["answers"] == 4
        conn.data_received(data(6))
        conn.data_received(b"x" * READ_BYTES)  # a station that does not wait for its answers is paused
        assert transport.paused
        await gate._flush_once()
        assert answers(transport.writes[2]) == [("9014", data_qn(6))] and not transport.paused
        assert gate.stats["junk_bytes"] == READ_BYTES and not conn.busy

    asyncio.run(scenario())


def test_a_failed_batch_answers_only_the_refused_frames():
    async def scenario():
        gate = listener([], fail=True)
        conn, transport = Connection(gate), Transport()
        conn.connection_made(transport)
        conn.data_received(data(1) + data(2)[:-6] + b"0000\r\n")
        assert not await gate._flush_once()
        assert [answers(w) for w in transport.writes] == [[("9011", data_qn(2))]] and gate.pending["rejected:hj212-bad-crc"]
        conn.data_received(data(1))  # sent again: judged as a new chunk
        assert gate.queued == 1

    asyncio.run(scenario())


def data_qn(second: int) -> str:
    return f"20261123090{second:03d}000"
