"""The notifier port: tell the configured targets of warnings and alarms by SMS, webhook or e-mail, off the
ingestion path.

Targets are "sms:<phone>", "webhook:<url>", "email:<address>" (settings.sensor_notify and
sensor_department_contacts). With a session factory (the server's ingestor) the notices go to the shared
notification service's outbox (cityloop.notify: retries, delivery log, no duplicates after a restart); without
one (tools, tests with fake channels) they are sent on a background thread with retries. A failure is never raised
into ingestion. Alarms raised also reach the department's subscribers through cityloop.notify (alarms.py)."""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
import time
from collections.abc import Iterable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

import httpx

from cityloop.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cityloop.sensors.alarms import Notice

log = logging.getLogger("cityloop.sensors.notify")
ATTEMPTS = 4


class Channel(Protocol):
    def send(self, address: str, subject: str, text: str) -> None: ...


class Webhook:
    """POST {"subject", "text"} as JSON to the address."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def send(self, address: str, subject: str, text: str) -> None:
        httpx.post(address, json={"subject": subject, "text": text}, timeout=self.timeout).raise_for_status()


class Sms:
    """An HTTP SMS gateway (settings.sensor_sms_url): POST {"phone", "text"}."""

    def __init__(self, url: str | None, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, timeout

    def send(self, address: str, subject: str, text: str) -> None:
        if not self.url:
            raise RuntimeError("no SMS gateway configured (CITYLOOP_SENSOR_SMS_URL)")
        httpx.post(self.url, json={"phone": address, "text": text}, timeout=self.timeout).raise_for_status()


class Email:
    """Plain SMTP (settings.sensor_smtp_host)."""

    def __init__(self, host: str | None, sender: str, timeout: float = 10.0) -> None:
        self.host, self.sender, self.timeout = host, sender, timeout

    def send(self, address: str, subject: str, text: str) -> None:
        if not self.host:
            raise RuntimeError("no SMTP host configured (CITYLOOP_SENSOR_SMTP_HOST)")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, address, subject
        msg.set_content(text)
        with smtplib.SMTP(self.host, timeout=self.timeout) as smtp:
            smtp.send_message(msg)


class Fake:
    """Remembers what it was asked to send (tests, demo)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail_first = fail_first

    def send(self, address: str, subject: str, text: str) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("fake failure")
        self.sent.append((address, subject, text))


def channels_for(settings: Settings) -> dict[str, Channel]:
    """The real channels configured by settings."""
    return {"sms": Sms(settings.sensor_sms_url), "webhook": Webhook(),
            "email": Email(settings.sensor_smtp_host, settings.sensor_smtp_from)}


class Outbox:
    """Queues notices and sends them on one thread with backoff; call it with a list of alarms.Notice."""

    def __init__(self, settings: Settings, channels: dict[str, Channel] | None = None, backoff: float = 2.0,
                 factory: sessionmaker[Session] | None = None) -> None:
        self.settings, self.backoff, self.factory = settings, backoff, factory
        self.channels = channels if channels is not None else channels_for(settings)
        self._queue: queue.Queue[tuple[str, str, str, int, float]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failed = 0

    def targets(self, department: str | None) -> list[str]:
        """Everyone told of a notice about a department's device."""
        s = self.settings
        return list(dict.fromkeys([*s.sensor_notify, *s.sensor_department_contacts.get(department or "", [])]))

    def __call__(self, notices: Iterable[Notice]) -> None:
        if self.factory is not None:
            self._publish(self.factory, list(notices))
            return
        for notice in notices:
            for target in self.targets(notice.department):
                self._queue.put((target, notice.subject, notice.text, 1, 0.0))
        if not self._queue.empty() and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cityloop-notify", daemon=True)
            self._thread.start()

    def _publish(self, factory: sessionmaker[Session], notices: list[Notice]) -> None:
        import uuid

        from cityloop.notify.service import Recipients, publish

        try:
            with factory() as session:
                for notice in notices:
                    targets = self.targets(notice.department)
                    if targets:
                        publish(session, "alarm_raised", {"subject": notice.subject, "text": notice.text,
                                                          "department": notice.department or "", "urgent": True},
                                Recipients(addresses=targets), event_key=f"sensor-notice:{uuid.uuid4().hex}")
                session.commit()
        except Exception:  # noqa: BLE001 - never raised into ingestion
            log.exception("sensor notices not queued")

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until everything queued was sent or given up (tests)."""
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)

    def _run(self) -> None:
        while True:
            target, subject, text, attempt, not_before = self._queue.get()
            try:
                wait = not_before - time.monotonic()
                if wait > 0:
                    time.sleep(min(wait, self.backoff * 8))
                scheme, _, address = target.partition(":")
                channel = self.channels.get(scheme)
                if channel is None:
                    log.warning("notice to %s dropped: unknown channel %r", target, scheme)
                    continue
                channel.send(address, subject, text)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then logged
                if attempt < ATTEMPTS:
                    self._queue.put((target, subject, text, attempt + 1, time.monotonic() + self.backoff * attempt))
                else:
                    self.failed += 1
                    log.warning("notice to %s failed after %d attempts: %s", target, attempt, exc)
            finally:
                self._queue.task_done()
