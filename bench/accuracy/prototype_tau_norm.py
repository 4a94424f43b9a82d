#!/usr/bin/env python3
"""Prototype: τ-normalisation of an unweighted regression against logit adjustment (issue 30).

The oracle of oracle_shift.py found nothing left in a further additive shift of the logits:
what remains of the gap is in the weights. τ-normalisation (Kang et al., ICLR 2020, the
classifier-balancing code) rescales each class's weight row instead, w_c / ||w_c||^p (and its
bias with it), so classes whose rows the imbalance left short gain reach multiplicatively.
Every rule reads one 5-fold CV of an unweighted multinomial regression (StandardScaler on
train + val, the suite's StratifiedKFold(5, shuffle=True, random_state=seed), scoring
log-loss, no refit) over CS_HERE, the suite's grid without its largest C, which no signed
set has chosen and which are the expensive fits; then one refit at the chosen C:

  la       C and tau jointly by the mean fold balanced accuracy (the suite's sk-la)
  la-ll    C by the CV's log-loss, tau by balanced accuracy at that C (sk-la-ll)
  tn       C and p jointly by balanced accuracy, p in {0, 0.25, ..., 2}
  tn-ll    C by log-loss, p by balanced accuracy at that C
  tnla-ll  C by log-loss, then p and tau jointly by balanced accuracy (both corrections)

    python3 bench/accuracy/prototype_tau_norm.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_tau_norm.py table --seeds 0 … 12 --held-out 13 … 19

One JSON per (set, seed) under $ACC_DIR/tau-norm/; `table` pairs every rule with `la` and
with the suite's bar (prototype_la_choice.paired_table).
"""
import os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from prototype_la_choice import main_for  # noqa: E402
from suite import CS, TAUS, groups, load, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "la-ll", "tn", "tn-ll", "tnla-ll"]
CS_HERE = CS[:7]                                  # 1e-4 … 1e2
PS = np.arange(9) * 0.25


def normalised(w, p):
    """Logit weights (classes x (D+1), intercept last) with every row divided by the p-th
    power of its weight norm (zero rows kept)."""
    n = np.linalg.norm(w[:, :-1], axis=1)
    n[n == 0] = 1
    return w / n[:, None] ** p


def scored(pred, ys, c, few, **choice):
    """One rule's JSON record: its choices, test overall and Few recall (%) and predictions."""
    recall = recall_of(pred, ys, c)
    return {**choice, "overall": 100 * float(np.mean(pred == ys)), "few": 100 * float(np.mean(recall[few])),
            "pred": pred.tolist()}


def unweighted_cv(d, seed):
    """The CV both weight prototypes start from: StandardScaler on train + val, one unweighted
    LogisticRegressionCV over CS_HERE on the suite's folds (scoring log-loss, no refit).
    Returns (y, ys, c, z, zs, cv, mean log-loss score per C, fold weights as
    classes x folds x Cs x (D+1))."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    lr = LogisticRegressionCV(Cs=CS_HERE, cv=cv, scoring="neg_log_loss", max_iter=3000, refit=False).fit(z, y)
    ll = np.mean(lr.scores_[lr.classes_[0]], axis=0)
    return y, ys, c, z, zs, cv, ll, np.stack([lr.coefs_paths_[k] for k in lr.classes_])


def run_one(d, seed):
    from sklearn.linear_model import LogisticRegression
    t0 = time.time()
    y, ys, c, z, zs, cv, ll, paths = unweighted_cv(d, seed)
    ba = np.zeros((5, len(CS_HERE), len(PS), len(TAUS)))              # folds x C x p x tau
    for f, (tr, te) in enumerate(cv.split(z, y)):
        logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        ze = np.hstack([z[te], np.ones((len(te), 1))])
        for j in range(len(CS_HERE)):
            for q, p in enumerate(PS):
                logits = ze @ normalised(paths[:, f, j], p).T
                for t, tau in enumerate(TAUS):
                    ba[f, j, q, t] = balanced_accuracy_score(y[te], np.argmax(logits - tau * logp, 1))
    m = ba.mean(0)
    picks = {}
    j, t = np.unravel_index(np.argmax(m[:, 0, :]), m[:, 0, :].shape); picks["la"] = (j, 0, t)
    jl = int(np.argmax(ll))
    picks["la-ll"] = (jl, 0, int(np.argmax(m[jl, 0, :])))
    j, q = np.unravel_index(np.argmax(m[:, :, 0]), m[:, :, 0].shape); picks["tn"] = (j, q, 0)
    picks["tn-ll"] = (jl, int(np.argmax(m[jl, :, 0])), 0)
    q, t = np.unravel_index(np.argmax(m[jl]), m[jl].shape); picks["tnla-ll"] = (jl, q, t)
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    fits, res = {}, {}
    zse = np.hstack([zs, np.ones((len(zs), 1))])
    for rule, (j, q, t) in picks.items():
        j, q, t = int(j), int(q), int(t)
        if j not in fits:
            fit = LogisticRegression(C=CS_HERE[j], max_iter=3000).fit(z, y)
            fits[j] = np.hstack([fit.coef_, fit.intercept_[:, None]])
        pred = np.argmax(zse @ normalised(fits[j], PS[q]).T - TAUS[t] * logp, 1)
        res[rule] = scored(pred, ys, c, few, C=float(CS_HERE[j]), p=float(PS[q]), tau=float(TAUS[t]), cv=float(m[j, q, t]))
    res["seconds"] = time.time() - t0
    return res


CHOSEN = ("C/p/τ chosen", lambda a: " ".join(f"{x['C']:g}/{x['p']:g}/{x['tau']:g}" for x in a))

if __name__ == "__main__":
    main_for(__doc__, "tau-norm", run_one, RULES, "la", CHOSEN, sets=("perl-pod", "python-docs", "fortunes", "debian-sections"))
