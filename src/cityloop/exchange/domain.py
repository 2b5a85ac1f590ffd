"""Pure rules of the exchange: signatures, backoff, event ids, per-case ordering (no DB, no web; time passed in)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

PROTOCOL_VERSION = "1"
# Actions whose payload carries a result that must reach the upper platform (photos' hashes go with them).
RESULT_ACTIONS = frozenset({"handle", "check_ok", "check_fail", "close", "self_close"})
KINDS = ("case.event", "assessment.monthly", "component.change", "alarm.summary")


def body_digest(body: bytes) -> str:
    """SHA-256 of the exact request body, hex."""
    return hashlib.sha256(body).hexdigest()


def signing_text(platform: str, timestamp: int, digest: str) -> bytes:
    """What the HMAC covers: key id (platform code), Unix timestamp and body digest, one per line."""
    return f"v{PROTOCOL_VERSION}\n{platform}\n{timestamp}\n{digest}".encode()


def sign(key: str, platform: str, timestamp: int, body: bytes) -> str:
    """The X-Exchange-Signature value for a body."""
    return hmac.new(key.encode(), signing_text(platform, timestamp, body_digest(body)), hashlib.sha256).hexdigest()


def signature_ok(key: str, platform: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Constant-time check of a signature."""
    return hmac.compare_digest(sign(key, platform, timestamp, body), signature or "")


def fresh(timestamp: int, now_ts: float, max_skew: float) -> bool:
    """A signed timestamp within the allowed skew of our clock (replays of old captures are refused)."""
    return abs(now_ts - timestamp) <= max_skew


def backoff_seconds(attempts: int, jitter: float, cap: float, base: float = 1.0) -> float:
    """Exponential backoff with jitter: base·2^(attempts−1), capped, times a factor in [0.5, 1.0)."""
    raw: float = min(cap, base * (2 ** max(0, min(attempts - 1, 30))))
    return raw * (0.5 + 0.5 * max(0.0, min(jitter, 1.0)))


def event_id(platform: str, case_id: int, seq: int) -> str:
    """A case event's id, stable across resends: platform, the county's case id and the event's seq."""
    return f"{platform}:c{case_id}:{seq}"


@dataclass(frozen=True)
class Placement:
    """What to do with one case event given the mirror's last seq: apply, skip (duplicate) or park (gap)."""

    verdict: str  # apply | duplicate | park
    reason: str = ""


def place(last_seq: int | None, seq: int, prev_seq: int | None, known: bool) -> Placement:
    """Per-case order: an event applies when its prev_seq is the mirror's last seq (None for a new mirror)."""
    if known:
        return Placement("duplicate")
    if last_seq is not None and seq <= last_seq:
        return Placement("park", f"stale: seq {seq} is not after the mirror's last seq {last_seq}")
    if prev_seq == last_seq:
        return Placement("apply")
    return Placement("park", f"gap: expected prev_seq={last_seq}, got {prev_seq}")


def month_of(iso: str) -> str:
    """The YYYY-MM of an ISO date-time string."""
    return iso[:7]
