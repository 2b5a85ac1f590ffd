"""The schema comes only from migrations, so the migrated database must match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cityloop.db import Base, import_all_models, include_name


def test_migrations_match_the_models(engine):
    import_all_models()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": include_name}), Base.metadata) == []
