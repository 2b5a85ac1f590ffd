"""The global audit chain and its anchors (pure): one keyed MAC links every case event and admin entry in order."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

KINDS = {"event": "case_events", "admin": "audit_log"}


def chain_mac(key: bytes, prev: str, kind: str, ref_id: int, row_hash: str) -> str:
    """HMAC-SHA256 of one chain position: the previous position's MAC and the sealed row's own hash."""
    return hmac.new(key, f"{prev}|{kind}|{ref_id}|{row_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """The chain head written outside the database: `seq` sealed entries, ending in `mac`, at `at`."""

    seq: int
    mac: str
    at: str


def anchor_line(seq: int, mac: str, at: datetime) -> str:
    """One line of the anchor file."""
    return json.dumps({"seq": seq, "mac": mac, "at": at.isoformat(timespec="seconds")}, sort_keys=True) + "\n"


def parse_anchors(text: str) -> tuple[list[Anchor], list[int]]:
    """The anchors of an anchor file and the numbers of the lines that are not anchors."""
    anchors, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            anchors.append(Anchor(int(doc["seq"]), str(doc["mac"]), str(doc["at"])))
        except (ValueError, KeyError, TypeError):
            bad.append(number)
    return anchors, bad
