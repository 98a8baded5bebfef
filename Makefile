# kgrec: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup browser demo test lint unit clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)
	$(VENV)/bin/kgrec dataset fetch ml-100k

# Debian's chromium for the real-browser test (tests/api/test_ui.py): installed when
# missing and run as root; a failure never fails the build, the test then skips saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for tests/api/test_ui.py"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	      >/dev/null 2>&1 || echo "could not install chromium: tests/api/test_ui.py will skip"; \
	  else \
	    echo "chromium missing (not root): tests/api/test_ui.py will skip; apt-get install -y chromium"; \
	  fi; }

demo: setup
	$(VENV)/bin/kgrec demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup browser lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .kgrec .pytest_cache .mypy_cache .ruff_cache
