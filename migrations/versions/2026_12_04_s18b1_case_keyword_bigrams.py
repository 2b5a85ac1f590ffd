"""PostgreSQL keyword index by character pairs: a two-character keyword (井盖, 垃圾) reads an index too

Revision ID: s18b1
Revises: dash18a1
Create Date: 2026-12-04 00:15:00

Chinese keywords are mostly two characters, which have no trigram: pg_trgm answered 井盖 by reading every case
(1.3–2 s at a million). cityloop_bigrams(text) lists a text's lower-cased character pairs; a GIN index on it
finds the cases holding every pair of a keyword of two or more characters, and the search's ILIKE keeps the
match exact. It replaces the pg_trgm index (same write cost, no extension needed). SQLite keeps its FTS5 trigram
table (dash18a1). Neither object is in the models (cityloop.db.SEARCH_OBJECTS).
"""
from alembic import op
from sqlalchemy import text

revision = "s18b1"
down_revision = "dash18a1"
branch_labels = None
depends_on = None

FUNCTION = ("CREATE OR REPLACE FUNCTION cityloop_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT "
            "PARALLEL SAFE AS $$ SELECT ARRAY(SELECT substr(s, i, 2) FROM lower(t) AS s, "
            "generate_series(1, char_length(s) - 1) AS i) $$")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute("CREATE INDEX ix_cases_description_bigrams ON cases USING gin (cityloop_bigrams(description))")
    op.execute("DROP INDEX IF EXISTS ix_cases_description_trgm")
    op.execute("ANALYZE cases")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_cases_description_bigrams")
    op.execute("DROP FUNCTION IF EXISTS cityloop_bigrams(text)")
    if bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first() is not None:
        op.execute("CREATE INDEX ix_cases_description_trgm ON cases USING gin (description gin_trgm_ops)")
