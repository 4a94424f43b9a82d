#!/usr/bin/env bash
# `make demo-full`: the whole pipeline from Fashion-MNIST images (stage one included):
# long-tailed subset, GraLoss convnet, features, then stage two as in `make demo`.
set -euo pipefail
AFG=${1:-.build/release/afg}
OUT=${OUT:-out/demo-full}
EPOCHS=${EPOCHS:-15}
mkdir -p "$OUT"
"$AFG" make-lt --data /usr/share/datasets/fashion-mnist --imbalance 100 --val-per-class 100 --seed 0 --out-dir "$OUT/fmnist-lt"
"$AFG" pretrain --arch convnet --data "$OUT/fmnist-lt/train.h5" --eval-data "$OUT/fmnist-lt/val.h5" --loss graloss \
  --epochs "$EPOCHS" --warmup 1 --seed 0 --out "$OUT/graloss.safetensors"
for s in train val test; do
  "$AFG" extract --checkpoint "$OUT/graloss.safetensors" --data "$OUT/fmnist-lt/$s.h5" --out "$OUT/$s.h5" --head "$OUT/head.h5"
done
FIXTURES="$OUT" bash scripts/demo.sh "$AFG"
