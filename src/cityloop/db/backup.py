"""Backup and restore: the database (SQLite online backup API, or pg_dump/pg_restore) and the media files, in
one .tar.gz with a manifest."""

from __future__ import annotations

from typing import Any

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from io import BufferedWriter
from pathlib import Path

from sqlalchemy import inspect, make_url, text

from cityloop.config import Settings
from cityloop.db import make_engine

FORMAT = 1


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why (zh / en)."""


def pg_command(tool: str, url: str, args: list[str], secrets: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment for a PostgreSQL client tool: the password goes into a 0600 PGPASSFILE under
    `secrets` (never on the command line, where `ps` shows it to every user)."""
    parsed = make_url(url)
    dsn = parsed._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if parsed.password is not None:
        passfile = secrets / "pgpass"
        escaped = str(parsed.password).replace("\\", "\\\\").replace(":", "\\:")
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"*:*:*:*:{escaped}\n")
        env["PGPASSFILE"] = str(passfile)
        env.pop("PGPASSWORD", None)
    return [tool, *args, f"--dbname={dsn}"], env


def _private_file(path: Path) -> BufferedWriter:
    """Open `path` for writing, readable by the owner only (a backup holds every citizen's phone number)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    return os.fdopen(fd, "wb")


def _sqlite_file(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份 / an in-memory database cannot be backed up")
    return Path(path)


def _counts(url: str) -> dict[str, Any]:
    engine = make_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                      for t in ("cases", "case_events", "users") if t in tables}
            heads = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))] \
                if "alembic_version" in tables else []
    finally:
        engine.dispose()
    return {"rows": counts, "alembic_heads": sorted(heads)}


def backup(settings: Settings, archive: Path) -> dict[str, Any]:
    """Write the database and the media files into `archive` (.tar.gz); returns the manifest."""
    url, media = settings.database_url, Path(settings.media_dir)
    with tempfile.TemporaryDirectory(prefix="cityloop-backup-") as tmp:
        work = Path(tmp)
        if url.startswith("sqlite"):
            source = sqlite3.connect(_sqlite_file(url))
            target = sqlite3.connect(work / "db.sqlite3")
            with target:
                source.backup(target)  # a consistent copy while the server keeps running
            source.close()
            target.close()
            kind, db_file = "sqlite", "db.sqlite3"
        else:
            _run(*pg_command("pg_dump", url, ["--format=custom", "--no-owner", "--no-privileges",
                                              f"--file={work / 'db.pgdump'}"], work))
            kind, db_file = "postgresql", "db.pgdump"
        manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(), "database": kind,
                    "db_file": db_file, **_counts(url),
                    "media_files": sum(1 for p in media.rglob("*") if p.is_file()) if media.is_dir() else 0}
        (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        with _private_file(archive) as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            tar.add(work / "manifest.json", "manifest.json")
            tar.add(work / db_file, db_file)
            if media.is_dir():
                tar.add(media, "media")
    return manifest


def restore(settings: Settings, archive: Path, force: bool = False) -> dict[str, Any]:
    """Restore `archive` into the configured (empty, unless force) database and media folder."""
    from cityloop.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="cityloop-restore-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")
        manifest: dict[str, Any] = json.loads((work / "manifest.json").read_text())
        url = settings.database_url
        kind = "sqlite" if url.startswith("sqlite") else "postgresql"
        if manifest.get("format") != FORMAT or manifest.get("database") != kind:
            raise BackupError(f"备份为 {manifest.get('database')}，目标为 {kind}：不能跨数据库恢复 / "
                              f"the backup is {manifest.get('database')} and the target is {kind}")
        tables, has_data = _state(url)
        if has_data and not force:
            raise BackupError("目标数据库不是空的（加 --force 覆盖）/ the target database is not empty (use --force)")
        if kind == "sqlite":
            target = _sqlite_file(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(work / manifest["db_file"], f"{target}.restoring")
            Path(f"{target}.restoring").replace(target)
        else:
            clean = ["--clean", "--if-exists"] if tables else []  # an upgraded but empty schema is replaced
            _run(*pg_command("pg_restore", url, ["--no-owner", "--no-privileges", "--single-transaction", *clean,
                                                 str(work / manifest["db_file"])], work))
        if (work / "media").is_dir():
            shutil.copytree(work / "media", settings.media_dir, dirs_exist_ok=True)
        upgrade(url)  # a backup from an older version is brought up to date
    return manifest


def _state(url: str) -> tuple[bool, bool]:
    """(has tables, holds users or cases) of the target database."""
    if url.startswith("sqlite") and not _sqlite_file(url).exists():
        return False, False
    engine = make_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            data = any(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("cases", "users") if t in tables)
    finally:
        engine.dispose()
    return bool(tables), data


def _run(args: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=3600, env=env)
    except FileNotFoundError as exc:
        raise BackupError(f"找不到 {args[0]}（请安装 postgresql-client）/ {args[0]} not found") from exc
    if done.returncode != 0:
        raise BackupError(f"{args[0]} 失败 / failed: {done.stderr.strip()[-500:]}")
