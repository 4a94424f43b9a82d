#!/usr/bin/env python3
"""A second real long-tailed data set: scikit-learn's bundled handwritten digits (UCI,
1,797 8×8 images, ~180 per class), made long-tailed with the CIFAR-LT profile.

    python3 scripts/make_digits_lt.py OUT_DIR [--imbalance 25 --n-max 100 --val 15 --seed 0]

Features are the 64 pixel intensities / 16 (non-negative, so Tukey applies). Class c
keeps floor(n_max * IF^(-c/(C-1))) training images; a class-balanced validation split
of --val per class comes from the remainder, and everything left is the test split.
Writes OUT_DIR/{train,val,test}.h5 (features, labels). Needs h5py and scikit-learn.
"""
import argparse, os
import h5py, numpy as np
from sklearn.datasets import load_digits

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--imbalance", type=float, default=25)
ap.add_argument("--n-max", type=int, default=100); ap.add_argument("--val", type=int, default=15)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype(np.float32)
rng = np.random.default_rng(a.seed)
C = 10
parts = {"train": [], "val": [], "test": []}
for c in range(C):
    idx = rng.permutation(np.where(y == c)[0])
    n = int(np.floor(a.n_max * a.imbalance ** (-c / (C - 1))))
    parts["train"].append(idx[:n]); parts["val"].append(idx[n:n + a.val]); parts["test"].append(idx[n + a.val:])
os.makedirs(a.out, exist_ok=True)
for split, ids in parts.items():
    ids = np.concatenate(ids)
    with h5py.File(os.path.join(a.out, f"{split}.h5"), "w") as f:
        f.create_dataset("features", data=x[ids]); f.create_dataset("labels", data=y[ids].astype(np.int64))
        f.attrs["num_classes"] = C; f.attrs["split"] = split
        f.attrs["source"] = f"sklearn digits, long-tailed IF {a.imbalance:g}, seed {a.seed}"
    print(split, len(ids), np.bincount(y[ids], minlength=C).tolist())
