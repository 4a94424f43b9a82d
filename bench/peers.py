#!/usr/bin/env python3
"""The Python peers a user would reach for, on the same HDF5 features as `afg`.

    python3 bench/peers.py --train train.h5 --val val.h5 --test test.h5 \
        [--tukey 0.5] [--seeds 0 1 2] [--many 1000 --few 200] [--json out.json]

Methods (hyper-parameters chosen on the validation split by mean per-class recall;
the test split is scored once per reported number):
  lr-balanced   scikit-learn LogisticRegression(class_weight="balanced"), C from a grid
  smote-lr      imbalanced-learn SMOTE, then LogisticRegression (same C grid)
  tailcalib-lr  the `tailcalib` package's generator (numpy engine), then LogisticRegression

Needs h5py, scikit-learn, imbalanced-learn, tailcalib (`make results` installs them in
.venv-bench). Prints one JSON object per method and seed.
"""
import argparse, json, sys, time, io, contextlib
import numpy as np
import h5py


def load(path, fkey="features", lkey="labels"):
    with h5py.File(path, "r") as f:
        return np.asarray(f[fkey], dtype=np.float32), np.asarray(f[lkey]).astype(np.int64)


def tukey(x, lam):
    if lam is None:
        return x
    if lam == 0:
        return np.log(x)
    return np.power(np.maximum(x, 0), lam)


def scores(y_true, y_pred, train_counts, many, few):
    C = len(train_counts)
    per_class = np.array([np.mean(y_pred[y_true == c] == c) if np.any(y_true == c) else np.nan for c in range(C)])
    def group(mask):
        sel = np.isin(y_true, np.where(mask)[0])
        return float(np.mean(y_pred[sel] == y_true[sel]) * 100) if sel.any() else None
    return {
        "overall": float(np.mean(y_pred == y_true) * 100),
        "many": group(train_counts >= many),
        "medium": group((train_counts < many) & (train_counts >= few)),
        "few": group(train_counts < few),
        "mean_recall": float(np.nanmean(per_class) * 100),
        "per_class": [float(a * 100) for a in per_class],
    }


def mean_recall(y_true, y_pred):
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def fit_lr(x, y, C, class_weight=None, seed=0):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=C, class_weight=class_weight, max_iter=1000, tol=1e-4,
                              random_state=seed).fit(x, y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True); ap.add_argument("--val", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--tukey", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--many", type=int, default=1000); ap.add_argument("--few", type=int, default=200)
    ap.add_argument("--methods", nargs="+", default=["lr-balanced", "smote-lr", "tailcalib-lr"])
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    xtr, ytr = load(a.train); xva, yva = load(a.val); xte, yte = load(a.test)
    C = int(max(ytr.max(), yva.max(), yte.max()) + 1)
    counts = np.bincount(ytr, minlength=C)
    lam = a.tukey
    ttr, tva, tte = tukey(xtr, lam), tukey(xva, lam), tukey(xte, lam)
    grid = [0.01, 0.1, 1.0, 10.0]
    results = []

    def report(method, seed, params, val, clf, seconds):
        r = {"method": method, "seed": seed, "params": params, "val_mean_recall": val * 100,
             "seconds": seconds, **scores(yte, clf.predict(tte), counts, a.many, a.few)}
        results.append(r); print(json.dumps(r), flush=True)

    for seed in a.seeds:
        if "lr-balanced" in a.methods:
            t0 = time.time(); best = None
            for c in grid:
                clf = fit_lr(ttr, ytr, c, "balanced", seed)
                v = mean_recall(yva, clf.predict(tva))
                if best is None or v > best[0]: best = (v, c, clf)
            report("lr-balanced", seed, {"C": best[1]}, best[0], best[2], time.time() - t0)
        if "smote-lr" in a.methods:
            from imblearn.over_sampling import SMOTE
            t0 = time.time(); best = None
            xs, ys = SMOTE(random_state=seed, k_neighbors=min(5, counts.min() - 1)).fit_resample(ttr, ytr)
            for c in grid:
                clf = fit_lr(xs, ys, c, None, seed)
                v = mean_recall(yva, clf.predict(tva))
                if best is None or v > best[0]: best = (v, c, clf)
            report("smote-lr", seed, {"C": best[1]}, best[0], best[2], time.time() - t0)
        if "tailcalib-lr" in a.methods:
            from tailcalib import tailcalib
            t0 = time.time(); best = None
            np.random.seed(seed)
            for alpha in [0.0, 0.1]:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    xg, yg, _ = tailcalib(base_engine="numpy").generate(
                        X=xtr.astype(np.float64), y=ytr, tukey_value=lam, alpha=alpha, topk=2)
                for c in grid:
                    clf = fit_lr(xg, yg, c, None, seed)
                    v = mean_recall(yva, clf.predict(tva))
                    if best is None or v > best[0]: best = (v, {"C": c, "alpha": alpha}, clf)
            report("tailcalib-lr", seed, best[1], best[0], best[2], time.time() - t0)

    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
