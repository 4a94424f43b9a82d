#!/usr/bin/env bash
# Writes the output files of the `make demo` commands (and of calibrate / calibrate --generate /
# the lbfgs paths) into DIR, so that two builds can be compared:
#   bash scripts/reference-outputs.sh .build/release/afg /tmp/before
#   ... change the code, rebuild ...
#   bash scripts/reference-outputs.sh .build/release/afg /tmp/after /tmp/before
# With a third argument, every .h5 file is compared with the one of that folder: byte for byte,
# and where the bytes differ, dataset by dataset and attribute by attribute (scripts/h5diff.py,
# which names what differs: a changed `config` record alone leaves the classifier the same),
# and every evaluation's text likewise.
set -euo pipefail
AFG=${1:?usage: reference-outputs.sh AFG DIR}
OUT=${2:?usage: reference-outputs.sh AFG DIR}
F=${FIXTURES:-fixtures/fmnist-lt}
mkdir -p "$OUT"
CUTS="--many 999 --few 200"
TEACHER="--teacher $F/head.h5"
run() { local name=$1; shift
  "$AFG" train "$@" --train "$F/train.h5" --val "$F/val.h5" --out "$OUT/$name.h5" --quiet > /dev/null; }
run ce --method ce $CUTS
run crt --method crt $CUTS
run lr-balanced --method crt --solver lbfgs --C 1 $CUTS
run lr-balanced-cv --method crt --solver lbfgs
run logit-adjust-lbfgs --method logit-adjust --solver lbfgs
run glag --method glag --solver sgd --head-threshold 1000 $TEACHER $CUTS
run glag-select --method glag --solver sgd --select-on-val --head-threshold 1000 $TEACHER $CUTS
run glag-lbfgs --method glag --solver lbfgs --rounds 10 --C 1 --head-threshold 1000 $CUTS
run glag-lbfgs-plain --method glag
run glag-lbfgs-select --method glag --solver lbfgs --select-on-val --head-threshold 1000
run tailcalib --method tailcalib --head-threshold 1000 $CUTS
"$AFG" calibrate --train "$F/train.h5" --out "$OUT/stats.h5" --generate "$OUT/balanced.h5" \
    --head-threshold 1000 --seed 0 --quiet > /dev/null
for f in "$OUT"/*.h5; do
  m=$(basename "$f" .h5)
  case $m in stats|balanced) continue;; esac
  "$AFG" evaluate --classifier "$f" --test "$F/test.h5" $CUTS > "$OUT/$m.eval.txt"
done
REF=${3:-}
if [ -n "$REF" ]; then
  status=0
  for f in "$REF"/*.h5 "$REF"/*.eval.txt; do
    name=$(basename "$f")
    [ -e "$OUT/$name" ] || { echo "MISSING   $name"; status=1; continue; }
    if [[ $name == *.h5 ]]; then
      if cmp -s "$f" "$OUT/$name"; then echo "same      $name"
      elif d=$(/usr/bin/python3 scripts/h5diff.py "$f" "$OUT/$name"); then echo "same data $name ($d)"
      else echo "DIFFERENT $name: $d"; status=1; fi
    elif diff -q <(sed "s#$REF#DIR#g" "$f") <(sed "s#$OUT#DIR#g" "$OUT/$name") >/dev/null; then echo "same      $name"
    else echo "DIFFERENT $name"; status=1; fi
  done
  exit $status
fi
