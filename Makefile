# One entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
# uv from PATH, else a copy in a small tools virtualenv inside the repository (system pips may be
# "externally managed", so nothing is installed outside the repository).
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
PYTHON ?= python3
RUN := $(UV) run --no-sync
BENCH_DATA ?= ../shared/bench-data

.PHONY: help install run test redis clients browser vendor lint typecheck bench

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(UV) ## Install every package and the dev tools into .venv (uv sync, locked)
	$(UV) sync --all-packages --locked

run: install ## Compress the bundled samples, show `headroom stats`, then start `headroom proxy` (127.0.0.1:8787)
	@for f in samples/*; do \
		printf '\n\033[1m== %s\033[0m\n' "$$f"; \
		$(RUN) headroom compress "$$f" || exit 1; \
	done
	@printf '\n'; $(RUN) headroom stats --since 1h
	@printf '\nPoint OPENAI_BASE_URL at http://127.0.0.1:8787/v1 and ANTHROPIC_BASE_URL at http://127.0.0.1:8787\n'
	$(RUN) headroom proxy

test: install redis clients browser ## Install, then run the whole test suite
	$(RUN) pytest -q

# The Redis store tests need a redis-server binary (they start their own; no service is started).
redis: ## Install redis-server for the Redis store tests if missing (Debian, as root)
	@command -v redis-server >/dev/null || if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
	else echo "redis-server missing: Redis store tests will skip (apt-get install redis-server)"; fi

# The real agent CLIs the wrap tests drive (Claude Code, Codex CLI), pinned in tests/clients.
clients: ## Install the pinned agent CLIs into tests/clients (npm; Node from Debian if missing, as root)
	@command -v npm >/dev/null || if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; \
	else echo "npm missing: the agent CLI tests will skip (apt-get install nodejs npm)"; fi
	@if command -v npm >/dev/null && [ ! -x tests/clients/node_modules/.bin/codex ]; then \
		npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error; fi

# The dashboard test drives Debian's chromium through Playwright (never Playwright's own browser download).
browser: ## Install Debian's chromium for the dashboard's browser test if missing (as root)
	@[ -x /usr/bin/chromium ] || if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else echo "chromium missing: the dashboard browser test will skip (apt-get install chromium)"; fi

# The dashboard's chart library, vendored into the wheel from npm at this exact version, with its licence.
UPLOT := 1.6.32
DASHBOARD_VENDOR := packages/headroom-proxy/src/headroom_proxy/dashboard/vendor
vendor: ## Refresh the dashboard's vendored uPlot from npm (uplot@$(UPLOT)); commit the result
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent uplot@$(UPLOT) >/dev/null && tar xzf uplot-$(UPLOT).tgz \
		&& cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css $(CURDIR)/$(DASHBOARD_VENDOR)/ \
		&& cp package/LICENSE $(CURDIR)/$(DASHBOARD_VENDOR)/uPlot.LICENSE && rm -rf $$tmp

lint: install ## Ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install ## mypy --strict over packages/
	$(RUN) mypy

bench: install ## Measure ratio, retention and speed on $(BENCH_DATA); writes bench/results/*.json
	$(RUN) python -m bench --data $(BENCH_DATA)
