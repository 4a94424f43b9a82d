#!/usr/bin/env bash
# The Python test of `make test`: installs the wheel in $PY_DIST (built by `make wheel` from the
# binary the Swift tests just built) with scikit-learn and h5py, binary wheels only, into
# .venv-python (git-ignored, kept between runs), then runs python/tests/test_afg.py.
# Usage: python/tests/run.sh AFG_BINARY WHEEL_DIR
set -euo pipefail
AFG=$1
DIST=$2
VENV=${PY_VENV:-.venv-python}
t0=$(date +%s)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# --only-binary: nothing is built from source (the wheels of numpy, scipy, scikit-learn, h5py).
"$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: -r python/tests/requirements.txt
"$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: --no-deps --force-reinstall "$DIST"/afg-*.whl
# PyTorch CPU for the afg.torch check, from the local wheel this kind of machine keeps in
# $PIP_FIND_LINKS (/opt/wheels): PyPI's torch would bring about 3 GB of CUDA wheels. Without
# such a wheel the check says it is skipped.
py=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
for w in "${PIP_FIND_LINKS:-/opt/wheels}"/torch-*+cpu-"$py"-*.whl; do
  [ -f "$w" ] || continue
  "$VENV/bin/python" -c 'import torch' 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: "$w"
  break
done
# SCIPY_ARRAY_API=1 lets check_estimator run its array-API check (NumPy inputs) instead of skipping it.
SCIPY_ARRAY_API=1 AFG_CLI=$(realpath "$AFG") nice -n 10 "$VENV/bin/python" python/tests/test_afg.py
echo "python test: $(( $(date +%s) - t0 )) s"
