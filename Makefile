# Every target installs what it needs first; `make test` and `make local` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# aws-sam-cli pins conflict with the project's, so it lives in its own venv (for `sam validate`).
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
ENV ?= dev

.DEFAULT_GOAL := help
.PHONY: help install sam lint format typecheck test unit integration e2e infra bench local demo local-run-schedule sam-invoke synth layer deploy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools (idempotent)

$(SAM_STAMP):
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip aws-sam-cli
	@touch $(SAM_STAMP)

sam: $(SAM_STAMP) ## aws-sam-cli in its own venv (.venv-sam), for sam validate / sam local invoke

lint: $(STAMP) ## ruff lint + format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: $(STAMP) ## mypy --strict on functions/ and shared/
	$(PY) -m mypy

unit: $(STAMP) ## unit tests only
	$(PY) -m pytest tests/unit -q

integration: $(STAMP) ## integration tests (real PostgreSQL + moto)
	$(PY) -m pytest tests/integration -q

e2e: $(STAMP) ## end-to-end tests against the local stack (started by the tests)
	$(PY) -m pytest tests/e2e -q

infra: $(STAMP) $(SAM_STAMP) ## infrastructure tests (CDK synth, cdk-nag, cfn-lint)
	$(PY) -m pytest tests/infrastructure -q

test: $(STAMP) $(SAM_STAMP) lint typecheck ## everything: lint, types, unit, integration, infrastructure, e2e (with coverage)
	$(PY) -m pytest -q --cov=shared --cov=functions --cov-report=term:skip-covered

bench: $(STAMP) ## benchmarks; prints ratios and writes .local/bench.json
	$(PY) -m tests.performance.run

local: $(STAMP) ## run the whole system on this machine (moto + embedded PostgreSQL)
	$(PY) -m infra_cdk.local

demo: $(STAMP) ## with `make local` running: a working day of agents and people over HTTP(S); MINUTES=120
	$(PY) -m infra_cdk.local.demo --minutes $(or $(MINUTES),120)

local-run-schedule: $(STAMP) ## run a scheduled function once against the running local stack: NAME=audit_checkpoint
	$(PY) -m infra_cdk.local.run_schedule $(NAME)

sam-invoke: $(STAMP) $(SAM_STAMP) ## sam local invoke FN=<function> EVENT=events/<fn>/<x>.json against the local stack (needs Docker)
	$(PY) -m infra_cdk.local.sam_invoke $(FN) $(EVENT)

synth: $(STAMP) ## synthesize every environment into cdk.out/ (offline)
	$(PY) -m infra_cdk.app

layer: $(STAMP) ## build the Lambda layer (arm64 wheels, no Docker) into layers/build/
	$(PY) layers/build.py

deploy: $(STAMP) layer ## deploy ENV=dev|staging|prod with the CDK CLI (needs AWS credentials)
	npx --yes aws-cdk@2 deploy --app "$(PY) -m infra_cdk.app" -c env=$(ENV) --all

clean: ## remove build output (keeps .venv)
	rm -rf cdk.out layers/build .local/bench.json .local/bench-pg .pytest_cache .mypy_cache .ruff_cache
