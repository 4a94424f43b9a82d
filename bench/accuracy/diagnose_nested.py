#!/usr/bin/env python3
"""Diagnostic: is the folds' view of logit adjustment against the class-weighted regression
inflated by the choice the folds make?

sk-la chooses C and tau jointly among 9 x 9 grid points by the same fold scores it then
reports; sk-lrcv chooses C among 9. The larger choice could inflate logit adjustment's fold
score more (a winner's curse), which would explain a set (fortunes) where the folds favour
it and the test split does not. Per seed, logit adjustment minus the class-weighted
regression (mean per-class recall, points):

  cv      each at its own argmax of the fold means (what a pick reads)
  tt      each corrected by Tibshirani & Tibshirani (2009): minus the mean over folds of
          (the fold's best grid score - its score at the chosen grid point)
  nested  an outer 5-fold split (seed 10000 + seed); on each outer training part the inner
          CV above chooses, the refit is scored on the outer held-out rows
  test    the suite's sk-la minus sk-lrcv on the test split

    ACC_DIR=/tmp/afg-accuracy python3 bench/accuracy/diagnose_nested.py fortunes 0 1 2

Prints one JSON line per seed; reads the suite's split files and its sk-la / sk-lrcv runs.
"""
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suite
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import balanced_accuracy_score as bacc
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

CS, TAUS = suite.CS, suite.TAUS


def la_cv(z, y, c, seed):
    """sk-la's choice: (fold-mean score at the argmax, mean per-fold regret, (j, t))."""
    _, _, ba, _ = suite.logit_adjust_cv(z, y, c, seed)      # folds x Cs x taus
    m = ba.mean(0)
    j, t = np.unravel_index(np.argmax(m), m.shape)
    return m[j, t], np.mean([f.max() - f[j, t] for f in ba]), (j, t)


def lr_cv(z, y, seed):
    """sk-lrcv's choice, the same three."""
    lr = LogisticRegressionCV(Cs=CS, cv=StratifiedKFold(5, shuffle=True, random_state=seed), class_weight="balanced",
                              scoring="balanced_accuracy", max_iter=3000, refit=False).fit(z, y)
    sc = lr.scores_[lr.classes_[0]]                          # folds x Cs
    m = sc.mean(0)
    j = int(np.argmax(m))
    return m[j], np.mean([f.max() - f[j] for f in sc]), j


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.split("\n\n")[-2])
    s = sys.argv[1]
    for seed in [int(v) for v in sys.argv[2:]]:
        x, y, _, _, c = suite.split_rows(suite.set_dir(suite.ACC, s, seed))
        z = StandardScaler().fit(x).transform(x)
        a, ra, _ = la_cv(z, y, c, seed)
        b, rb, _ = lr_cv(z, y, seed)
        na, nb = [], []
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=10_000 + seed).split(x, y):
            sc = StandardScaler().fit(x[tr])
            zt, ze = sc.transform(x[tr]), sc.transform(x[te])
            _, _, (j, t) = la_cv(zt, y[tr], c, seed)
            logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
            fit = LogisticRegression(C=CS[j], max_iter=3000).fit(zt, y[tr])
            na.append(bacc(y[te], np.argmax(fit.decision_function(ze) - TAUS[t] * logp, 1)))
            _, _, k = lr_cv(zt, y[tr], seed)
            nb.append(bacc(y[te], LogisticRegression(C=CS[k], max_iter=3000, class_weight="balanced").fit(zt, y[tr]).predict(ze)))
        runs = {m: json.load(open(f"{suite.ACC}/suite/{s}.seed{seed}.{m}.json")) for m in ("sk-la", "sk-lrcv")}
        print(json.dumps({"set": s, "seed": seed, "cv": round(100 * (a - b), 2), "tt": round(100 * ((a - ra) - (b - rb)), 2),
                          "nested": round(100 * (np.mean(na) - np.mean(nb)), 2),
                          "test": round(runs["sk-la"]["overall"] - runs["sk-lrcv"]["overall"], 2)}), flush=True)


if __name__ == "__main__":
    main()
