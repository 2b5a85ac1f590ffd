# CityLoop — the two commands a newcomer needs are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
ONLY ?=

.PHONY: demo demo-city test test-fast screenshots bench install system-deps serve clean

# Python packages into .venv, front-end libraries from npm into node_modules (served from /static/vendor). No npm
# install scripts run: the libraries are plain files (swagger-ui-dist would otherwise run @scarf/scarf telemetry).
$(BIN)/.installed: pyproject.toml package-lock.json
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed

# Debian packages for the tests (browser, CJK font, pdftoppm, Mosquitto); installed when run as root.
system-deps:
	@scripts/system-deps.sh

demo: install
	$(BIN)/cityloop demo --port $(PORT)

# The 咸阳市 two-level (city + district centers) demo, in var/demo-city.db.
demo-city: install
	$(BIN)/cityloop demo --city --port $(PORT)

# SQLite always; PostgreSQL too, side by side, when CITYLOOP_TEST_DATABASE_URL is set (.ci/run sets it).
test: install system-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	@scripts/test-both.sh $(BIN)

# The quick loop while working: no browser, subprocess or whole-demo tests, SQLite only.
test-fast: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	env -u CITYLOOP_TEST_DATABASE_URL $(BIN)/pytest -m "not slow"

# Every page of the demo as each role sees it, at 1920×1080 and 390×844, into screenshots/ (open index.html there).
screenshots: install system-deps
	$(BIN)/python scripts/screenshots.py --out screenshots

bench: install
	$(BIN)/python bench/run.py $(ONLY)

serve: install
	$(BIN)/cityloop serve --port $(PORT)

clean:
	rm -rf $(VENV) var node_modules
