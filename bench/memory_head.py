#!/usr/bin/env python3
"""The memory head's log-posteriors in NumPy, timed: the peer of `afg-bench memory-head`.

Usage: memory_head.py --query Q.f32 --memory M.f32 --labels L.i32 --center C.f32 --rows N
                      --memory-rows M --dim D --classes C --temperature T --out OUT.f32

Reads the query rows (N x D), the memory rows (M x D, centred and of unit length), their
labels and the head's centre, centres the query rows and scales them to unit length, and
computes what a NumPy user would write for the balanced Parzen head: s = q @ m.T (float32 BLAS), per class
logsumexp(s / T) over its rows less log n_c (one exp of s / T less each row's maximum, then
a product with the one-hot label matrix), then a log-softmax over the classes. Writes the
N x C float32 result to OUT and prints one JSON line with the best wall time of 3 runs.
"""
import argparse, json, sys, time
import numpy as np

ap = argparse.ArgumentParser()
for k in ("query", "memory", "labels", "center", "out"):
    ap.add_argument(f"--{k}", required=True)
for k in ("rows", "memory-rows", "dim", "classes"):
    ap.add_argument(f"--{k}", type=int, required=True)
ap.add_argument("--temperature", type=float, required=True)
a = ap.parse_args()
q = np.fromfile(a.query, dtype="<f4").reshape(a.rows, a.dim)
m = np.fromfile(a.memory, dtype="<f4").reshape(a.memory_rows, a.dim)
y = np.fromfile(a.labels, dtype="<i4")
center = np.fromfile(a.center, dtype="<f4")
onehot = np.zeros((a.memory_rows, a.classes), dtype=np.float64)
onehot[np.arange(a.memory_rows), y] = 1
logn = np.log(np.maximum(onehot.sum(0), 1))


def head():
    u = q - center
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-30)
    out = np.empty((a.rows, a.classes), dtype=np.float32)
    for start in range(0, a.rows, 1024):             # blocks keep the similarities in memory
        s = (u[start:start + 1024] @ m.T).astype(np.float64) / a.temperature
        top = s.max(1, keepdims=True)
        dens = np.log(np.exp(s - top) @ onehot) + top - logn
        dens -= dens.max(1, keepdims=True)
        out[start:start + 1024] = dens - np.log(np.exp(dens).sum(1, keepdims=True))
    return out


best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    out = head()
    best = min(best, time.perf_counter() - t0)
out.tofile(a.out)
print(json.dumps({"seconds": best, "numpy_version": np.__version__}))
