"""Run Alembic migrations programmatically (the schema is created only by migrations)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[3]


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the repo's migrations and the given database."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at url up to the given revision (all heads: areas may add migrations in parallel)."""
    command.upgrade(alembic_config(url), revision)
