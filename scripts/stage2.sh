#!/usr/bin/env bash
# Stage two on one backbone's features: every `afg train` method, for each seed, scored
# once on the test split. Hyper-parameters come from validation only (the methods that
# choose something, p / τ / β / the GLAG grid, look at --val, never at the test file).
#
#   scripts/stage2.sh AFG RUNS_DIR BACKBONE OUT_DIR "SEEDS" ["METHODS"]
# reads RUNS_DIR/BACKBONE-{train,val,test}.h5 and RUNS_DIR/BACKBONE-head.h5 (the stage-one
# head, the --teacher; optional: without it no method gets a teacher), writes
# OUT_DIR/BACKBONE.METHOD.SEED.json (afg evaluate --json on test, plus timing).
set -euo pipefail
AFG=$1; RUNS=$2; BB=$3; OUT=$4; SEEDS=$5
METHODS=${6:-"glag glag-select glag-no-adaptive glag-no-kd glag-lbfgs-select lr-balanced ce crt lws tau-norm logit-adjust balanced-softmax tailcalib"}
# Cut points for 10 classes: Many >= 1000, Medium 200-999, Few < 200.
CUTS=${CUTS:-"--many 999 --few 200"}
TEACHER=""; [ -f "$RUNS/$BB-head.h5" ] && TEACHER="--teacher $RUNS/$BB-head.h5"
mkdir -p "$OUT"
# The training split's class counts: every method's groups come from these.
"$AFG" inspect "$RUNS/$BB-train.h5" --json > "$OUT/$BB.train-counts.inspect"
# afg train refuses a flag its path does not read: the teacher goes to the methods that use
# it, the cut points to the runs that report on validation rows they did not train on, the
# seed to the runs with randomness.
for seed in $SEEDS; do
  for m in $METHODS; do
    extra=""; teach=$TEACHER; cuts=$CUTS; seeded="--seed $seed"
    case $m in
      glag) method=glag; extra="--solver sgd";;   # the paper's SGD GLAG (plain glag defaults to lbfgs)
      glag-no-adaptive) method=glag; extra="--solver sgd --no-adaptive";;
      glag-no-kd) [ -n "$TEACHER" ] || continue; method=glag; extra="--solver sgd --no-kd";;   # KD needs the head
      glag-select) method=glag; extra="--solver sgd --select-on-val";;   # SGD GLAG, teacher x beta0 chosen on validation
      glag-cv) method=glag; extra="--select-on-val"; teach=""; cuts="";;   # the recommended command
      glag-lbfgs-select) method=glag; extra="--solver lbfgs --select-on-val"; teach=""; cuts="";;
      lr-balanced) method=crt; extra="--solver lbfgs --C 1"; teach=""; seeded="";;   # afg's class-weighted logistic regression
      lr) method=ce; extra="--solver lbfgs --C 1"; teach=""; seeded="";;
      ce|crt|balanced-softmax|tailcalib) method=$m; teach="";;
      *) method=$m;;
    esac
    case $method in glag|tailcalib) extra="$extra ${GLAG_FLAGS:-} --head-threshold 1000";; esac
    clf="$OUT/$BB.$m.$seed.h5"
    t0=$(date +%s.%N)
    "$AFG" train --method "$method" $extra --train "$RUNS/$BB-train.h5" --val "$RUNS/$BB-val.h5" \
      $teach --out "$clf" $seeded $cuts --quiet > "$OUT/$BB.$m.$seed.train.txt"
    t1=$(date +%s.%N)
    "$AFG" evaluate --classifier "$clf" --test "$RUNS/$BB-test.h5" $CUTS --json > "$OUT/$BB.$m.$seed.eval.json"
    python3 scripts/stage2_record.py "$OUT/$BB.$m.$seed.eval.json" "$OUT/$BB.train-counts.inspect" \
      "$OUT/$BB.$m.$seed.json" "$BB" "$m" "$seed" "$t0" "$t1"
  done
done
