# One entry point for set-up, synth, tests, benchmarks and deployment.
# Everything installs into the repository (.tools, .venv, .venv-checkov, node_modules), pinned
# by uv.lock, tools/checkov/requirements.txt and package-lock.json; nothing global.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
UV_VERSION := 0.13.9
ENV ?= dev
# CI deploys unattended (REQUIRE_APPROVAL=never); people get asked before IAM broadens.
REQUIRE_APPROVAL ?= broadening

UV := .tools/bin/uv
PY := .venv/bin/python
CDK := node_modules/.bin/cdk

# Offline and quiet: no CLI telemetry or version checks, no instance-metadata probes, and
# compiled bytecode (these machines set PYTHONDONTWRITEBYTECODE, so an uncompiled venv pays
# for every import on every run).
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export AWS_EC2_METADATA_DISABLED := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export UV_COMPILE_BYTECODE := 1

.PHONY: help setup run approval-walkthrough serve synth test lint typecheck pytest bench review deploy destroy bootstrap queue-config clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

# checkov pins a 2024 boto3 that conflicts with the SageMaker SDK, so it lives apart.
.venv-checkov/.synced: tools/checkov/requirements.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) .venv-checkov
	$(UV) pip install --quiet --python .venv-checkov/bin/python --require-hashes -r $<
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

setup: .venv/.synced .venv-checkov/.synced node_modules/.installed ## Install every pinned tool (idempotent)

synth: setup ## Synthesize every stack offline into cdk.out (ENV=dev|prod, CDK_ARGS for -c overrides)
	$(CDK) synth --quiet -c env=$(ENV) $(CDK_ARGS)
	@echo "synthesized: $$(ls cdk.out/*.template.json | tr '\n' ' ')"

run: synth ## Set up if needed, synthesize, then run every model's pipeline locally (MODEL=name for one, RUN_ARGS)
	$(PY) -m pipelines.local run --assembly cdk.out --run-dir .run/local $(if $(MODEL),--model $(MODEL)) $(RUN_ARGS)
	@$(if $(MODEL)$(RUN_ARGS),true,$(MAKE) approval-walkthrough)

# The approval path on one model, after a full run: a second execution registers a version
# pending approval (its steps come from the cache), which is approved, then rejected; the
# deployer's code decides what serves each time.
WALKTHROUGH_MODEL ?= churn
LOCAL := $(PY) -m pipelines.local
approval-walkthrough: setup ## Register a pending version of WALKTHROUGH_MODEL, approve it, reject it (rollback)
	@echo "== approval walkthrough: $(WALKTHROUGH_MODEL)"
	@$(LOCAL) run --assembly cdk.out --run-dir .run/local --model $(WALKTHROUGH_MODEL) \
	  --param ModelApprovalStatus=PendingManualApproval > .run/local/walkthrough.log
	@grep -E "^  package: " .run/local/walkthrough.log | sed 's/^  package:/registered (not deployed):/'
	$(LOCAL) approve $(WALKTHROUGH_MODEL) latest --assembly cdk.out --run-dir .run/local
	$(LOCAL) reject $(WALKTHROUGH_MODEL) latest --assembly cdk.out --run-dir .run/local

serve: setup ## Serve MODEL's last locally deployed version until Ctrl-C (SERVE_ARGS: --version N, --port P)
	@test -n "$(MODEL)" || { echo "usage: make serve MODEL=<model> [SERVE_ARGS='--port 8081']" >&2; exit 2; }
	$(PY) -m pipelines.local serve $(MODEL) --assembly cdk.out --run-dir .run/local $(SERVE_ARGS)

lint: setup ## ruff lint and format check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup ## mypy (strict on our packages)
	.venv/bin/mypy

pytest: setup ## The test suite (synth, cdk-nag, cfn-lint, checkov, IAM matrix, scripts)
	$(PY) -m pytest

test: lint typecheck pytest ## Everything CI runs

bench: setup ## Synth time against an empty CDK app, and the local pipeline run, same run
	$(PY) -m benchmarks.synth
	$(PY) -m benchmarks.local_run

review: setup ## Review the infra change against BASE (a git ref): report in cdk.out.review/report.md
	@test -n "$(BASE)" || { echo "usage: make review BASE=<git ref>" >&2; exit 2; }
	$(PY) -m review --base $(BASE) --out cdk.out.review/report.md --fail-on-findings $(REVIEW_ARGS)

bootstrap: setup ## cdk bootstrap the target account/region (needs your AWS credentials)
	$(CDK) bootstrap -c env=$(ENV) $(CDK_ARGS)

# After a destroy, the retained resources are adopted, not re-created (which would fail on
# their names): infra.adopt imports the key and the model registries, which have no name
# CloudFormation can match, then the deploy adopts the named ones (--import-existing-resources).
deploy: setup ## cdk deploy every stack, adopting what a destroy retained (needs your AWS credentials; REQUIRE_APPROVAL=never in CI)
	$(CDK) synth --quiet -c env=$(ENV) $(CDK_ARGS)
	$(PY) -m infra.adopt --assembly cdk.out --cdk $(CDK)
	$(CDK) deploy --app cdk.out --all --import-existing-resources --require-approval $(REQUIRE_APPROVAL)

destroy: setup ## cdk destroy every stack; data and its protections stay for the next deploy
	$(CDK) destroy --all -c env=$(ENV) $(CDK_ARGS)

queue-config: setup ## Print the launch queue config of the deployed foundation stack
	$(PY) -m infra.show_queue_config $(QUEUE_ARGS)

clean: ## Remove generated output (keeps installed tools)
	rm -rf cdk.out cdk.out.review .build .run .pytest_cache .mypy_cache .ruff_cache
