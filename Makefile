# The two commands a newcomer types are `make run` and `make test`; each installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := /usr/local/go/bin:$(HOME)/.local/bin:$(HOME)/go/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
CLUSTER := $(UV) run --frozen python -m devcluster.cluster
LOCAL_KUBECONFIG := $(or $(K3S_MCP_CLUSTER_DIR),$(or $(K3S_MCP_CACHE),$(HOME)/.cache/k3s-mcp)/cluster)/kubeconfig

.PHONY: help setup run test lint format cluster cluster-build cluster-down cluster-status parts bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(UV):
	@command -v python3 >/dev/null || { echo "python3 (>= 3.11) is required" >&2; exit 1; }
	@echo "installing uv from PyPI ..." >&2
	@python3 -m pip install --quiet --user uv >&2 2>/dev/null \
		|| python3 -m pip install --quiet --user --break-system-packages uv >&2 2>/dev/null \
		|| python3 -m pip install --quiet uv >&2
	@# pip puts the binary where its scheme says; link it where this Makefile looks.
	@test -x $@ || { mkdir -p $(dir $@) && ln -sf "$$(python3 -c 'import uv; print(uv.find_uv_bin())')" $@; }
	@$@ --version >&2

.venv/.synced: pyproject.toml uv.lock | $(UV)
	@$(UV) sync --frozen --quiet >&2
	@touch $@

setup: .venv/.synced ## install uv (if missing), the Python environment and the system packages the tests use
	@command -v go >/dev/null || { echo "Go >= 1.26 is required (expected in /usr/local/go/bin)" >&2; exit 1; }
	@missing=""; for p in openssh-server openssl; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing" >&2; \
		apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >&2; \
	fi

run: .venv/.synced ## serve the MCP server on stdio ($KUBECONFIG, else ~/.kube/config, else the bundled local cluster)
	@if [ -n "$$KUBECONFIG" ] && [ -f "$${KUBECONFIG%%:*}" ]; then kc="$$KUBECONFIG"; \
	elif [ -z "$$KUBECONFIG" ] && [ -f "$$HOME/.kube/config" ]; then kc="$$HOME/.kube/config"; \
	else echo "no kubeconfig found: starting the bundled local cluster (make cluster-down stops it)" >&2; \
		$(CLUSTER) up >&2 || exit 1; kc="$(LOCAL_KUBECONFIG)"; fi; \
	KUBECONFIG="$$kc" exec $(UV) run --frozen --quiet k3s-mcp-server

test: setup cluster-build parts ## the whole suite, against the real local cluster, model servers, Hydra and helm
	$(UV) run --frozen pytest -ra $(PYTEST_ARGS)

lint: .venv/.synced ## ruff and mypy
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

format: .venv/.synced ## apply ruff's formatting and fixes
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

cluster-build: .venv/.synced ## build the control plane, etcd and KWOK into ~/.cache/k3s-mcp (once)
	@$(CLUSTER) build >/dev/null

parts: .venv/.synced ## fetch, build and cache the other parts the tests use (helm, Hydra, the models, the conformance suite)
	@$(UV) run --frozen python -m devcluster.parts

cluster: cluster-build ## start (or reuse) the local K3s-compatible cluster on 127.0.0.1
	@$(CLUSTER) up

cluster-down: .venv/.synced ## stop the local cluster and remove its state
	@$(CLUSTER) down

cluster-status: .venv/.synced ## show the local cluster's components
	@$(CLUSTER) status

bench: setup cluster-build ## benchmarks against kubectl and peer MCP servers; writes bench/results/<date>.json
	$(UV) run --frozen python -m bench.run
