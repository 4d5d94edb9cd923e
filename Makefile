# 资格认证服务平台 — every set-up step lives here, so a fresh clone needs only `make run` or `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
FACE_RECOGNITION := face-recognition==1.3.0

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade 'pip<27'
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps $(FACE_RECOGNITION)
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium (Playwright must never download its own browser), CJK fonts for screenshots,
# ffmpeg to turn the shared blink frames into a fake webcam clip, PostgreSQL for the database tests.
.PHONY: system-packages
system-packages:
	@if [ -x /usr/bin/chromium ] && command -v ffmpeg >/dev/null && command -v pg_ctlcluster >/dev/null \
	    && [ -d /usr/share/fonts/opentype/noto ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        chromium fonts-noto-cjk ffmpeg postgresql >/dev/null; \
	else echo "Install Debian's chromium, fonts-noto-cjk, ffmpeg and postgresql (needs root)."; fi

.PHONY: translations
translations: $(VENV)/.runtime-installed ## Compile the zh_CN and English message catalogues
	@$(VENV)/bin/pybabel compile -d portal/translations >/dev/null

.PHONY: extract-messages
extract-messages: $(VENV)/.runtime-installed ## Re-extract messages and merge them into the catalogues
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -N -i portal/translations/messages.pot -d portal/translations

.PHONY: database
database: $(VENV)/.runtime-installed translations
	@$(FLASK) check-face-models
	@$(FLASK) init-db
	@$(FLASK) seed-demo --if-empty --photos ../shared/faces/people

.PHONY: run
run: database ## Set up everything and serve the portal on http://127.0.0.1:5000
	$(FLASK) run --host 127.0.0.1 --port 5000

.PHONY: lint
lint: $(VENV)/.dev-installed ## Check style with ruff
	$(VENV)/bin/ruff check portal tests bench tools
	$(VENV)/bin/ruff format --check portal tests bench tools

.PHONY: format
format: $(VENV)/.dev-installed ## Format the code with ruff
	$(VENV)/bin/ruff check --fix portal tests bench tools
	$(VENV)/bin/ruff format portal tests bench tools

.PHONY: test
test: $(VENV)/.dev-installed system-packages translations lint ## Set up everything and run the whole test suite
	$(FLASK) check-face-models
	$(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: bench
bench: $(VENV)/.dev-installed translations ## Run the speed benchmarks (see docs/benchmarks.md)
	$(PY) -m bench $(BENCH_ARGS)

.PHONY: clean
clean: ## Remove the virtual environment and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
