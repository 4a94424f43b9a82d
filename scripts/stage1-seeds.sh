#!/usr/bin/env bash
# Stage one end to end on Fashion-MNIST-LT, the table of docs/RESULTS.md ("Stage one"): the
# convnet trained with each loss (graloss, ce, la) for each seed, the protocol of
# scripts/results.sh (15 epochs, 1 warm-up epoch, τ = 1, the paper's SGD recipe: momentum
# 0.9, weight decay 5e-4, cosine schedule), and the test top-1 of the stage-one head.
# A run whose test JSON exists is skipped, so the script resumes.
# Environment: AFG (default .build/release/afg), OUT (default /tmp/afg-stage1), SEEDS
# (default "0 1 2"), LOSSES (default "graloss ce la"), FM (the Fashion-MNIST folder).
set -euo pipefail
cd "$(dirname "$0")/.."
A=${AFG:-.build/release/afg}
OUT=${OUT:-/tmp/afg-stage1}
FM=${FM:-/usr/share/datasets/fashion-mnist}
mkdir -p "$OUT/runs"
[ -f "$OUT/fmnist-lt/train.h5" ] || "$A" make-lt --data "$FM" --imbalance 100 --val-per-class 100 --seed 0 --out-dir "$OUT/fmnist-lt"
for seed in ${SEEDS:-0 1 2}; do
  for loss in ${LOSSES:-graloss ce la}; do
    r=$OUT/runs/$loss-s$seed
    [ -f "$r.test.json" ] && continue
    t0=$(date +%s)
    "$A" pretrain --arch convnet --data "$OUT/fmnist-lt/train.h5" --eval-data "$OUT/fmnist-lt/val.h5" --loss "$loss" --tau 1 \
      --epochs 15 --warmup 1 --seed "$seed" --out "$r.safetensors" --quiet --json > "$r.pretrain.json"
    "$A" extract --checkpoint "$r.safetensors" --data "$OUT/fmnist-lt/test.h5" --out "$r-test.h5" --head "$r-head.h5" --quiet > /dev/null
    "$A" evaluate --classifier "$r-head.h5" --test "$r-test.h5" --json > "$r.test.json.tmp"
    mv "$r.test.json.tmp" "$r.test.json"
    echo "$loss seed $seed: $(( $(date +%s) - t0 )) s"
  done
done
for loss in ${LOSSES:-graloss ce la}; do
  /usr/bin/python3 - "$OUT/runs" "$loss" ${SEEDS:-0 1 2} <<'PY'
import json, os, statistics, sys
runs, loss, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
acc = [100 * json.load(open(f"{runs}/{loss}-s{s}.test.json"))["summary"]["overall"] for s in seeds]
sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
print(f"{loss}: " + ", ".join(f"{a:.2f}" for a in acc) + f"  mean {statistics.mean(acc):.2f} ± {sd:.2f}")
PY
done
