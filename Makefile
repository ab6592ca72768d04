# The two commands: `make run` starts the whole local stack, `make test` runs the suite.
# Both call `make setup`, which installs whatever is missing and is quick the second time.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The stack's services, from Debian, and supervisord, which keeps them running; haproxy is the
# round-robin proxy in front of the web replicas of `STACK_REPLICAS=2 make run`. The browser is
# only for the tests, so `make run` does not wait for it on a new machine.
DEBIAN_PACKAGES := prometheus prometheus-alertmanager prometheus-node-exporter \
	prometheus-redis-exporter redis-server supervisor haproxy ca-certificates
TEST_PACKAGES := chromium victoria-metrics
# The test run's environment lives in tests/test.env (so a bare pytest can source it too).
TEST_ENV := set -a && . tests/test.env && set +a && VAR_DIR=$(CURDIR)/var/test

.PHONY: help setup system-packages test-packages venv run test test-postgres lint typecheck clean

help:
	@echo "make run   — set up what is missing, start the whole local stack, print URL and logins"
	@echo "make test  — set up what is missing, run the test suite"
	@echo "make setup — only the set-up part (Debian packages, .venv, database, demo users)"

setup: venv
	@$(PY) -m stack setup

system-packages:
	@scripts/ensure-debian-packages.sh $(DEBIAN_PACKAGES) \
		$$($(PYTHON) -c 'import ensurepip' 2>/dev/null || echo python3-venv) \
		$$(command -v kubectl >/dev/null || echo kubernetes-client)

venv: system-packages $(VENV)/.installed

# Reinstalled only when the dependency list changes. A venv without pip (made before
# python3-venv was installed) is made again.
$(VENV)/.installed: pyproject.toml
	@test -x $(VENV)/bin/pip || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: setup
	$(PY) -m stack run

test: setup test-packages
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-packages:
	@scripts/ensure-debian-packages.sh $(TEST_PACKAGES)

# The same suite against the PostgreSQL on 127.0.0.1:5432 (CI runs both).
test-postgres: setup test-packages
	$(TEST_ENV) DATABASE_URL=$${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(TEST_ENV) $(VENV)/bin/mypy controlpanel core integrations health metrics notifications alerts firing tuning \
		dashboards runbooks incidents checklists demo stack

clean:
	rm -rf var/test .pytest_cache
