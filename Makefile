# Yellowcart developer commands. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run serve seed test lint typecheck unit check-compose clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## run: install, migrate the (default SQLite) database, seed the demo, print URLs and tokens, serve
## with the demo's one-click sign-in on (DEMO_SIGN_IN; off by default)
run: install
	$(BIN)/yellowcart db upgrade
	DEMO_SIGN_IN=true $(BIN)/yellowcart seed-demo
	DEMO_SIGN_IN=true $(BIN)/yellowcart serve

serve: install
	$(BIN)/yellowcart serve --migrate

seed: install
	$(BIN)/yellowcart seed-demo

## test: lint, type-check and the whole suite (SQLite and PostgreSQL; Redis where used; nginx-rtmp, ffmpeg;
## the pages in Debian's Chromium)
test: install media-deps browser-deps lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

check-compose:
	bash scripts/check-compose.sh

## media-deps: install nginx with the RTMP module, and ffmpeg (Debian packages; skipped when present)
.PHONY: media-deps
media-deps:
	bash scripts/install-media.sh

## browser-deps: Debian's Chromium for the browser tests (skipped when present; no browser download)
.PHONY: browser-deps
browser-deps:
	bash scripts/install-browser.sh

## vendor-web: refresh the pages' third-party packages from live/web/package-lock.json (needs npm)
.PHONY: vendor-web
vendor-web:
	bash scripts/vendor-web.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
