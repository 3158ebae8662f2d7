# planflow — the two commands: `make up` (install + demo data + serve) and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
ASSETS := web/static/vendor/MANIFEST.json
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: up install assets browser test lint serve demo clean

up: install assets
	$(BIN)/planflow db upgrade
	$(BIN)/planflow demo
	$(BIN)/planflow serve --host $(HOST) --port $(PORT)

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

node_modules/.package-lock.json: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

$(ASSETS): node_modules/.package-lock.json web/assets.py | install
	$(BIN)/python web/assets.py

assets: $(ASSETS)

browser:
	bash .ci/install-browser.sh

test: install assets browser
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) node_modules web/static/vendor instance
