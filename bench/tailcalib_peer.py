#!/usr/bin/env python3
"""Times the PyPI package `tailcalib` (numpy engine) on the features `afg-bench afg` writes.

Usage (`afg-bench afg` calls it with the bench environment's interpreter, made by
`make bench-env` from bench/requirements.txt):
    .venv-bench/bin/python bench/tailcalib_peer.py --features F.f32 --labels L.i32 --rows N --dim D \
        [--k 2] [--tukey 0.5] [--alpha 0]

F.f32 is N x D raw little-endian float32 (row-major), L.i32 N int32 labels.
tailcalib imports numpy, scipy and tqdm without declaring all of them: the requirements
file pins those too. Prints one JSON line: seconds of `tailcalib.generate`, rows
generated, package version.
"""
import argparse
import contextlib
import io
import json
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--tukey", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import numpy as np
    from importlib.metadata import version
    from tailcalib import tailcalib

    x = np.fromfile(args.features, dtype="<f4").reshape(args.rows, args.dim).astype(np.float64)
    y = np.fromfile(args.labels, dtype="<i4").astype(np.int64)
    np.random.seed(args.seed)
    engine = tailcalib(base_engine="numpy")
    sink = io.StringIO()
    t0 = time.perf_counter()
    c0 = time.process_time()
    # The package prints progress (tqdm on stderr, messages on stdout): keep stdout for the result.
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        feat, lab, gen = engine.generate(X=x, y=y, tukey_value=args.tukey, alpha=args.alpha, topk=args.k,
                                         extra_points=0, shuffle=True)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    generated = int(sum(v.shape[0] for v in gen.values()))
    counts = np.bincount(lab)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "generated": generated, "total_rows": int(feat.shape[0]),
                      "balanced": bool(counts.min() == counts.max()), "version": version("tailcalib"),
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main()
