# Every target creates and uses .venv/ in the repo; `.venv/bin/voxframe` is the CLI afterwards.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev

.PHONY: install test run bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check shared services tests bench

bench-%: $(STAMP)
	$(PY) bench/$*.py

bench: $(STAMP)
	$(PY) bench/all.py

clean:
	rm -rf $(VENV) build *.egg-info
