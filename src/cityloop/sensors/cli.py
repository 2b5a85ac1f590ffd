"""`cityloop sensors …` (devices, MQTT ingestion, jobs), `cityloop gateway hj212` and `cityloop simulate sensors`."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from cityloop.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cityloop.db.changes import ChangeBus
    from cityloop.sensors.hj212_listener import Listener
    from cityloop.sensors.pipeline import Ingestor

CLI_NAME = "sensors"
CLI_HELP = "运行监测 / IoT monitoring: devices, MQTT ingestion, jobs"
app = typer.Typer(help=CLI_HELP, no_args_is_help=True)
ingest_app = typer.Typer(help="数据接入 / telemetry ingestion", no_args_is_help=True)
simulate_app = typer.Typer()
gateway_app = typer.Typer()
app.add_typer(ingest_app, name="ingest")
console = Console()


def _settings() -> Settings:
    from cityloop.cli import _settings

    return _settings()


def _factory(settings: Settings) -> sessionmaker[Session]:
    from cityloop.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


def _ingest_factory(settings: Settings) -> sessionmaker[Session]:
    """_factory for a long-running ingest process: on SQLite its WAL is checkpointed off the write path."""
    from cityloop.db.checkpoint import start_checkpointing

    start_checkpointing(settings.database_url)  # a daemon thread: ends with the process
    return _factory(settings)


def _invalidator(target: Ingestor | Listener) -> Callable[[str], None]:
    return lambda _: target.invalidate()


def _hear_registry(factory: sessionmaker[Session], settings: Settings, *targets: Ingestor | Listener) -> ChangeBus:
    """Reload the device registry when a host announces a change (PostgreSQL), not only every RELOAD_SECONDS."""
    from cityloop.db.changes import ChangeBus

    bus = ChangeBus(factory.kw["bind"], settings.database_session_url)
    for target in targets:
        bus.on("devices", _invalidator(target))
    bus.start()
    return bus


@ingest_app.command("mqtt")
def ingest_mqtt(url: Optional[str] = typer.Option(None, help="broker URL (default settings.sensor_mqtt_url)"),
                no_share: bool = typer.Option(False, "--no-share", help="plain subscription instead of $share"),
                workers: int = typer.Option(1, min=1, max=64, help="processes, each owning the devices that hash "
                                                                   "to it (one per core)"),
                partition: Optional[str] = typer.Option(None, help="k/n: be partition k of n (what --workers runs)"),
                seconds: float = typer.Option(0, help="stop after this many seconds (0: run until Ctrl-C)")) -> None:
    """Subscribe to cityloop/<tenant>/devices/+/telemetry and ingest; --workers N: N processes split the devices
    (each device's readings stay in one process, in order); several replicas without --workers share $share."""
    from cityloop.sensors.mqtt import Subscriber, parse_partition
    from cityloop.sensors.notify import Outbox
    from cityloop.sensors.pipeline import Ingestor
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.collector import quiet_collector

    try:
        part = parse_partition(partition) if partition else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--partition") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if workers > 1 and part is None:
        _run_partitions(workers, url, seconds, stop)
        return
    settings = _settings()
    ingestor = Ingestor(_ingest_factory(settings), settings, SystemClock(), Outbox(settings))
    ingestor.accept([])  # load the registry and grid index now, so the frozen heap holds them
    quiet_collector()
    sub = Subscriber(ingestor, settings, url, shared=not no_share, partition=part).start()
    bus = _hear_registry(ingestor.factory, settings, ingestor)
    whose = f"partition {part[0]}/{part[1]}" if part else f"group {settings.sensor_mqtt_group}"
    console.print(f"订阅 / subscribed: {sub.url} ({whose}, tenant {settings.sensor_tenant})")
    started = time.monotonic()
    while not stop.wait(5):
        console.print(f"received {sub.received} · accepted {ingestor.counts['accepted']} · "
                      f"rejected {sum(v for k, v in ingestor.counts.items() if k.startswith('rejected:'))}")
        if seconds and time.monotonic() - started >= seconds:
            break
    sub.stop()
    bus.stop()
    ingestor.flush_state()


def _run_partitions(workers: int, url: str | None, seconds: float, stop: threading.Event) -> None:
    """Run `ingest mqtt --partition k/workers` for every k and keep them running until stopped."""
    import sys

    from cityloop.shared.workers import run_workers

    base = [sys.executable, "-m", "cityloop.cli", "ingest", "mqtt", "--seconds", str(seconds)]
    base += ["--url", url] if url else []
    console.print(f"{workers} 个接入进程 / ingest processes, devices split by hash")
    run_workers([[*base, "--partition", f"{k}/{workers}"] for k in range(workers)], stop)


@gateway_app.command("hj212")
def gateway_hj212(port: Optional[int] = typer.Option(None, help="TCP port (default settings.sensor_hj212_port: 7212)"),
                  host: Optional[str] = typer.Option(None, help="address (default settings.sensor_hj212_host; "
                                                                "0.0.0.0 for stations on the network)"),
                  seconds: float = typer.Option(0, help="stop after this many seconds (0: run until Ctrl-C)"),
                  ingest_process: bool = typer.Option(True, "--ingest-process/--ingest-thread",
                                                      help="规则与入库在独立进程（第二个核）或监听进程的线程中 / "
                                                           "rules and store in a process of their own (a second "
                                                           "core) or on a thread of the listener's")) -> None:
    """HJ 212-2017 listener for dust and noise stations (registered devices, known by MN and password)."""
    from cityloop.sensors.hj212_listener import Listener
    from cityloop.sensors.hj212_worker import IngestWorker
    from cityloop.sensors.notify import Outbox
    from cityloop.sensors.pipeline import Ingestor
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.signals import until_signalled

    settings = _settings()
    if ingest_process:
        ingestor, listener = None, Listener(None, _factory(settings), settings, IngestWorker(settings))
    else:
        ingestor = Ingestor(_ingest_factory(settings), settings, SystemClock(), Outbox(settings))
        listener = Listener(ingestor, ingestor.factory, settings)
    try:
        import uvloop  # the event loop the JT/T 808 gateway runs on too: far less CPU per connection
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        run = asyncio.run
    else:
        run = uvloop.run
    try:
        run(until_signalled(_listen(listener, settings, host or settings.sensor_hj212_host,
                                    settings.sensor_hj212_port if port is None else port, seconds)))
    finally:
        if ingestor is not None:
            ingestor.flush_state()


async def _listen(listener: Listener, settings: Settings, host: str, port: int, seconds: float) -> None:
    from cityloop.sensors.hj212_worker import WorkerError

    try:
        bound = await listener.start(host, port, dedicated=True)
    except (OSError, WorkerError) as exc:
        await listener.close()
        if isinstance(exc, WorkerError):
            console.print(f"[red]入库进程无法启动 / the ingest process did not start[/red]: {exc}")
        else:
            console.print(f"[red]无法监听 / cannot listen on {host}:{port}[/red]: {exc}")
        raise typer.Exit(1) from exc
    targets = [listener] if listener.ingestor is None else [listener.ingestor, listener]
    bus = _hear_registry(listener.factory, settings, *targets)
    console.print(f"HJ 212 监听 / listening on {host}:{bound} · {len(listener.stations)} stations registered")
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds if seconds else float("inf")
    try:
        while loop.time() < end:
            await asyncio.sleep(min(10.0, end - loop.time()))
            st = listener.stats
            console.print(f"connections {len(listener.peers)} · frames {st['frames']} · readings {st['readings']} · "
                          f"intervals {st['intervals']} · refused {sum(v for k, v in st.items() if k[:9] == 'rejected:')}")
    finally:
        bus.stop()
        await listener.close()


@app.command("jobs")
def jobs() -> None:
    """Run the timed jobs once: offline check, rollups, retention."""
    from cityloop.sensors.pipeline import Ingestor
    from cityloop.sensors.service import run_jobs
    from cityloop.shared.clock import SystemClock

    settings = _settings()
    ingestor = Ingestor(_factory(settings), settings, SystemClock())
    console.print(run_jobs(ingestor, SystemClock().now()))


@app.command("import")
def import_devices(file: Path) -> None:
    """Add or update devices from a CSV file (see docs/sensors.md for the columns)."""
    from cityloop.geo.queries import build_index
    from cityloop.sensors import devices
    from cityloop.shared.clock import SystemClock
    from cityloop.shared.errors import AppError

    settings = _settings()
    with _factory(settings)() as session:
        try:
            counts = devices.import_csv(session, settings, file.read_text(encoding="utf-8"),
                                        build_index(session).locate, SystemClock().now())
        except AppError as exc:
            console.print(f"[red]{exc.zh}[/red] / {exc.en}")
            raise typer.Exit(1) from exc
    console.print(counts)


@app.command("export")
def export_devices(file: Optional[Path] = typer.Argument(None)) -> None:
    """Write every device as CSV (to stdout without a file)."""
    from cityloop.sensors import devices

    with _factory(_settings())() as session:
        text = devices.export_csv(session)
    if file:
        file.write_text(text, encoding="utf-8")
    else:
        print(text, end="")


@simulate_app.command("sensors")
def simulate_sensors(devices: int = typer.Option(0, help="simulate this many extra devices SIM-00001… (registered "
                                                          "if missing; 0: the registered devices only)"),
                     scenario: str = typer.Option("rainstorm", help="rainstorm | calm"),
                     via: str = typer.Option("mqtt", help="mqtt | http | hj212 (dust and noise stations with an MN)"),
                     url: Optional[str] = typer.Option(None, help="broker URL (mqtt), server URL (http) or "
                                                                  "tcp://host:port of the HJ 212 listener"),
                     gateway_key: Optional[str] = typer.Option(None, help="X-Gateway-Key for http"),
                     minutes: int = typer.Option(60, help="scenario length"),
                     step: int = typer.Option(60, help="seconds between readings of a device"),
                     per_message: int = typer.Option(1, help="readings per MQTT message (a gateway's batch)"),
                     realtime: bool = typer.Option(False, help="send each step when its time comes (else replay "
                                                               "the last MINUTES at once)"),
                     seed: int = 7) -> None:
    """Send a scenario's readings over MQTT, HTTP or HJ 212 (a storm floods some underpasses, knocks covers
    open, makes a construction site dusty …)."""
    from cityloop.sensors.simfeed import feed

    settings = _settings()
    counts = feed(settings, _factory(settings), devices, scenario, via, url, gateway_key, minutes, step, per_message,
                  realtime, seed, console)
    console.print(json.dumps(counts, ensure_ascii=False))
