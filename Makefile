# Every target bootstraps .venv when missing, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export MMCAL_HOME ?= $(CURDIR)/data
# numba caches compiled kernels here (writable in CI and fresh clones), in a folder per
# version of the sources: numba checks only the timestamp of a kernel's own file, so a slot
# constant changed in another module (trader.strategy.params, say) would otherwise be read
# stale from the cache.
SRC_HASH := $(shell git ls-files -z '*.py' 2>/dev/null | xargs -0 cat 2>/dev/null | sha1sum | cut -c1-12)
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba_cache/$(SRC_HASH)
# Keep BLAS to one thread per process: xdist workers already fill both cores.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: run test test-fast test-slow chromium bench bench-peer backfill pays lint venv clean dagster docs

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m orchestration.main_job
	@echo "== make run ends with the live trader on the paper venue for 30 s: trader run --params latest --duration 30 --speed 10"
	$(PY) -m trader run --params latest --duration 30 --speed 10 --metrics-port 0 --fresh

test: $(STAMP) chromium
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadfile -q

test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadfile -q -m "not slow"

# bench_backfill.py (the 30-day x 3-symbol backfill, about 75 minutes on 2 cores) only with
# BENCH_BACKFILL=1.
bench: $(STAMP) bench-peer
	@set -e; for b in bench/bench_*.py; do \
	  if [ "$$b" = bench/bench_backfill.py ] && [ "$(BENCH_BACKFILL)" != 1 ]; then \
	    echo "== $$b skipped (long; BENCH_BACKFILL=1 make bench runs it)"; continue; fi; \
	  echo "== $$b"; $(PY) $$b; done
	@echo "== bench/crosscheck_hftbacktest.py"; $(PY) bench/crosscheck_hftbacktest.py

# A resumable Dagster backfill: ingest then nightly_calibration over days x symbols
# (orchestration/backfill.py). Run it again after a stop to finish only what did not.
BACKFILL_ARGS ?= --days 30 --symbols BTC,ETH,SOL
backfill: $(STAMP)
	$(PY) -m orchestration.backfill $(BACKFILL_ARGS)

# Does calibration pay? The calibrated set beside perturbed ones on held-out synthetic days
# (its own lake under $(MMCAL_HOME)/bench_pays; a second run reuses it). Table in bench/out/.
pays: $(STAMP)
	@mkdir -p bench/out
	$(PY) bench/calibration_pays.py --out bench/out/calibration_pays.md

# hftbacktest pins numpy<2.3: it runs from its own venv, never the project's.
PEER := bench/.venv-hftbacktest/bin/python
bench-peer:
	bench/peer_hftbacktest/setup.sh
	$(PEER) bench/peer_hftbacktest/convert_binance.py
	$(PEER) bench/peer_hftbacktest/run_peer.py --policy all --repeats 3

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy data_lake calibration assets orchestration trader

# The package graph in docs/ is generated from the imports (a test checks it is current).
docs: $(STAMP)
	$(PY) tools/package_graph.py

# The instance `make run` wrote to (runs, materializations, checks): $(MMCAL_HOME)/dagster_home
# unless DAGSTER_HOME is set; its dagster.yaml turns telemetry and the first-visit pop-up off.
dagster: $(STAMP)
	@export DAGSTER_HOME="$${DAGSTER_HOME:-$(MMCAL_HOME)/dagster_home}"; \
	$(PY) -m orchestration.instance_home && $(VENV)/bin/dagster dev

# Headless Chromium and its driver for the Dagster UI test (Debian packages; idempotent).
chromium:
	tools/ensure_chromium.sh

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
