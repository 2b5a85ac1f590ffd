"""Backup and restore: a copy taken from a running database restores into an empty one with every case, event,
audit hash and photo, and a past month's assessment comes out identical; an occupied target is refused unless forced."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.assessment.figures import KINDS
from cityloop.assessment.projection import refresh
from cityloop.assessment.service import assessment, period_of
from cityloop.assessment.simulate import history
from cityloop.audit.keys import audit_key
from cityloop.audit.trail import verify_case_events
from cityloop.cases.models import Case, CaseEvent, CasePhoto
from cityloop.cases.photos import store_photo
from cityloop.config import Settings, get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from tests.own_database import own_database
from tests.conftest import SHANGHAI

NOW = datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


@pytest.fixture
def two_databases(tmp_path):
    """A source and an empty target of the kind under test (SQLite files, or two new PostgreSQL databases)."""
    with own_database(tmp_path, "source") as source, own_database(tmp_path, "target") as target:
        yield source, target


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buf, "JPEG")
    return buf.getvalue()


def _fill(url: str, media) -> tuple[int, int]:
    """A month of the demo county's history through the real workflow, and a photo on the last case."""
    upgrade(url)
    settings = Settings(database_url=url, demo=True, media_dir=media)
    with make_session_factory(make_engine(url))() as s:
        assert history(s, settings, NOW, months=1, per_day=4, seed=7) > 0
        photo = store_photo(settings, _jpeg(), "a.jpg")
        s.add(CasePhoto(case_id=s.scalar(select(func.max(Case.id))), event_seq=1, sha256=photo.sha256,
                        content_type=photo.content_type, size_bytes=photo.size_bytes, width=photo.width,
                        height=photo.height, created_at=NOW))
        s.commit()
        return s.scalar(select(func.count(Case.id))), s.scalar(select(func.count(CaseEvent.id)))


def _october(url: str, media, rebuild: bool = False) -> dict[str, list[dict]]:
    """October's assessment of every kind (the projection rebuilt from the event log first, if asked)."""
    settings = Settings(database_url=url, demo=True, media_dir=media)
    with make_session_factory(make_engine(url))() as s:
        refresh(s, settings, NOW, rebuild=rebuild)
        return {kind: assessment(s, settings, period_of("2026-10"), kind, NOW)["rows"] for kind in KINDS}


def _cli(args: list[str], url: str, media, monkeypatch):
    from cityloop.cli import app

    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_MEDIA_DIR", str(media))
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()


def test_backup_and_restore_into_an_empty_database(two_databases, tmp_path, monkeypatch):
    source, target = two_databases
    cases, events = _fill(source, tmp_path / "media-a")
    before = _october(source, tmp_path / "media-a")
    assert sum(len(rows) for rows in before.values()) > 0  # October holds cases to rank
    archive = tmp_path / "backup.tar.gz"
    result = _cli(["backup", str(archive)], source, tmp_path / "media-a", monkeypatch)
    assert result.exit_code == 0, result.output
    upgrade(target)  # an upgraded but empty database is a fine target
    result = _cli(["restore", str(archive)], target, tmp_path / "media-b", monkeypatch)
    assert result.exit_code == 0, result.output
    with make_session_factory(make_engine(target))() as s:
        assert (s.scalar(select(func.count(Case.id))), s.scalar(select(func.count(CaseEvent.id)))) == (cases, events)
        key = audit_key(Settings(database_url=target, demo=True))
        assert verify_case_events(s, key) == (events, [])  # the MAC chains came across intact
        sha = s.scalar(select(CasePhoto.sha256))
    assert (tmp_path / "media-b" / "photos" / sha[:2] / sha).read_bytes() == _jpeg()
    assert _october(target, tmp_path / "media-b") == before  # the restored projection gives the same figures
    assert _october(target, tmp_path / "media-b", rebuild=True) == before  # and so do the restored events
    again = _cli(["restore", str(archive)], target, tmp_path / "media-b", monkeypatch)
    assert again.exit_code == 1 and "not empty" in again.output
    assert _cli(["restore", str(archive), "--force"], target, tmp_path / "media-b", monkeypatch).exit_code == 0


def test_a_backup_is_not_restored_across_database_kinds(tmp_path, monkeypatch):
    source = f"sqlite:///{tmp_path / 'a.db'}"
    _fill(source, tmp_path / "m")
    archive = tmp_path / "b.tar.gz"
    assert _cli(["backup", str(archive)], source, tmp_path / "m", monkeypatch).exit_code == 0
    from cityloop.db.backup import BackupError, restore

    with pytest.raises(BackupError, match="across|target is postgresql"):
        restore(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", demo=True), archive)


def test_a_backup_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    source = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(source)
    archive = tmp_path / "new-dir" / "b.tar.gz"
    assert _cli(["backup", str(archive)], source, tmp_path / "m", monkeypatch).exit_code == 0
    assert (archive.stat().st_mode & 0o777, archive.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    archive.chmod(0o644)  # an old, world-readable file of the same name is tightened when overwritten
    assert _cli(["backup", str(archive)], source, tmp_path / "m", monkeypatch).exit_code == 0
    assert archive.stat().st_mode & 0o777 == 0o600


def test_pg_dump_gets_the_password_from_a_private_file_not_its_command_line(tmp_path):
    from cityloop.db.backup import pg_command

    url = "postgresql+psycopg://city:s3cr:et\\pw@db.example:5433/cityloop?sslmode=require"
    argv, env = pg_command("pg_dump", url, ["--format=custom"], tmp_path)
    assert not any("s3cr" in arg for arg in argv)  # `ps` shows argv to every user
    assert argv[-1] == "--dbname=postgresql://city@db.example:5433/cityloop?sslmode=require"
    passfile = tmp_path / "pgpass"
    assert env["PGPASSFILE"] == str(passfile) and "PGPASSWORD" not in env
    assert passfile.stat().st_mode & 0o777 == 0o600
    assert passfile.read_text() == "*:*:*:*:s3cr\\:et\\\\pw\n"  # libpq's escapes for ':' and '\'


def test_pg_dump_receives_no_password_argument(tmp_path, monkeypatch):
    """The command actually run (pg_dump replaced by a recorder) carries no password."""
    from cityloop.db import backup as backup_module

    seen = {}

    def record(args, env):
        seen.update(args=args, passfile=open(env["PGPASSFILE"]).read())
        raise backup_module.BackupError("stop here")

    monkeypatch.setattr(backup_module, "_run", record)
    with pytest.raises(backup_module.BackupError, match="stop here"):
        backup_module.backup(Settings(database_url="postgresql+psycopg://u:hunter2@127.0.0.1:1/x", demo=True),
                             tmp_path / "b.tar.gz")
    assert seen["args"][0] == "pg_dump" and not any("hunter2" in a for a in seen["args"])
    assert seen["passfile"].strip().endswith(":hunter2")
