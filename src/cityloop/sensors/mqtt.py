"""MQTT transport: the production subscriber (`cityloop ingest mqtt`) and a small publisher for the simulator.

The subscriber joins the shared subscription $share/<group>/cityloop/<tenant>/devices/+/telemetry, so replicas
split the messages; or, as one of N partitions, a plain subscription keeping only the devices that hash to it, so
each device's readings reach one process in order and its rule state (durations, hysteresis) stays whole. It
gathers messages for `sensor_flush_ms` and hands each batch to the ingestor. A bad message is counted and skipped;
a failed batch is retried, then counted — the subscriber keeps running."""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from cityloop.config import Settings

if TYPE_CHECKING:
    import subprocess

    from cityloop.sensors.pipeline import Ingestor

log = logging.getLogger("cityloop.sensors.mqtt")
MAX_PER_FLUSH = 1_000  # messages per batch: bounds a batch's time, hence the delay
CONNECT_SECONDS = 30.0  # how long publish() waits for the broker to accept its connection


def broker(url: str) -> tuple[str, int, str | None, str | None]:
    """(host, port, user, password) of mqtt://[user:password@]host[:port]."""
    parts = urlparse(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"unsupported broker URL {url!r}: use mqtt://host:port")
    return parts.hostname or "127.0.0.1", parts.port or 1883, parts.username, parts.password


def client(url: str, client_id: str | None = None,
           protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5) -> mqtt.Client:
    """A paho client (MQTT 5 unless told) for the broker at url (not yet connected)."""
    host, port, user, password = broker(url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"cityloop-{uuid.uuid4().hex[:10]}",
                    protocol=protocol)
    if user:
        c.username_pw_set(user, password)
    c.max_queued_messages_set(0)
    return c


def topic_filter(settings: Settings, shared: bool = True) -> str:
    """The telemetry subscription: shared by the group unless shared=False."""
    base = f"cityloop/{settings.sensor_tenant}/devices/+/telemetry"
    return f"$share/{settings.sensor_mqtt_group}/{base}" if shared else base


def partition_of(device_code: str, partitions: int) -> int:
    """The ingest partition a device's telemetry belongs to: the same in every process and after restarts."""
    return zlib.crc32(device_code.encode()) % partitions


def parse_partition(text: str) -> tuple[int, int]:
    """(k, n) of "k/n", 0 ≤ k < n; ValueError otherwise."""
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 0 <= int(k) < int(n):
        raise ValueError(f"partition {text!r}: expected k/n with 0 ≤ k < n, e.g. 0/2")
    return int(k), int(n)


class Subscriber:
    """Receives telemetry and feeds the ingestor in batches, on two threads (paho's and the flusher);
    `partition` (k, n): keep only the devices partition_of() puts in k, from a plain subscription."""

    def __init__(self, ingestor: Ingestor, settings: Settings, url: str | None = None, shared: bool = True,
                 partition: tuple[int, int] | None = None) -> None:
        self.ingestor, self.settings = ingestor, settings
        self.url = url or settings.sensor_mqtt_url
        self.shared = shared and partition is None
        self.partition = partition
        self.queue: deque[tuple[str, bytes | bytearray]] = deque()
        self.received = self.skipped = self.batches = self.failed_batches = 0
        self.ready = threading.Event()
        self._stop = threading.Event()
        # MQTT 3.1.1: paho parses every v5 PUBLISH's properties, about half its cost per message; $share
        # subscriptions work with 3.1.1 clients on Mosquitto (1.6+), EMQX and HiveMQ alike.
        self._client = client(self.url, protocol=MQTTProtocolVersion.MQTTv311)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._flusher = threading.Thread(target=self._run, name="cityloop-mqtt-flush", daemon=True)

    def _on_connect(self, c: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        c.subscribe(topic_filter(self.settings, self.shared), qos=1)
        self.ready.set()

    def _on_message(self, c: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        if self.partition is not None:
            k, n = self.partition  # the filter's one "+" level guarantees cityloop/<tenant>/devices/<code>/…
            if partition_of(topic.split("/", 4)[3], n) != k:
                self.skipped += 1
                return
        self.queue.append((topic, msg.payload))
        self.received += 1

    def start(self) -> "Subscriber":
        """Connect (retrying in the background) and start flushing."""
        host, port, _, _ = broker(self.url)
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()
        self._flusher.start()
        return self

    def stop(self, drain_s: float = 5.0) -> None:
        """Stop receiving, process what was received, disconnect."""
        self._client.disconnect()
        self._client.loop_stop()
        end = time.monotonic() + drain_s
        while self.queue and time.monotonic() < end:
            time.sleep(0.01)
        self._stop.set()
        self._flusher.join(timeout=drain_s + 5)

    def _run(self) -> None:
        # Adaptive batching: after a quiet spell wait flush_ms so a batch can gather; under load, whatever came in
        # while the last batch was processed is the next batch.
        pause = self.settings.sensor_flush_ms / 1000
        idle = True
        while not self._stop.is_set():
            if not self.queue:
                idle = True
                time.sleep(pause)
                continue
            if idle and len(self.queue) < MAX_PER_FLUSH:
                time.sleep(pause)
            idle = False
            take = min(len(self.queue), MAX_PER_FLUSH)
            self._flush([self.queue.popleft() for _ in range(take)])

    def _flush(self, batch: list[tuple[str, bytes | bytearray]]) -> None:
        for attempt in range(1, 4):
            try:
                self.ingestor.ingest_messages(batch)
                self.batches += 1
                return
            except Exception:  # noqa: BLE001 - the database may be busy for a moment: retry, never die
                log.exception("telemetry batch of %d messages failed (attempt %d)", len(batch), attempt)
                time.sleep(0.2 * attempt)
        self.failed_batches += 1


def publish(url: str, messages: Iterable[tuple[str, bytes]], qos: int = 0, client_id: str | None = None) -> int:
    """Publish (topic, payload) pairs and wait until they are out; returns how many were sent."""
    host, port, _, _ = broker(url)
    c = client(url, client_id)
    c.connect(host, port, keepalive=30)
    c.loop_start()
    sent = 0
    last: mqtt.MQTTMessageInfo | None = None
    try:
        deadline = time.monotonic() + CONNECT_SECONDS
        while not c.is_connected():  # the broker's CONNACK first: a refused login must not swallow the messages
            if time.monotonic() > deadline:
                raise ConnectionError(f"MQTT broker {host}:{port} did not accept the connection")
            time.sleep(0.01)
        for topic, payload in messages:
            last = c.publish(topic, payload, qos=qos)
            sent += 1
        if last is not None:
            last.wait_for_publish(timeout=60)
    finally:
        c.disconnect()
        c.loop_stop()
    return sent


class LocalBroker:
    """A private Mosquitto on a free 127.0.0.1 port (tests and benchmarks): `with LocalBroker() as url: …`."""

    def __init__(self, binary: str = "mosquitto") -> None:
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir: str | None = None

    def __enter__(self) -> str:
        import shutil
        import socket
        import subprocess
        import tempfile
        from pathlib import Path

        exe = shutil.which(self.binary) or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
        if exe is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        workdir = self.dir = tempfile.mkdtemp(prefix="cityloop-mqtt-")
        conf = Path(workdir) / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\nlog_dest stderr\n"
                        "log_type error\nlog_type warning\n")
        proc = self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return f"mqtt://127.0.0.1:{port}"
            except OSError:
                if proc.poll() is not None:
                    stderr = proc.stderr.read() if proc.stderr is not None else b""
                    raise RuntimeError(f"mosquitto exited: {stderr.decode()[:500]}") from None
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("mosquitto did not start listening")

    def __exit__(self, *exc: object) -> None:
        import shutil

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except Exception:  # noqa: BLE001
                self.proc.kill()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
