"""TopicCache: kept per database until its topic changes (announced on PostgreSQL, stamped beside a SQLite file) or
it ages out; an in-memory SQLite database always reads."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import make_url

from cityloop.db import changes, topic_cache
from cityloop.db.topic_cache import TopicCache


def fake_session(dialect: str, url: str = "postgresql+psycopg://h/db"):
    bind = SimpleNamespace(dialect=SimpleNamespace(name=dialect), engine=SimpleNamespace(url=make_url(url)))
    return SimpleNamespace(get_bind=lambda: bind)


class Reads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _session) -> int:
        self.count += 1
        return self.count


@pytest.mark.parametrize("dialect, between, reads", [
    ("postgresql", None, 1),            # the second get is served from memory
    ("sqlite", None, 2),                # an in-memory SQLite database reads every time
    ("postgresql", "announce", 2),      # the topic changed: read again
    ("postgresql", "other topic", 1),   # another topic's change keeps it
    ("postgresql", "aged", 2),          # older than max_age: read again
    ("postgresql", "other db", 2),      # kept per database
])
def test_when_a_value_is_read_again(dialect, between, reads, monkeypatch):
    cache, load, now = TopicCache(f"t-{dialect}-{between}"), Reads(), [100.0]
    monkeypatch.setattr(topic_cache.time, "monotonic", lambda: now[0])
    cache.get(fake_session(dialect), load)
    second = fake_session(dialect)
    if between == "announce":
        topic_cache.invalidate(cache.topic)
    elif between == "other topic":
        topic_cache.invalidate("something else")
    elif between == "aged":
        now[0] += topic_cache.MAX_AGE + 1
    elif between == "other db":
        second = fake_session(dialect, "postgresql+psycopg://h/other")
    cache.get(second, load)
    assert load.count == reads


def test_a_change_announced_while_reading_is_not_kept():
    cache, load = TopicCache("t-race"), Reads()

    def racing(session) -> int:
        topic_cache.invalidate("t-race")  # announced after this read's snapshot, before it is stored
        return load(session)

    assert cache.get(fake_session("postgresql"), racing) == 1
    assert cache.get(fake_session("postgresql"), load) == 2  # not kept: read again
    assert cache.get(fake_session("postgresql"), load) == 2


@pytest.mark.parametrize("between, reads", [
    (None, 1),                # kept while the topic's stamp is unchanged
    ("stamped", 2),           # another worker process stamped the topic: read again
    ("other topic", 1),       # another topic's stamp keeps it
    ("aged", 2),              # older than max_age: read again
])
def test_on_a_sqlite_file_a_value_is_kept_until_its_topic_is_stamped(between, reads, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'city.db'}"
    cache, load, now = TopicCache("t-file"), Reads(), [100.0]
    monkeypatch.setattr(topic_cache.time, "monotonic", lambda: now[0])
    other_worker = SimpleNamespace(dialect=SimpleNamespace(name="sqlite"), engine=SimpleNamespace(url=make_url(url)))
    cache.get(fake_session("sqlite", url), load)
    if between == "stamped":
        changes.notify(other_worker, "t-file")  # type: ignore[arg-type]
    elif between == "other topic":
        changes.notify(other_worker, "t-other")  # type: ignore[arg-type]
    elif between == "aged":
        now[0] += topic_cache.MAX_AGE + 1
    cache.get(fake_session("sqlite", url), load)
    assert load.count == reads


def test_a_topic_stamped_twice_at_once_changes_its_stamp_each_time(tmp_path):
    path = changes.stamp_file(make_url(f"sqlite:///{tmp_path / 'city.db'}"), "t")
    assert path is not None and changes.stamp(path) == 0  # never changed
    seen = set()
    for _ in range(5):
        changes._restamp(path)
        seen.add(changes.stamp(path))
    assert len(seen) == 5
