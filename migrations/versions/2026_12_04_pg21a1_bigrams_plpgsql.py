"""PostgreSQL: cityloop_bigrams in PL/pgSQL, same pairs, a quarter of the cost per new case

Revision ID: pg21a1
Revises: s18b1
Create Date: 2026-12-04 16:30:00

The SQL function of s18b1 cannot be inlined (its body has a FROM), and PostgreSQL 15 parses and plans such a
function's body again for every row an INSERT adds to the keyword index: about 150 µs of server CPU per new case,
more than every other index of cases together. A PL/pgSQL loop, compiled once per connection, returns the same
pairs in the same order for every text (NULL for NULL), so the index built with the old body stays valid and
needs no rebuild; queries still match it by name.
"""
from alembic import op

revision = "pg21a1"
down_revision = "s18b1"
branch_labels = None
depends_on = None

PLPGSQL = ("CREATE OR REPLACE FUNCTION cityloop_bigrams(t text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE STRICT "
           "PARALLEL SAFE AS $$ DECLARE s text := lower(t); pairs text[] := '{}'; BEGIN "
           "FOR i IN 1 .. char_length(s) - 1 LOOP pairs := pairs || substr(s, i, 2); END LOOP; "
           "RETURN pairs; END $$")
SQL = ("CREATE OR REPLACE FUNCTION cityloop_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT "
       "PARALLEL SAFE AS $$ SELECT ARRAY(SELECT substr(s, i, 2) FROM lower(t) AS s, "
       "generate_series(1, char_length(s) - 1) AS i) $$")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PLPGSQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SQL)
