#!/usr/bin/env bash
# `make bench-cv`: stage two's cross-validated fits against one fit at a fixed C, at
# ImageNet-LT's shape (docs/SCALE.md, "Cross-validated fits at ImageNet-LT's shape").
# Synthetic data from `afg-bench scale-data` (the generator of `make bench-mpi`): 1,000
# classes, D = 512, 229,853 training rows from 1,280 down to 5 per class, and 40 further
# rows per class split into a validation file (the first 20 of each class) and a test file
# (the other 20). Three steps, each under /usr/bin/time -v:
#   fixed: afg train --method crt --solver lbfgs --C 1
#   auto:  afg train --method crt --solver lbfgs --val VAL (C by 5-fold cross-validation)
#   glag:  afg train --method glag --val VAL (C* by cross-validation, one generated set)
# and a table of wall time, its ratio to `fixed` of the same binary and round, peak RSS,
# the chosen C and the test accuracy (`afg evaluate`), with the load averages.
#
# Environment: CV_DIR (default /tmp/afg-bench-cv), CV_CLASSES / CV_DIM / CV_ROWS / CV_MAX /
# CV_MIN (default 1000 / 512 / 229853 / 1280 / 5), CV_PER_CLASS (20 validation and 20 test
# rows per class), STEPS (default "fixed auto glag"), PLAN (default "new new": one round of
# STEPS per word, "new" = AFG, "old" = OLD_AFG, another afg binary to compare with in the
# same run), SKIP_DATA=1 to reuse the data, NICE (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
AFG=${AFG:-.build/release/afg}
BENCH=${BENCH:-.build/release/afg-bench}
DIR=${CV_DIR:-/tmp/afg-bench-cv}
C=${CV_CLASSES:-1000} D=${CV_DIM:-512} N=${CV_ROWS:-229853}
PER=${CV_PER_CLASS:-20}
PLAN=${PLAN:-new new}
STEPS=${STEPS:-fixed auto glag}
NICE=${NICE:-5}
[ -x /usr/bin/time ] || { echo "bench-cv: /usr/bin/time missing (make setup installs package time)" >&2; exit 1; }
mkdir -p "$DIR/logs"
if [ "${SKIP_DATA:-0}" != 1 ] || [ ! -f "$DIR/train.h5" ] || [ ! -f "$DIR/val.h5" ]; then
  SCALE_DIR=$DIR SCALE_CLASSES=$C SCALE_DIM=$D SCALE_ROWS=$N SCALE_MAX=${CV_MAX:-1280} SCALE_MIN=${CV_MIN:-5} \
    SCALE_TEST_PER_CLASS=$((2 * PER)) "$BENCH" scale-data > "$DIR/data.log"
  # test.h5 holds 2·PER rows per class, grouped by class: the first PER of each class
  # become val.h5, the rest test.h5 (written to a temporary and renamed).
  /usr/bin/python3 - "$DIR" "$PER" <<'PY'
import os, sys, h5py, numpy as np
d, per = sys.argv[1], int(sys.argv[2])
with h5py.File(f"{d}/test.h5", "r") as f:
    x, y, attrs = np.asarray(f["features"]), np.asarray(f["labels"]), dict(f.attrs)
rank = np.zeros(len(y), dtype=np.int64)
for c in np.unique(y):
    idx = np.flatnonzero(y == c)
    rank[idx] = np.arange(len(idx))
for name, keep in (("val", rank < per), ("test", rank >= per)):
    with h5py.File(f"{d}/{name}.tmp.h5", "w") as g:
        g.create_dataset("features", data=x[keep])
        g.create_dataset("labels", data=y[keep])
        for k, v in attrs.items():
            g.attrs[k] = v
        g.attrs["split"] = name
for name in ("val", "test"):
    os.replace(f"{d}/{name}.tmp.h5", f"{d}/{name}.h5")
PY
fi

declare -A WALL RSS ACC CHOSEN
step_args() {
  case $1 in
    fixed) echo "--method crt --solver lbfgs --C 1" ;;
    auto)  echo "--method crt --solver lbfgs --val $DIR/val.h5 --seed 0" ;;
    glag)  echo "--method glag --val $DIR/val.h5 --seed 0" ;;
    *) echo "bench-cv: unknown step $1" >&2; exit 1 ;;
  esac
}
binary() { case $1 in new) echo "$AFG" ;; old) echo "${OLD_AFG:?bench-cv: PLAN names old but OLD_AFG is not set}" ;;
                      *) echo "bench-cv: unknown binary $1 in PLAN" >&2; exit 1 ;; esac; }
echo "load before: $(uptime | sed 's/.*load average: //')"
round=0
for which in $PLAN; do
  round=$((round + 1))
  bin=$(binary "$which")
  for s in $STEPS; do
    name="$which.$s.$round"
    # shellcheck disable=SC2046
    nice -n "$NICE" /usr/bin/time -v -o "$DIR/logs/$name.time" "$bin" train $(step_args "$s") --train "$DIR/train.h5" \
      --out "$DIR/$name.h5" > "$DIR/logs/$name.out" 2> "$DIR/logs/$name.err" || {
      echo "bench-cv: $name failed; see $DIR/logs/$name.err" >&2; tail -5 "$DIR/logs/$name.err" >&2; exit 1; }
    WALL[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); t = 0; for (i = 1; i <= n; i++) t = t * 60 + a[i]; print t }' "$DIR/logs/$name.time")
    RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.2f", $2 * 1024 / 1e9 }' "$DIR/logs/$name.time")
    ACC[$name]=$("$bin" evaluate --classifier "$DIR/$name.h5" --test "$DIR/test.h5" --json \
      | /usr/bin/python3 -c 'import json, sys; print("%.2f" % (100 * json.load(sys.stdin)["summary"]["overall"]))')
    CHOSEN[$name]=$(grep -m1 -oE 'C\*? = [0-9.e+-]+ (by|for)' "$DIR/logs/$name.err" | awk '{ print $3 }' || true)
    echo "$name: ${WALL[$name]} s, ${RSS[$name]} GB, C ${CHOSEN[$name]:-given}, test accuracy ${ACC[$name]} %  (load $(uptime | sed 's/.*load average: //'))"
  done
done
echo "load after:  $(uptime | sed 's/.*load average: //')"

echo
echo "shape: C = $C, D = $D, $N training rows, $PER validation and $PER test rows per class; $(nproc) cores, nice $NICE"
echo "| binary.step.round | wall (s) | × fixed C | peak RSS (GB) | C      | test accuracy (%) |"
echo "|-------------------|---------:|----------:|--------------:|-------:|------------------:|"
round=0
for which in $PLAN; do
  round=$((round + 1))
  base=${WALL[$which.fixed.$round]:-}
  for s in $STEPS; do
    name="$which.$s.$round"
    ratio=$( [ -n "$base" ] && awk -v a="${WALL[$name]}" -v b="$base" 'BEGIN { printf "%.1f", a / b }' || echo "-")
    printf '| %-17s | %8.1f | %9s | %13s | %6s | %17s |\n' "$name" "${WALL[$name]}" "$ratio" "${RSS[$name]}" "${CHOSEN[$name]:-1}" "${ACC[$name]}"
  done
done
