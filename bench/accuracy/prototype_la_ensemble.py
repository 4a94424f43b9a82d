#!/usr/bin/env python3
"""Prototype: logit adjustment combined with other linear classifiers, no extra choice
(issue 30). On the suite's sets, with the suite's own fits:

  la        the suite's sk-la: unweighted LogisticRegressionCV (StandardScaler, the suite's
            folds), C and tau jointly by fold balanced accuracy, refitted on train + val
  la-bag    the same C and tau, predicting with the mean of the five fold models' adjusted
            log-probabilities instead of the refit (each fold model saw 80 % of the rows)
  la+lr     the mean of la's adjusted log-probabilities and those of the suite's sk-lrcv
            (class-weighted LogisticRegressionCV, C by balanced accuracy), weights 1 : 1
  la+bag+lr the three above averaged

    python3 bench/accuracy/prototype_la_ensemble.py run --sets python-docs --seeds 0 1
    python3 bench/accuracy/prototype_la_ensemble.py table --seeds 0 1 2 3 4 --held-out 5 6

One JSON per (set, seed) under $ACC_DIR/la-ensemble/; `table` pairs each with la and with
the suite's bar (the best of sk-lrcv, sk-la, sk-la-ll by mean over the seeds tabled).
"""
import os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import main_for  # noqa: E402
from suite import CS, TAUS, groups, load, logit_adjust_cv, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "la-bag", "la+lr", "la+bag+lr"]


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def run_one(d, seed):
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    cv, lr, ba, _ = logit_adjust_cv(z, y, c, seed)
    j, t = np.unravel_index(np.argmax(ba.mean(0)), ba.shape[1:])
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    la = log_softmax(LogisticRegression(C=CS[j], max_iter=3000).fit(z, y).decision_function(zs) - TAUS[t] * logp)
    paths = np.stack([lr.coefs_paths_[k] for k in lr.classes_])      # classes x folds x Cs x (D+1)
    bag = np.zeros_like(la)
    for f, (tr, _) in enumerate(cv.split(z, y)):
        w = paths[:, f, j]
        fold_logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        bag += log_softmax(zs @ w[:, :-1].T + w[:, -1] - TAUS[t] * fold_logp) / cv.n_splits
    lrcv = LogisticRegressionCV(Cs=CS, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                                class_weight="balanced", scoring="balanced_accuracy", max_iter=3000).fit(z, y)
    lw = log_softmax(lrcv.decision_function(zs))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    res = {}
    for rule, s in (("la", la), ("la-bag", bag), ("la+lr", (la + lw) / 2), ("la+bag+lr", (la + bag + lw) / 3)):
        p = np.argmax(s, 1)
        recall = recall_of(p, ys, c)
        res[rule] = {"overall": 100 * float(np.mean(p == ys)), "few": 100 * float(np.mean(recall[few]))}
    res["C"] = float(CS[j]); res["tau"] = float(TAUS[t]); res["lr_C"] = float(lrcv.C_[0])
    res["seconds"] = time.time() - t0
    return res


if __name__ == "__main__":
    main_for(__doc__, "la-ensemble", run_one, RULES, "la")
