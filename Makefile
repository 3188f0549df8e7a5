# The project's verbs. `make run` and `make test` work on a fresh clone (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
ASSETS_STAMP := node_modules/.assets-installed
MANAGE := $(PY) manage.py

.PHONY: help run serve test lint fmt check-migrations test-postgres test-sqlite bench messages install assets

help:
	@echo "make run    - install, migrate, load demo data, serve on http://127.0.0.1:8000 with a Celery worker and beat"
	@echo "make test   - lint, migration check, the suite on PostgreSQL and on SQLite (browser tests included)"
	@echo "make bench  - generate scale data and print benchmark figures (see bench/README.md)"
	@echo "make fmt | lint | messages"

$(VENV)/bin/python:
	@$(PYTHON_BIN) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	  || { echo "Python 3.11 is required (found $$($(PYTHON_BIN) --version))." >&2; exit 1; }
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(ASSETS_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the front-end packages: apt-get install nodejs npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Re-run when the script changes: it adds settings a newer version needs to an existing file.
var/.env: bin/dev_env.py
	$(PYTHON_BIN) bin/dev_env.py
	touch $@
	mkdir -p -m 700 var/static

install: $(RUNTIME_STAMP) $(ASSETS_STAMP) var/.env
assets: $(ASSETS_STAMP)

messages: $(RUNTIME_STAMP)
	@command -v msgfmt >/dev/null || { echo "msgfmt is needed to compile translations: apt-get install gettext" >&2; exit 1; }
	$(MANAGE) compilemessages --ignore=.venv --ignore=node_modules -v 0

makemessages: $(RUNTIME_STAMP)
	$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=var --no-obsolete

# var/ is private to this account (crm/__init__.py sets the umask); the chmod tightens what an
# older version created readable by others, such as a database made 0644.
run: install messages
	chmod -R go= var
	$(MANAGE) migrate --no-input -v 0
	$(MANAGE) seed_demo
	bin/serve

fmt: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# mypy's Django plugin imports the settings, which read var/.env.
lint: $(DEV_STAMP) var/.env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(VENV)/bin/mypy

check-migrations: $(DEV_STAMP) $(ASSETS_STAMP) var/.env
	$(MANAGE) makemigrations --check --dry-run

# The two runs share nothing (database, broker, cache, uploads) and much of a run waits on
# workers, servers and the browser, so they go side by side; each one's output is printed
# whole when it ends (--output-sync), and either failing fails `make test`.
test: lint check-migrations
	$(MAKE) --no-print-directory -j2 --output-sync=target test-postgres test-sqlite

# The suite runs twice: on PostgreSQL (with Redis as the broker when it answers) and on SQLite
# (with the embedded filesystem broker), so both engines and both brokers are exercised.
test-postgres: $(DEV_STAMP) $(ASSETS_STAMP) var/.env messages
	rm -rf "$(CURDIR)/var/test-broker/postgres"  # no message of an earlier run
	DATABASE_URL="$$(bin/test_database_url)" REDIS_URL="$$(bin/test_redis_url)" \
	  MEDIA_ROOT="$(CURDIR)/var/test-media/postgres" BROKER_DIR="$(CURDIR)/var/test-broker/postgres" \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

test-sqlite: $(DEV_STAMP) $(ASSETS_STAMP) var/.env messages
	rm -rf "$(CURDIR)/var/test-broker/sqlite"  # no message of an earlier run
	DATABASE_URL="sqlite:///$(CURDIR)/var/test-run.sqlite3" REDIS_URL= \
	  MEDIA_ROOT="$(CURDIR)/var/test-media/sqlite" BROKER_DIR="$(CURDIR)/var/test-broker/sqlite" \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP) var/.env
	bin/bench
