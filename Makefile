# CityLoop — the two commands a newcomer needs are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
ONLY ?=

.PHONY: demo test bench install serve clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/cityloop demo --port $(PORT)

# SQLite always; PostgreSQL too when CITYLOOP_TEST_DATABASE_URL is set (.ci/run sets it).
test: install
	env -u CITYLOOP_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$CITYLOOP_TEST_DATABASE_URL" ]; then \
		echo "== PostgreSQL: $$CITYLOOP_TEST_DATABASE_URL"; $(BIN)/pytest; \
	else echo "(PostgreSQL run skipped: CITYLOOP_TEST_DATABASE_URL not set)"; fi

bench: install
	$(BIN)/python bench/run.py $(ONLY)

serve: install
	$(BIN)/cityloop serve --port $(PORT)

clean:
	rm -rf $(VENV) var
