"""Bearer token checks: token versions read in batches (each read starts after every request it answers arrived) and
verified tokens remembered (their expiry still checked against the clock every time)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from cityloop.org import security
from cityloop.org.security import issue_token, read_token
from cityloop.org import tokens
from cityloop.org.tokens import TokenVersions

SECRET = "s" * 40
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Reads:
    """A read that records which ids each call asked for and answers version = how many reads ran before it; the
    first read waits for `release` so that requests pile up behind it."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, ids: list[int]) -> dict[int, int]:
        self.calls.append(sorted(ids))
        if len(self.calls) == 1:
            self.started.set()
            self.release.wait(5)
        return {i: len(self.calls) for i in ids if i != 99}  # 99: gone or inactive


def test_requests_arriving_during_a_read_share_the_next_one_and_never_get_the_earlier_answer() -> None:
    reads = Reads()
    versions = TokenVersions(reads)

    async def run() -> list[int | None]:
        first = asyncio.ensure_future(versions.of(1))
        await asyncio.get_running_loop().run_in_executor(None, reads.started.wait, 5)
        later = [asyncio.ensure_future(versions.of(i)) for i in (1, 2, 2, 99)]  # came while read 1 ran
        await asyncio.sleep(0.01)
        reads.release.set()
        return [await first, *[await f for f in later]]

    assert asyncio.run(run()) == [1, 2, 2, 2, None]
    assert reads.calls == [[1], [1, 2, 99]]  # one read for the four that waited, each id once
    assert versions._rounds == {}  # nothing left behind once every request has its answer


def test_a_failed_read_fails_every_request_waiting_for_it_and_the_next_read_runs() -> None:
    calls: list[list[int]] = []

    def read(ids: list[int]) -> dict[int, int]:
        calls.append(ids)
        if len(calls) == 1:
            raise RuntimeError("database gone")
        return dict.fromkeys(ids, 7)

    versions = TokenVersions(read)

    async def run() -> tuple[list[BaseException | int | None], int | None]:
        failed = await asyncio.gather(versions.of(1), versions.of(2), return_exceptions=True)
        return failed, await versions.of(1)

    failed, after = asyncio.run(run())
    assert all(isinstance(f, RuntimeError) for f in failed) and after == 7


def test_a_remembered_token_is_still_refused_once_expired_and_unsigned_ones_are_never_remembered() -> None:
    security._VERIFIED.clear()
    token = issue_token(SECRET, 5, "inspector01", NOW, 60, version=3)
    assert read_token(SECRET, token, NOW) == (5, 3)
    assert read_token(SECRET, token, NOW + timedelta(minutes=59)) == (5, 3)  # remembered
    assert read_token(SECRET, token, NOW + timedelta(minutes=60)) is None  # expired, remembered or not
    assert read_token("t" * 40, token, NOW) is None  # another secret never finds it
    forged = jwt.encode({"sub": "5", "ver": 3, "exp": int((NOW + timedelta(hours=1)).timestamp())}, "x" * 40,
                        algorithm="HS256")
    assert read_token(SECRET, forged, NOW) is None
    assert (SECRET, forged) not in security._VERIFIED
    assert read_token(SECRET, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], NOW) is None


def test_the_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    security._VERIFIED.clear()
    monkeypatch.setattr(security, "VERIFIED_MAX", 3)
    for user in range(1, 8):
        assert read_token(SECRET, issue_token(SECRET, user, f"u{user}", NOW, 60), NOW) == (user, 0)
        assert len(security._VERIFIED) <= 3


def test_stamped_versions_are_read_on_the_event_loop_and_kept_until_the_stamp_changes_or_they_age(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[int], str]] = []
    version, stamp, clock = [3], [10], [1000.0]

    def read(ids: list[int]) -> dict[int, int]:
        calls.append((ids, threading.current_thread().name))
        return {i: version[0] for i in ids if i != 99}

    monkeypatch.setattr(tokens.time, "monotonic", lambda: clock[0])
    versions = TokenVersions(read, stamped=lambda: stamp[0])

    def ask(user: int) -> int | None:
        return asyncio.run(versions.of(user))

    # (what happens first, user asked, version answered, reads so far)
    steps = [
        (None, 1, 3, 1),
        (None, 1, 3, 1),  # kept: the stamp is the same
        (None, 99, None, 2),  # gone or inactive users are remembered too
        (None, 99, None, 2),
        ("logout", 1, 4, 3),  # the version changed and the change was stamped: read again
        ("unstamped change", 1, 4, 3),  # a change whose process died before stamping it...
        ("time passes", 1, 5, 4),  # ...is read once the versions are STAMPED_MAX_AGE old
    ]
    for event, user, answer, reads in steps:
        if event == "logout":
            version[0], stamp[0] = 4, 11
        elif event == "unstamped change":
            version[0] = 5
        elif event == "time passes":
            clock[0] += tokens.STAMPED_MAX_AGE + 0.1
        assert (ask(user), len(calls)) == (answer, reads), event
    assert {thread for _, thread in calls} == {"MainThread"}
