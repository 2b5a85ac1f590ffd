"""What the public Open311 feed may show (pure): which stages are published, whether a report has been reviewed,
how far positions are rounded, and free text with phone numbers masked."""

from __future__ import annotations

import re

from cityloop.cases.api import STAGES

# Past 受理: an operator has looked at the report and taken it on (a rejected, merged or voided one never shows).
REVIEWED = frozenset({"verifying", "accepted", "filed", "dispatched", "suspended", "handled", "checked", "closed"})
PUBLISHED = {"accepted": REVIEWED, "closed": frozenset({"closed"}), "immediately": frozenset(STAGES)}
_DIGITS = re.compile(r"(?<!\d)(\+?\d[\d -]{5,}\d)(?!\d)")


def published_stages(publish_after: str) -> frozenset[str]:
    """The stages the public feed lists under the open311_publish_after setting."""
    return PUBLISHED[publish_after]


def reviewed(stage: str) -> bool:
    """Whether staff have accepted the report, so its own words and address may be shown."""
    return stage in REVIEWED


def rounded(value: float, decimals: int) -> float:
    """A public coordinate: 3 decimals ≈ 100 m, enough to find the problem, not the reporter's doorstep."""
    return round(value, decimals)


def scrubbed(text: str) -> str:
    """Free text with runs of 7+ digits (phone numbers, ids) masked to their first 3 and last 2 digits."""
    def mask(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(1))
        return digits[:3] + "*" * (len(digits) - 5) + digits[-2:] if len(digits) >= 7 else m.group(1)
    return _DIGITS.sub(mask, text)
