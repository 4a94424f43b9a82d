# The project's interface. `make demo` and `make test` work on a fresh machine of this
# kind: `setup` installs what is missing (guarded by dpkg -s, so it is quick the second time).

SHELL := /bin/bash
APT_PACKAGES := pkg-config libdnnl-dev openmpi-bin libopenmpi-dev liblapacke-dev libopenblas-dev libhdf5-dev zlib1g-dev dataset-fashion-mnist time python3-h5py python3-numpy python3-venv
SWIFT ?= swift
# The Swift runtime and Foundation linked statically: a process starts ~10 ms sooner and a short
# `afg calibrate` finishes ~20 ms sooner (no dynamic symbol binding of libFoundation).
RELEASE_FLAGS := -c release --static-swift-stdlib
TEST_FLAGS := -c release -Xswiftc -enable-testing
AFG := .build/release/afg
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build release wheel test demo demo-full bench bench-env bench-scale bench-mpi bench-cv bench-accuracy results install clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: system packages present"; fi

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build $(RELEASE_FLAGS)

# The Python package (python/afg) with the release binary inside, as
# $(DIST)/afg-<version>-py3-none-linux_x86_64.whl. WHEEL_BINARY=PATH packs that binary
# instead of building the release one (`make test` packs the binary it has just built).
DIST ?= dist
WHEEL_BINARY ?=
wheel: setup
	$(if $(WHEEL_BINARY),,$(SWIFT) build $(RELEASE_FLAGS))
	python3 python/build_wheel.py --binary $(or $(WHEEL_BINARY),$(AFG)) --out $(DIST)

# Tests build in release mode (the numeric tests are 10-100x slower in debug). Then the
# Python package: its wheel from the test build's binary, installed with scikit-learn into
# .venv-python (python/tests/run.sh; the first run downloads about 60 MB of wheels and installs
# PyTorch CPU from the machine's local wheel in $PIP_FIND_LINKS, for the afg.torch check).
PY_DIST := .build/python-dist
test: setup
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-swift-testing
	rm -rf $(PY_DIST)
	$(MAKE) --no-print-directory wheel WHEEL_BINARY=$(AFG) DIST=$(PY_DIST)
	bash python/tests/run.sh $(AFG) $(PY_DIST)

demo: release
	@bash scripts/demo.sh $(AFG)

demo-full: release
	@bash scripts/demo-full.sh $(AFG)

# The Fashion-MNIST-LT protocol of docs/RESULTS.md (about an hour on this machine).
results: release bench-env
	AFG=$(AFG) bash scripts/results.sh

# The peers' Python environment: PyTorch CPU, scikit-learn, imbalanced-learn and tailcalib
# at the exact versions of bench/requirements.txt, in .venv-bench (git-ignored). Built when
# missing, reinstalled only when the requirements file differs from the copy kept in it
# (the first build downloads PyTorch with its CUDA wheels, about 3 GB). BENCH_BASE_PYTHON
# makes the venv (default python3). `make test` does not need it.
BENCH_VENV := .venv-bench
BENCH_PYTHON := $(BENCH_VENV)/bin/python
BENCH_REQUIREMENTS := bench/requirements.txt
BENCH_BASE_PYTHON ?= python3
bench-env: setup
	@if [ -x $(BENCH_PYTHON) ] && cmp -s $(BENCH_REQUIREMENTS) $(BENCH_VENV)/requirements.installed; then \
	  echo "bench-env: $(BENCH_VENV) matches $(BENCH_REQUIREMENTS)"; \
	else \
	  echo "bench-env: installing $(BENCH_REQUIREMENTS) into $(BENCH_VENV)"; \
	  { [ -x $(BENCH_PYTHON) ] || $(BENCH_BASE_PYTHON) -m venv $(BENCH_VENV); } && \
	  $(BENCH_PYTHON) -m pip install -q --disable-pip-version-check -r $(BENCH_REQUIREMENTS) && \
	  cp $(BENCH_REQUIREMENTS) $(BENCH_VENV)/requirements.installed; \
	fi

# Every benchmark (or those named in BENCH), each Python peer under $(BENCH_PYTHON), and a
# closing table of every afg-versus-peer time ratio.
bench: release bench-env
	AFG_BENCH_PYTHON=$(abspath $(BENCH_PYTHON)) .build/release/afg-bench $(BENCH)

# The accuracy suite of docs/RESULTS.md: eight real long-tailed sets from four domains
# (bench/accuracy/build_sets.py: Debian's r-cran-mlbench and fortunes packages, Python's and
# Perl's library documentation, texts embedded by a sentence-embedding model from PyPI, our
# Fashion-MNIST-LT features, scikit-learn's digits), 3 seeds, afg's methods paired against the
# better of scikit-learn's LogisticRegressionCV(balanced) and logit adjustment per set.
# Its own Python environment (.venv-accuracy, pinned in bench/accuracy/requirements.txt;
# torch's wheels are ~3 GB). Sets under ACC_DIR (default /tmp/afg-accuracy). A few hours.
# build_sets.py's check sets (WordNet definitions, R's help pages) and its -mpnet sets (every
# text set embedded by a second model) are built and run only when named in --sets; their
# packages are in ACC_APT and requirements.txt.
ACC_DIR ?= /tmp/afg-accuracy
ACC_PY := .venv-accuracy/bin/python
ACC_APT := r-cran-mlbench r-recommended wordnet-base fortunes python3-venv libpython3.11-stdlib perl-modules-5.36 libperl5.36
.venv-accuracy/stamp: bench/accuracy/requirements.txt
	@for p in $(ACC_APT); do dpkg -s $$p >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(ACC_APT); break; }; done
	python3 -m venv .venv-accuracy
	$(ACC_PY) -m pip install -q -r bench/accuracy/requirements.txt
	touch $@

bench-accuracy: release .venv-accuracy/stamp
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=0 ACC_DIR=$(ACC_DIR) $(ACC_PY) bench/accuracy/build_sets.py --out $(ACC_DIR)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ACC_DIR=$(ACC_DIR) AFG=$(AFG) $(ACC_PY) bench/accuracy/suite.py run
	ACC_DIR=$(ACC_DIR) $(ACC_PY) bench/accuracy/suite.py table

# The scale run of docs/SCALE.md: iNaturalist-2018-shaped synthetic features (8,142 classes,
# D = 2048, 437,513 rows, 3.6 GB under SCALE_DIR, default /tmp/afg-scale), `afg calibrate`
# and one streamed GLAG epoch, each under /usr/bin/time -v (about 20 minutes on this machine).
bench-scale: release
	bash scripts/bench-scale.sh

# One process on both cores against `mpirun -np 2` with one core per rank, on ImageNet-LT's
# shape (synthetic, two shards): `afg calibrate` and one lbfgs solve (docs/SCALE.md).
bench-mpi: release
	bash scripts/bench-mpi.sh

# Stage two's cross-validated fits at ImageNet-LT's shape (synthetic: 1,000 classes, D = 512,
# 229,853 training rows, 20 validation and 20 test rows per class, under CV_DIR, default
# /tmp/afg-bench-cv): --C 1, --C auto and plain --method glag, each under /usr/bin/time -v,
# twice; wall time, ratio to the fixed-C fit, peak RSS, chosen C, test accuracy (docs/SCALE.md).
# OLD_AFG=path PLAN="old new" compares another build in the same run.
bench-cv: release
	bash scripts/bench-cv.sh

# The binary, bash / zsh / fish completions and the man page (ArgumentParser's
# generate-manual plugin, built from the package checkout: no network needed) under
# $(DESTDIR)$(PREFIX): bin/afg, share/bash-completion/completions/afg,
# share/zsh/site-functions/_afg, share/fish/vendor_completions.d/afg.fish, share/man/man1/afg.1.
PREFIX ?= /usr/local
MANUAL := .build/plugins/GenerateManual/outputs/afg/afg.1
install: release
	$(SWIFT) package --disable-sandbox generate-manual --configuration release >/dev/null
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(AFG) $(DESTDIR)$(PREFIX)/bin/afg
	install -m 644 $(MANUAL) $(DESTDIR)$(PREFIX)/share/man/man1/afg.1
	$(AFG) --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/afg
	$(AFG) --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_afg
	$(AFG) --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/afg.fish
	@echo "installed afg, its completions and man page under $(DESTDIR)$(PREFIX)"

clean:
	rm -rf .build
