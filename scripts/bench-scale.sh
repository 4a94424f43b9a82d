#!/usr/bin/env bash
# `make bench-scale`: the scale run (docs/SCALE.md). iNaturalist-2018-shaped
# synthetic features, then `afg calibrate` and one GLAG epoch with a class-balanced budget
# of N rows, streamed. Each step runs under /usr/bin/time -v; the table gives wall time and
# peak RSS per step and checks the 12 GB target.
#
# Environment: SCALE_DIR (default /tmp/afg-scale), SCALE_CLASSES / SCALE_DIM / SCALE_ROWS /
# SCALE_MAX / SCALE_MIN (default 8142 / 2048 / 437513 / 1000 / 2), SCALE_TEST_PER_CLASS (2), EPOCH_ROWS (default
# SCALE_ROWS), LIMIT_GB (12), SKIP_DATA=1 to reuse an existing data set.
set -euo pipefail
cd "$(dirname "$0")/.."
AFG=${AFG:-.build/release/afg}
BENCH=${BENCH:-.build/release/afg-bench}
export SCALE_DIR=${SCALE_DIR:-/tmp/afg-scale}
export SCALE_CLASSES=${SCALE_CLASSES:-8142} SCALE_DIM=${SCALE_DIM:-2048} SCALE_ROWS=${SCALE_ROWS:-437513}
export SCALE_MAX=${SCALE_MAX:-1000} SCALE_MIN=${SCALE_MIN:-2}
EPOCH_ROWS=${EPOCH_ROWS:-$SCALE_ROWS}
LIMIT_GB=${LIMIT_GB:-12}
# q = ⌈N / C⌉: the balanced file of `afg calibrate --generate` fills every class to q, as
# one budget epoch does.
Q=$(( (EPOCH_ROWS + SCALE_CLASSES - 1) / SCALE_CLASSES ))
[ -x /usr/bin/time ] || { echo "bench-scale: /usr/bin/time missing (make setup installs package time)" >&2; exit 1; }
mkdir -p "$SCALE_DIR"
LOG="$SCALE_DIR/logs"; mkdir -p "$LOG"

run() {   # run NAME CMD...: timed, output in $LOG/NAME.{out,time}
  local name=$1; shift
  echo "== $name: $*"
  echo "   load before: $(uptime | sed 's/.*load average: //')"
  /usr/bin/time -v -o "$LOG/$name.time" "$@" > "$LOG/$name.out" 2> "$LOG/$name.err" || {
    echo "bench-scale: step $name failed; see $LOG/$name.err" >&2; tail -5 "$LOG/$name.err" >&2; exit 1; }
  cat "$LOG/$name.out"; grep -v '^$' "$LOG/$name.err" | tail -4 || true
  echo "   load after:  $(uptime | sed 's/.*load average: //')"
}

if [ "${SKIP_DATA:-0}" != 1 ] || [ ! -f "$SCALE_DIR/train.h5" ]; then
  run data "$BENCH" scale-data
fi
run calibrate "$AFG" calibrate --train "$SCALE_DIR/train.h5" --out "$SCALE_DIR/stats.h5" --no-covariances \
    --generate "$SCALE_DIR/balanced.h5" --target-per-class "$Q" --seed 0
run train "$AFG" train --method glag --epochs 1 --epoch-rows "$EPOCH_ROWS" --train "$SCALE_DIR/train.h5" \
    --teacher "$SCALE_DIR/teacher.h5" --out "$SCALE_DIR/glag.h5" --seed 0
if [ -f "$SCALE_DIR/test.h5" ]; then   # sanity check of what one epoch learned (untimed)
  echo "== test split ($(( ${SCALE_TEST_PER_CLASS:-2} )) rows per class): stage-one teacher, then GLAG after one epoch"
  "$AFG" evaluate --classifier "$SCALE_DIR/teacher.h5" --test "$SCALE_DIR/test.h5" | sed 's/^/   teacher: /'
  "$AFG" evaluate --classifier "$SCALE_DIR/glag.h5" --test "$SCALE_DIR/test.h5" | sed 's/^/   glag:    /'
fi

echo
echo "scale run: C = $SCALE_CLASSES, D = $SCALE_DIM, N = $SCALE_ROWS, epoch rows $EPOCH_ROWS (q = $Q), $(nproc) cores"
printf '%-10s %12s %14s %8s\n' step "wall (s)" "peak RSS (GB)" "<= ${LIMIT_GB} GB"
status=0
for s in data calibrate train; do
  f="$LOG/$s.time"; [ -f "$f" ] || continue
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$f")
  kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$f")
  gb=$(awk -v k="$kb" 'BEGIN { printf "%.2f", k * 1024 / 1e9 }')
  ok=$(awk -v g="$gb" -v l="$LIMIT_GB" 'BEGIN { print (g <= l) ? "pass" : "FAIL" }')
  [ "$ok" = pass ] || status=1
  printf '%-10s %12.1f %14s %8s\n' "$s" "$wall" "$gb" "$ok"
done
echo "load average at the end: $(uptime | sed 's/.*load average: //')"
exit $status
