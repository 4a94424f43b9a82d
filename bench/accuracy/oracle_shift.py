#!/usr/bin/env python3
"""Headroom diagnostic: how much a further post-hoc shift of the recommended command's
logits could gain, at most, on each set's test split.

For every (set, seed) it trains the recommended command (`afg train --method glag
--select-on-val`), applies its exported classifier to the test rows as suite.py does, and
scores the test mean per-class recall of argmax(logits - d * log prior) for d in
{-1, -0.875, ..., 1} (prior: the class frequencies of train + val). d = 0 is the command's
own classifier. The curve reads the test labels, so it is an oracle: it can rule a
direction out (no shift gains on average) but never chooses anything.

    ACC_DIR=/tmp/afg-accuracy AFG=.build/release/afg python3 bench/accuracy/oracle_shift.py \
        --sets letter-lt perl-pod --seeds 0 1 2 3 4

Prints each run's curve as differences from d = 0, then each set's mean curve.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from suite import ACC, AFG, AFG_ARGS, afg_logits, load, recall_of, split_rows  # noqa: E402

SHIFTS = np.arange(-8, 9) * 0.125


def test_logits(d, seed, tmp):
    """The recommended command's classifier on `d`'s test rows: (logits, labels)."""
    clf = os.path.join(tmp, "c.h5")
    subprocess.run([AFG, "train", *AFG_ARGS["recommended"], "--train", f"{d}/train.h5", "--val", f"{d}/val.h5",
                    "--out", clf, "--seed", str(seed), "--quiet"], check=True, capture_output=True)
    xs, ys = load(f"{d}/test.h5")
    return afg_logits(clf, xs, tmp), ys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    args = ap.parse_args()
    zero = int(np.flatnonzero(SHIFTS == 0)[0])
    print("d:", " ".join(f"{d:+.3g}" for d in SHIFTS))
    for s in args.sets:
        curves = []
        for seed in args.seeds:
            d = os.path.join(ACC, s) if seed == 0 else os.path.join(ACC, s, f"seed{seed}")
            missing = [f for f in ("train.h5", "val.h5", "test.h5") if not os.path.isfile(os.path.join(d, f))]
            if missing:
                raise SystemExit(f"{d}: no {', '.join(missing)} (build_sets.py --sets {s} --seeds {seed})")
            _, y, _, _, c = split_rows(d)
            log_prior = np.log(np.bincount(y, minlength=c) / len(y))
            with tempfile.TemporaryDirectory() as tmp:
                logits, ys = test_logits(d, seed, tmp)
            curve = np.array([100 * np.mean(recall_of(np.argmax(logits - t * log_prior, 1), ys, c)) for t in SHIFTS])
            curves.append(curve - curve[zero])
            print(s, seed, " ".join(f"{v:+.2f}" for v in curves[-1]), flush=True)
        mean = np.mean(curves, 0)
        best = int(np.argmax(mean))
        print(f"{s} mean over {len(curves)} seeds:", " ".join(f"{v:+.2f}" for v in mean),
              f"(best d = {SHIFTS[best]:+g}: {mean[best]:+.2f})", flush=True)


if __name__ == "__main__":
    main()
