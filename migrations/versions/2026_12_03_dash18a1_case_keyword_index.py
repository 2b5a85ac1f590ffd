"""a keyword index on the case description: the case search's 关键词 reads an index, not every case

Revision ID: dash18a1
Revises: k18d1
Create Date: 2026-12-03 19:00:00

- SQLite: cases_fts, an FTS5 trigram table over cases.description (external content, kept by triggers); a
  keyword of 3 or more characters is matched there first (Chinese has no spaces: trigrams, not words).
- PostgreSQL: a pg_trgm GIN index on description, which the search's description ILIKE '%…%' uses
  directly (skipped, with the search still correct, where the pg_trgm extension is not available).
Neither is in the models (autogenerate ignores them: cityloop.db.SEARCH_OBJECTS). A later SQLite migration that
rebuilds the cases table (batch mode: copy, drop, rename) drops the three cases_fts_* triggers with it: it must
create them again (SQLITE below) and rebuild the index.
Keywords under 3 characters (e.g. 井盖) have no trigram: they are matched by a scan on both databases.
"""
from alembic import op
from sqlalchemy import text

revision = "dash18a1"
down_revision = "k18d1"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE cases_fts USING fts5(description, content='cases', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN "
    "INSERT INTO cases_fts(rowid, description) VALUES (new.id, new.description); END",
    "CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN "
    "INSERT INTO cases_fts(cases_fts, rowid, description) VALUES ('delete', old.id, old.description); END",
    "CREATE TRIGGER cases_fts_update AFTER UPDATE OF description ON cases BEGIN "
    "INSERT INTO cases_fts(cases_fts, rowid, description) VALUES ('delete', old.id, old.description); "
    "INSERT INTO cases_fts(rowid, description) VALUES (new.id, new.description); END",
    "INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for sql in SQLITE:
            op.execute(sql)
    elif bind.dialect.name == "postgresql":
        if bind.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first() is None:
            return
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_cases_description_trgm ON cases USING gin (description gin_trgm_ops)")
        # Fresh statistics: without them a keyword in every case looks rare, and the newest-first
        # page reads all its matches by the index and sorts them instead of walking the primary key backwards.
        op.execute("ANALYZE cases")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS cases_fts_{name}")
        op.execute("DROP TABLE IF EXISTS cases_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_cases_description_trgm")
