#!/usr/bin/env python3
"""Prototype: whitening signed rows before logit adjustment (issue 30).

Sentence embeddings are anisotropic: a few directions carry most of the variance, and an
L2 penalty on the weights of StandardScaler rows treats a direction by its features' own
scales, not by how much the rows vary along it. Whitening by the rows' covariance makes the
penalty isotropic in the rows' own geometry (a Mahalanobis ridge); Ledoit-Wolf shrinkage
keeps it finite in the directions 2,000-6,000 rows barely see. Each rule is the
logit adjustment of prototype_la_views.py (the suite's folds, CS_HERE, C by the CV's
log-loss, tau by balanced accuracy at that C) on one transform of train + val:

  std-ll    StandardScaler (the suite's sk-la-ll)
  white-ll  (x - mean) Sigma^(-1/2), Sigma the Ledoit-Wolf covariance of train + val
  half-ll   (x - mean) Sigma^(-1/4): half way between the two

    python3 bench/accuracy/prototype_la_whiten.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_whiten.py table --seeds 0 … 9 --held-out 16 … 25

One JSON per (set, seed) under $ACC_DIR/la-whiten/; `table` pairs every rule with `std-ll`
and with the suite's bar (prototype_la_choice.paired_table).
"""
import os, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import main_for  # noqa: E402
from prototype_la_views import CHOSEN, CS_HERE, best_tau, scored, view  # noqa: E402
from suite import TAUS, groups, load, split_rows  # noqa: E402

RULES = ["std-ll", "white-ll", "half-ll"]


def whitening(x, power):
    """(mean, M) with M = Sigma^(-power), Sigma the Ledoit-Wolf covariance of x's rows."""
    from sklearn.covariance import LedoitWolf
    lw = LedoitWolf().fit(x)
    vals, vecs = np.linalg.eigh(lw.covariance_)
    return lw.location_, (vecs * vals ** -power) @ vecs.T


def adjusted(d, seed, power, transform=None):
    """One rule's record: the logit adjustment on train + val's StandardScaler rows (`power`
    None) or on (x - mean) M, scored on the test rows; (mean, M) = transform(x, y, power),
    by default Sigma^(-power) of all rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    if power is None:
        sc = StandardScaler().fit(x)
        z, zs = sc.transform(x), sc.transform(xs)
    else:
        m, w = transform(x, y, power) if transform else whitening(x, power)
        z, zs = (x - m) @ w, (xs - m) @ w
    j, oof = view(z, y, c, cv)
    t, score = best_tau(oof, y, c, cv)
    fit = LogisticRegression(C=CS_HERE[j], max_iter=3000).fit(z, y)
    return scored(np.argmax(fit.decision_function(zs) - TAUS[t] * logp, 1), ys, c, few,
                  C=float(CS_HERE[j]), tau=float(TAUS[t]), cv=score)


def run_one(d, seed):
    t0 = time.time()
    res = {name: adjusted(d, seed, {"std-ll": None, "white-ll": 0.5, "half-ll": 0.25}[name]) for name in RULES}
    res["seconds"] = time.time() - t0
    return res


if __name__ == "__main__":
    main_for(__doc__, "la-whiten", run_one, RULES, "std-ll", CHOSEN,
             sets=("perl-pod", "python-docs", "fortunes", "debian-sections"))
