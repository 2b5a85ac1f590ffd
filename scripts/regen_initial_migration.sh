#!/usr/bin/env bash
# Before the first release only: regenerate the single initial migration from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/*_initial_schema.py /tmp/cityloop_regen.db
CITYLOOP_DATABASE_URL=sqlite:////tmp/cityloop_regen.db .venv/bin/alembic revision --autogenerate --rev-id 0001 -m "initial schema" >/dev/null
ls migrations/versions/
