"""Migration pg21a1: cityloop_bigrams in PL/pgSQL gives the very pairs of the SQL function it replaces (so the
keyword index built with the old body stays valid), and the migration goes down and up on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from cityloop.db import make_engine
from cityloop.db.migrate import alembic_config, upgrade

TEXTS = ["", "a", "ab", "Bench 12", "井盖破损，路面塌陷", "AbC井盖 x", "  ", "渣土车🚚撒漏", "x" * 300]


def _pairs(conn) -> list:
    return [conn.execute(text("SELECT cityloop_bigrams(:t)"), {"t": t}).scalar_one() for t in TEXTS] + [
        conn.execute(text("SELECT cityloop_bigrams(NULL)")).scalar_one()]


def _language(conn) -> str:
    return conn.execute(text("SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
                             "WHERE p.proname = 'cityloop_bigrams'")).scalar_one()


def test_the_plpgsql_pairs_equal_the_sql_functions_and_the_migration_goes_both_ways(db_url, tmp_path):
    url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'pairs.db'}"
    if url.startswith("sqlite"):
        upgrade(url)
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":  # nothing to change on SQLite: the migration only has to pass
            command.downgrade(alembic_config(url), "pg21a1-1")
            upgrade(url)
            return
        with engine.connect() as conn:
            assert _language(conn) == "plpgsql"
            new = _pairs(conn)
        expected = [[t.lower()[i:i + 2] for i in range(len(t) - 1)] for t in TEXTS] + [None]
        assert new == expected
        command.downgrade(alembic_config(url), "pg21a1-1")
        with engine.connect() as conn:
            assert _language(conn) == "sql"
            assert _pairs(conn) == new
    finally:
        if engine.dialect.name == "postgresql":
            upgrade(url)
        engine.dispose()
    with engine.connect() as conn:
        assert _language(conn) == "plpgsql"
