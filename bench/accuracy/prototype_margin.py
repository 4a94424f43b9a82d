#!/usr/bin/env python3
"""Prototype: label-dependent margins in the regression's loss against logit adjustment (issue 30).

A shift of every logit by tau * log prior inside the softmax is absorbed by a linear model's
free bias, so the logit-adjusted loss and the post-hoc shift give the same classifier here.
A margin that depends on the row's own label is not absorbed: the LDAM loss (Cao et al.,
NeurIPS 2019) subtracts Delta_y = m * (n_y / n_min)^(-1/4) from the true class's logit only,
so a tail class must win by more and its weight row grows where the data ask for it, not by
reweighting its few rows. Each rule here starts from the la-ll choice of C (the 5-fold CV
of the unweighted regression of prototype_tau_norm.unweighted_cv, C by log-loss), then fits
the margin loss at that C on the same folds for every m in MS (L2 on the weights, the bias
free, as scikit-learn's lbfgs; m = 0 is the CV's own fold fit; a first run used MS's first
four values, m <= 2):

  la-ll     C by log-loss, tau by balanced accuracy (the suite's sk-la-ll on this grid; m = 0)
  ldam      m by balanced accuracy, no shift
  ldam-la   m and tau jointly by balanced accuracy

    python3 bench/accuracy/prototype_margin.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_margin.py table --seeds 0 … 12 --held-out 13 … 19

One JSON per (set, seed) under $ACC_DIR/margin/; `table` pairs every rule with `la-ll` and
with the suite's bar (prototype_la_choice.paired_table).
"""
import os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from prototype_la_choice import main_for  # noqa: E402
from prototype_tau_norm import CS_HERE, scored, unweighted_cv  # noqa: E402
from suite import TAUS, groups, load  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la-ll", "ldam", "ldam-la"]
MS = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])


def fit_margin(z, y, c, C, delta, w0=None):
    """argmin over (W, b) of C * sum_i CE(softmax(W z_i + b - delta_{y_i} e_{y_i}), y_i)
    + |W|^2 / 2, by L-BFGS; returns classes x (D+1), intercept last."""
    from scipy.optimize import minimize
    n, dim = z.shape
    ze = np.hstack([z, np.ones((n, 1))])
    onehot = np.eye(c)[y]
    shift = onehot * delta[y][:, None]

    def f(theta):
        w = theta.reshape(c, dim + 1)
        s = ze @ w.T - shift
        s -= s.max(1, keepdims=True)
        p = np.exp(s); p /= p.sum(1, keepdims=True)
        loss = -np.sum(np.log(p[np.arange(n), y] + 1e-300))
        g = (p - onehot).T @ ze
        reg = w[:, :-1]
        val = C * loss + 0.5 * np.sum(reg * reg)
        g = C * g; g[:, :-1] += reg
        return val, g.ravel()

    x0 = np.zeros(c * (dim + 1)) if w0 is None else w0.ravel()
    r = minimize(f, x0, jac=True, method="L-BFGS-B", options={"maxiter": 3000, "gtol": 1e-6})
    return r.x.reshape(c, dim + 1)


def run_one(d, seed):
    t0 = time.time()
    y, ys, c, z, zs, cv, ll, paths = unweighted_cv(d, seed)
    jl = int(np.argmax(ll))
    C = CS_HERE[jl]
    ba = np.zeros((5, len(MS), len(TAUS)))
    for f, (tr, te) in enumerate(cv.split(z, y)):
        counts = np.bincount(y[tr], minlength=c)
        logp = np.log(counts / len(tr))
        base = (counts / counts.min()) ** -0.25
        ze = np.hstack([z[te], np.ones((len(te), 1))])
        w = paths[:, f, jl]                      # m = 0: the CV's own fold fit, then warm starts
        for q, m in enumerate(MS):
            if m > 0:
                w = fit_margin(z[tr], y[tr], c, C, m * base, w)
            logits = ze @ w.T
            for t, tau in enumerate(TAUS):
                ba[f, q, t] = balanced_accuracy_score(y[te], np.argmax(logits - tau * logp, 1))
    mb = ba.mean(0)
    picks = {"la-ll": (0, int(np.argmax(mb[0]))), "ldam": (int(np.argmax(mb[:, 0])), 0)}
    q, t = np.unravel_index(np.argmax(mb), mb.shape); picks["ldam-la"] = (int(q), int(t))
    counts = np.bincount(y, minlength=c)
    logp = np.log(counts / len(y))
    base = (counts / counts.min()) ** -0.25
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    zse = np.hstack([zs, np.ones((len(zs), 1))])
    fits, res = {}, {}
    for rule, (q, t) in picks.items():
        if q not in fits:
            fits[q] = zse @ fit_margin(z, y, c, C, MS[q] * base).T
        pred = np.argmax(fits[q] - TAUS[t] * logp, 1)
        res[rule] = scored(pred, ys, c, few, C=float(C), m=float(MS[q]), tau=float(TAUS[t]), cv=float(mb[q, t]))
    res["seconds"] = time.time() - t0
    return res


CHOSEN = ("C/m/τ chosen", lambda a: " ".join(f"{x['C']:g}/{x['m']:g}/{x['tau']:g}" for x in a))

if __name__ == "__main__":
    main_for(__doc__, "margin", run_one, RULES, "la-ll", CHOSEN, sets=("perl-pod", "python-docs", "fortunes", "debian-sections"))
