# The two commands a newcomer runs (see README):
#   make demo  - set up and run the app on the embedded default (SQLite, tasks in-process)
#   make test  - set up and run the whole test suite against PostgreSQL and Redis
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv install install-dev ldap-build-deps demo test services lint

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel setuptools

venv: $(PY)

install: venv
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .

# python-ldap (the `ldap` extra, in `dev`) compiles against Debian's LDAP and SASL headers: installed first.
ldap-build-deps:
	bash scripts/ldap_build_deps.sh

install-dev: venv ldap-build-deps
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"

demo: install
	DATABASE_URL= CELERY_BROKER_URL= REDIS_URL= $(PY) manage.py migrate --noinput -v0
	DATABASE_URL= CELERY_BROKER_URL= REDIS_URL= $(PY) manage.py seed_demo
	DATABASE_URL= CELERY_BROKER_URL= REDIS_URL= $(PY) manage.py seed_risk_demo
	@echo ""
	@echo "ADE Review demo: http://$(HOST):$(PORT)/  (log in as admin, reviewer or annotator; password above)"
	DATABASE_URL= CELERY_BROKER_URL= REDIS_URL= DEBUG=$${DEBUG:-0} $(PY) manage.py runserver --insecure $(HOST):$(PORT)

services:
	bash scripts/services.sh

test: install-dev services
	$(VENV)/bin/pytest

lint: install-dev
	$(VENV)/bin/ruff check .
