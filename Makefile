# Two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000
export DATABASE_URL ?= sqlite:///instance/grading.db
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

AXE_VERSION := 4.14.1
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

.PHONY: help install wheelhouse deploy-check dev browser run test test-sqlite test-postgresql lint format typecheck openapi examples bench report-pictures page-pictures clean

# WHEELHOUSE=DIR installs from a folder `make wheelhouse` filled, without reaching PyPI.
WHEELHOUSE ?=
PIP_FROM := $(if $(WHEELHOUSE),--no-index --find-links $(abspath $(WHEELHOUSE)))

help:
	@echo "make run            the demo on SQLite at http://$(HOST):$(PORT) (creates .venv, migrates)"
	@echo "make test           the whole suite on SQLite and PostgreSQL ($(PG_TEST_URL))"
	@echo "make test-sqlite | test-postgresql    one half; PYTEST_ARGS='-k …' narrows it"
	@echo "make install        .venv with the service only (production: README, Production)"
	@echo "make wheelhouse     every package in wheelhouse/, for a server without PyPI:"
	@echo "                    copy the folder there, then make install WHEELHOUSE=wheelhouse"
	@echo "make deploy-check   follow the README's Production section on this machine, as root"
	@echo "                    (a throwaway machine: it installs /srv/grading, /etc/grading, nginx)"
	@echo "make lint | format  ruff, ruff format, mypy"
	@echo "make openapi        regenerate openapi.yaml;  make examples: re-record its examples"
	@echo "make bench          the benchmarks on PostgreSQL"
	@echo "make report-pictures | page-pictures    the pictures in docs/"
	@echo "make clean          remove .venv and instance/"

$(STAMP): requirements.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(PIP_FROM) -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check $(PIP_FROM) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# What `make install` needs, downloaded for this machine's Python and architecture (the server
# must have the same): the locked packages and the build backend of the project itself.
wheelhouse:
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --dest wheelhouse \
	  -r requirements.lock 'setuptools>=68' wheel
	@echo "wheelhouse/ ready: copy it beside the code, then: make install WHEELHOUSE=wheelhouse"

# The README's Production section followed literally on this machine (root, PostgreSQL here):
# tools/follow_readme.py says what it runs. CI runs it after the suite (.ci/run).
deploy-check:
	$(PYTHON) tools/follow_readme.py --on-this-machine

# What the tests, linters and benchmarks add (make run needs none of it).
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $(DEV_STAMP)

dev: $(DEV_STAMP)

# What the browser tests drive: Debian's Chromium and ChromeDriver (and CJK fonts, so pages and
# screenshots show Chinese), and axe-core from the npm registry for the accessibility check.
# Under CI=true a browser test without them fails (tests/test_browser.py).
$(AXE):
	mkdir -p $(VENV)/npm
	npm install --prefix $(VENV)/npm --no-audit --no-fund --silent axe-core@$(AXE_VERSION)

browser: $(AXE)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver fonts-noto-cjk poppler-utils) || \
	  echo "!! could not install chromium and chromium-driver: browser tests will not run"

run: install
	mkdir -p instance
	$(BIN)/python -m service db upgrade
	$(BIN)/python -m service demo --if-empty --quiet
	LOG_FORMAT=$${LOG_FORMAT:-text} $(BIN)/python -m service serve --host $(HOST) --port $(PORT)

# The whole suite, on SQLite and on PostgreSQL side by side (test-sqlite, test-postgresql: one).
# Under CI=true an unreachable PostgreSQL fails the run (tests/conftest.py); elsewhere it is
# reported loudly and skipped.
test: dev browser
	@echo "==> suite on SQLite and on PostgreSQL ($(PG_TEST_URL)), side by side"
	tools/test_both.sh $(BIN) $(PG_TEST_URL) $(PYTEST_ARGS)

test-sqlite: dev browser
	$(BIN)/python -m pytest -p no:cacheprovider --db sqlite $(PYTEST_ARGS)

test-postgresql: dev browser
	$(BIN)/python -m pytest -p no:cacheprovider --db postgresql --pg-url $(PG_TEST_URL) $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerates openapi.yaml from the routes and schemas; tests fail when it is stale.
openapi: install
	$(BIN)/python -m service openapi > openapi.yaml

# Record a real request and answer per operation from the suite (secrets blanked) as the
# contract's examples, then regenerate openapi.yaml with them.
examples: dev
	rm -f service/api/examples.json
	RECORD_EXAMPLES=1 $(BIN)/python -m pytest -q -p no:cacheprovider --db sqlite
	$(BIN)/python -m service openapi > openapi.yaml

# Benchmarks on PostgreSQL (see bench/run.py for the knobs); prints the figures.
bench: dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/transition_cpu.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/audit_log.py
	$(BIN)/python bench/events.py

# The demo county's 汇总表 and 明细表 printed through LibreOffice, as PNGs for the README.
report-pictures: dev
	command -v soffice >/dev/null && command -v pdftoppm >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq libreoffice-calc-nogui poppler-utils fonts-noto-cjk)
	$(BIN)/python docs/reports/render.py

# The pages at a phone's size, as the browser tests see them (instance/screenshots), and the
# ones the README shows copied to docs/pages; the workbench's at a PC's and a phone's size to
# docs/workbench.
README_PAGES := ballot ballot-confirm ballot-receipt ballot-used notice complaint-form complaint-reply
page-pictures: dev browser
	SCREENSHOT_DIR=instance/screenshots $(BIN)/python -m pytest -p no:cacheprovider --db sqlite tests/test_browser.py tests/test_workbench_browser.py
	mkdir -p docs/pages docs/workbench
	for name in $(README_PAGES); do cp instance/screenshots/$$name.png docs/pages/; done
	cp instance/screenshots/workbench-*.png docs/workbench/

clean:
	rm -rf $(VENV) instance wheelhouse .pytest_cache .mypy_cache .ruff_cache
