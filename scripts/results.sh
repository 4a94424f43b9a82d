#!/usr/bin/env bash
# `make results`: the whole Fashion-MNIST-LT protocol of docs/RESULTS.md, from images.
#   1. afg make-lt (IF 100, n_max 5900, 100 validation images per class from the rest)
#   2. stage one: convnet × {graloss, ce, la}, 15 epochs, seed 0; features + head extracted
#   3. stage two: every afg method, seeds 0 1 2 (scripts/stage2.sh)
#   4. the Python peers on the same features (bench/peers.py, in .venv-bench)
#   5. the second data set: scikit-learn digits made long-tailed (scripts/make_digits_lt.py)
#   6. tables (scripts/summarize.py) into OUT/tables.md
# Hyper-parameters are chosen on validation splits only; each test number is computed once.
set -euo pipefail
AFG=${AFG:-.build/release/afg}
OUT=${OUT:-out/results}
SEEDS=${SEEDS:-"0 1 2"}
EPOCHS=${EPOCHS:-15}
FM=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT/runs" "$OUT/res" "$OUT/peers"
"$AFG" make-lt --data "$FM" --imbalance 100 --val-per-class 100 --seed 0 --out-dir "$OUT/fmnist-lt"
for loss in graloss ce la; do
  [ -f "$OUT/runs/$loss-test.h5" ] && continue
  "$AFG" pretrain --arch convnet --data "$OUT/fmnist-lt/train.h5" --eval-data "$OUT/fmnist-lt/val.h5" \
    --loss $loss --tau 1 --epochs "$EPOCHS" --warmup 1 --seed 0 --out "$OUT/runs/$loss.safetensors" --quiet \
    > "$OUT/runs/$loss.pretrain.txt"
  for s in train val test; do
    "$AFG" extract --checkpoint "$OUT/runs/$loss.safetensors" --data "$OUT/fmnist-lt/$s.h5" \
      --out "$OUT/runs/$loss-$s.h5" --head "$OUT/runs/$loss-head.h5" --quiet > "$OUT/runs/$loss-$s.extract.txt"
  done
done
for loss in graloss ce la; do scripts/stage2.sh "$AFG" "$OUT/runs" $loss "$OUT/res" "$SEEDS"; done

VENV=.venv-bench   # made by `make bench-env` (bench/requirements.txt, exact pins)
[ -x $VENV/bin/python ] || { echo "results.sh: no $VENV; run make bench-env (make results does)" >&2; exit 1; }
for loss in graloss ce la; do
  $VENV/bin/python bench/peers.py --train "$OUT/runs/$loss-train.h5" --val "$OUT/runs/$loss-val.h5" \
    --test "$OUT/runs/$loss-test.h5" --seeds 0 --methods lr-balanced --json "$OUT/peers/$loss.lr.json" > /dev/null
  $VENV/bin/python bench/peers.py --train "$OUT/runs/$loss-train.h5" --val "$OUT/runs/$loss-val.h5" \
    --test "$OUT/runs/$loss-test.h5" --seeds $SEEDS --methods smote-lr tailcalib-lr --json "$OUT/peers/$loss.gen.json" > /dev/null
done

# Second data set: the same stage-two commands, unchanged (no stage-one head: no teacher).
$VENV/bin/python scripts/make_digits_lt.py "$OUT/digits-lt"
mkdir -p "$OUT/digits-runs" "$OUT/digits-peers"
for s in train val test; do ln -sf "$(cd "$OUT/digits-lt" && pwd)/$s.h5" "$OUT/digits-runs/digits-$s.h5"; done
CUTS="--many 50 --few 10" scripts/stage2.sh "$AFG" "$OUT/digits-runs" digits "$OUT/digits" "$SEEDS" \
  "glag glag-select glag-lbfgs-select lr-balanced"
$VENV/bin/python bench/peers.py --train "$OUT/digits-lt/train.h5" --val "$OUT/digits-lt/val.h5" \
  --test "$OUT/digits-lt/test.h5" --seeds 0 --methods lr-balanced --many 50 --few 10 --json "$OUT/digits-peers/digits.lr.json"

{ python3 scripts/summarize.py "$OUT/res"; echo; echo "## Peers"; python3 scripts/summarize.py "$OUT/peers"
  echo; echo "## digits-LT"; python3 scripts/summarize.py "$OUT/digits"
  echo; echo "## digits-LT peers"; python3 scripts/summarize.py "$OUT/digits-peers"; } > "$OUT/tables.md"
echo "tables in $OUT/tables.md"
