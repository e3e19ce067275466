# Ladder: `make run` starts the site, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench screenshots chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python -m config.launcher

test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest

# Browser tests drive Debian's chromium (Playwright never downloads a browser here). Installed with
# apt when missing and we may; otherwise the browser tests fail and say how to install it.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } || \
		echo "chromium is not installed: run 'sudo apt-get install chromium fonts-noto-cjk' for the browser tests"

# Screenshots of /plan/ on a phone and a desktop, in Chinese and English, and of the ops desk, into docs/screenshots/.
screenshots: $(VENV)/.installed-test chromium
	LADDER_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest coaching/tests/e2e -k fits
	LADDER_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest ops/tests/e2e

# SCALE=1m measures the tier, assignment and ops steps at 1,000,000 creators (docs/speed-and-scale.md: Running at scale).
SCALE ?= 100k
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench --scale $(SCALE)

clean:
	rm -rf $(VENV) db.sqlite3* .pytest-db* staticfiles
