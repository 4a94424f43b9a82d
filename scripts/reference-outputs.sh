#!/usr/bin/env bash
# Writes the output files of the `make demo` commands (and of calibrate / calibrate --generate /
# the lbfgs paths) into DIR, so that two builds can be compared byte for byte:
#   bash scripts/reference-outputs.sh .build/release/afg /tmp/before
#   ... change the code, rebuild ...
#   bash scripts/reference-outputs.sh .build/release/afg /tmp/after /tmp/before
# With a third argument, every .h5 file is compared byte for byte with the one of that folder
# (the JSON summaries hold wall times and paths, so only the files are compared).
set -euo pipefail
AFG=${1:?usage: reference-outputs.sh AFG DIR}
OUT=${2:?usage: reference-outputs.sh AFG DIR}
F=${FIXTURES:-fixtures/fmnist-lt}
mkdir -p "$OUT"
CUTS="--many 999 --few 200"
run() { local name=$1; shift
  "$AFG" train "$@" --train "$F/train.h5" --val "$F/val.h5" --teacher "$F/head.h5" \
      --out "$OUT/$name.h5" --seed 0 $CUTS --quiet > /dev/null; }
run ce --method ce
run crt --method crt
run lr-balanced --method crt --solver lbfgs --C 1
run glag --method glag --solver sgd --head-threshold 1000
run glag-select --method glag --solver sgd --select-on-val --head-threshold 1000
run glag-lbfgs --method glag --solver lbfgs --rounds 10 --C 1 --head-threshold 1000
run glag-lbfgs-select --method glag --solver lbfgs --select-on-val --head-threshold 1000
run tailcalib --method tailcalib --head-threshold 1000
"$AFG" calibrate --train "$F/train.h5" --out "$OUT/stats.h5" --generate "$OUT/balanced.h5" \
    --head-threshold 1000 --seed 0 --quiet > /dev/null
for m in ce crt lr-balanced glag glag-select glag-lbfgs glag-lbfgs-select tailcalib; do
  "$AFG" evaluate --classifier "$OUT/$m.h5" --test "$F/test.h5" $CUTS > "$OUT/$m.eval.txt"
done
REF=${3:-}
if [ -n "$REF" ]; then
  status=0
  for f in "$REF"/*.h5 "$REF"/*.eval.txt; do
    name=$(basename "$f")
    if [[ $name == *.h5 ]] && cmp -s "$f" "$OUT/$name" || [[ $name == *.txt ]] && \
       diff -q <(sed "s#$REF#DIR#g" "$f") <(sed "s#$OUT#DIR#g" "$OUT/$name") >/dev/null; then echo "same      $name"; else echo "DIFFERENT $name"; status=1; fi
  done
  exit $status
fi
