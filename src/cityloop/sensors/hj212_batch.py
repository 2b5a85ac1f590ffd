"""One batch of HJ 212 data frames into the ingestor: station uploads kept as events first, then readings and
intervals through rules and store in one transaction. Used by the listener's ingest thread and by the ingest
process (hj212_ingestd)."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from cityloop.config import Settings
from cityloop.sensors import hj212
from cityloop.sensors.hj212_common import Station
from cityloop.sensors.models import StationEvent
from cityloop.sensors.pipeline import Ingestor, Result
from cityloop.sensors.readings import Interval, Reading, Reject, from_packet


def store_batch(ingestor: Ingestor, settings: Settings, tz: tzinfo, packets: list[hj212.Packet],
                stations: list[Station], counts: dict[str, int]) -> Result:
    """Turn data packets into readings and intervals and hand them to the ingestor as one batch."""
    events = 0
    uploads = [(p, st) for p, st in zip(packets, stations) if p.cn in hj212.UPLOADS]
    if uploads:  # first: should they fail, the whole batch is sent again
        events = store_events(ingestor, tz, uploads)
        data = [(p, st) for p, st in zip(packets, stations) if p.cn not in hj212.UPLOADS]
        packets, stations = [p for p, _ in data], [st for _, st in data]
    refs = ingestor.devices()
    if any(st.code not in refs for st in stations):
        refs = ingestor.devices(refresh=True)
    now = ingestor.clock.now().timestamp()
    readings: list[Reading] = []
    intervals: list[Interval] = []
    rejected: list[tuple[int, Reject]] = []
    max_future, max_age = settings.sensor_max_future_s, settings.sensor_retention_days * 86400.0
    epochs: dict[datetime, float] = {}
    get = refs.get
    for i, (packet, station) in enumerate(zip(packets, stations)):
        got = from_packet(packet, get(station.code), now, tz, max_future, max_age, epochs)
        if type(got) is Reading:
            readings.append(got)
        elif type(got) is Interval:
            intervals.append(got)
        else:
            assert isinstance(got, Reject)
            rejected.append((i, got))
    result = ingestor.accept(readings, rejected, intervals, counts)
    result.events = events
    return result


def store_events(ingestor: Ingestor, tz: tzinfo, uploads: list[tuple[hj212.Packet, Station]]) -> int:
    """Keep station uploads that are not data (boot time, running status …) as station events; returns how many."""
    received = ingestor.clock.now()
    rows = [StationEvent(device_id=station.device_id, cn=packet.cn, received_at=received,
                         data_time=utc(packet.data_time, tz), values=hj212.event_values(packet))
            for packet, station in uploads]
    with ingestor.lock, ingestor.factory() as session:
        session.add_all(rows)
        session.commit()
    return len(rows)


def utc(local: datetime | None, tz: tzinfo) -> datetime | None:
    """A station's local DataTime in UTC; None when absent or out of range (year 1 is a valid DataTime)."""
    try:
        return None if local is None else local.replace(tzinfo=tz).astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
