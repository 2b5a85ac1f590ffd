#!/usr/bin/env bash
# `make test`'s pytest runs: SQLite always, PostgreSQL too when CITYLOOP_TEST_DATABASE_URL is set. The two run side
# by side (they share no database, port or folder) because most of their time is waiting on servers and browsers;
# each run's output is printed whole once it ends, so the two never interleave. Fails when either fails. Stopped
# (SIGTERM, Ctrl-C: a CI time limit), it stops both runs and prints what each had written so far.
set -uo pipefail
bin=${1:-.venv/bin}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
interrupted() {
  kill $(jobs -p) 2>/dev/null
  for f in "$logs"/*; do echo "== interrupted: $(basename "$f") so far"; cat "$f"; done
  exit 143
}
trap interrupted TERM INT

env -u CITYLOOP_TEST_DATABASE_URL "$bin/pytest" >"$logs/sqlite" 2>&1 &
sqlite=$!
if [ -n "${CITYLOOP_TEST_DATABASE_URL:-}" ]; then
  "$bin/pytest" >"$logs/postgresql" 2>&1 &
  postgresql=$!
fi

wait "$sqlite"; rc=$?
echo "== SQLite"; cat "$logs/sqlite"
if [ -n "${postgresql:-}" ]; then
  wait "$postgresql"; rc_pg=$?
  echo "== PostgreSQL: $CITYLOOP_TEST_DATABASE_URL"; cat "$logs/postgresql"
  [ "$rc" -ne 0 ] || rc=$rc_pg
else
  echo "(PostgreSQL run skipped: CITYLOOP_TEST_DATABASE_URL not set)"
fi
exit "$rc"
