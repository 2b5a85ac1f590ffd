"""The telephony port of 追呼: an HTTP voice gateway that places a call and plays a recorded warning, and a fake
that records calls (tests, demo)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from cityloop.config import Settings
from cityloop.public.domain import RESULTS

log = logging.getLogger("cityloop.public")


@dataclass(frozen=True)
class CallOutcome:
    """What a call came to: one of domain.RESULTS, how long it lasted, the gateway's id or error."""

    result: str
    duration_s: float = 0.0
    ref: str | None = None
    error: str | None = None


class Telephony(Protocol):
    def call(self, phone: str, recording: str, ref: str) -> CallOutcome:
        """Call phone, play recording; ref is our id of the attempt (idempotency at the gateway)."""


@dataclass
class HttpVoiceGateway:
    """POST {url} with {"to", "caller_id", "recording", "ref"}; the answer {"result", "duration", "id"} says how the
    call went (result one of answered, no_answer, busy, rejected, invalid, failed). Errors count as failed."""

    url: str
    caller_id: str
    token: str | None = None
    timeout: float = 15.0

    def call(self, phone: str, recording: str, ref: str) -> CallOutcome:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"to": phone, "caller_id": self.caller_id, "recording": recording, "ref": ref}
        try:
            response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return CallOutcome("failed", error=str(exc)[:200])
        result = data.get("result") if isinstance(data, dict) else None
        if result not in RESULTS:
            return CallOutcome("failed", error=f"unexpected gateway answer: {str(data)[:150]}")
        try:
            duration = float(data.get("duration") or 0)
        except (TypeError, ValueError):
            duration = 0.0
        return CallOutcome(result, duration, str(data.get("id") or "")[:64] or None)


@dataclass
class FakeTelephony:
    """Records every call; answers with results(phone) (default: nobody answers)."""

    results: Callable[[str], str] = lambda phone: "no_answer"
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def call(self, phone: str, recording: str, ref: str) -> CallOutcome:
        self.calls.append((phone, recording, ref))
        result = self.results(phone)
        return CallOutcome(result, 25.0 if result == "answered" else 0.0, f"fake-{len(self.calls)}")


def simulated() -> FakeTelephony:
    """The demo's gateway: about a third of the calls are answered, a few are busy."""
    rng = random.Random()
    return FakeTelephony(lambda phone: rng.choices(["answered", "no_answer", "busy", "rejected"], [3, 5, 1, 1])[0])


def telephony_for(settings: Settings) -> Telephony | None:
    """The configured gateway; a simulation in demo mode; none otherwise (the dialer then makes no calls)."""
    if settings.public_voice_gateway_url:
        return HttpVoiceGateway(settings.public_voice_gateway_url, settings.public_voice_caller_id,
                                settings.public_voice_gateway_token, settings.public_voice_timeout_seconds)
    if settings.demo:
        return simulated()
    return None
