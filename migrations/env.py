"""Alembic environment: the URL comes from the caller (cityloop db upgrade) or CITYLOOP_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from cityloop.db import Base, import_all_models, include_name, make_engine

import_all_models()
target_metadata = Base.metadata
config = context.config


def _url() -> str:
    return config.attributes.get("url") or os.environ.get("CITYLOOP_DATABASE_URL", "sqlite:///var/cityloop.db")


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
