#!/usr/bin/env python3
"""Prototype: a generative head beside logit adjustment, no extra choice (issue 30).

With one to three training rows per Few class a discriminative fit is at its weakest and a
generative one at its strongest (a class mean and one pooled covariance need few rows per
class). On the suite's sets, with the suite's own folds and scaling:

  la        the suite's sk-la: unweighted LogisticRegressionCV (StandardScaler, the suite's
            folds), C and tau jointly by fold balanced accuracy, refitted on train + val
  lda       linear discriminant analysis with one pooled covariance, Ledoit-Wolf shrinkage
            (no choice: the shrinkage is in closed form) and a uniform prior, so its rule is
            balanced by construction
  la+lda    the mean of la's adjusted log-probabilities and lda's log-posteriors, 1 : 1
  cl2n-la   la's cross-validation and refit on rows centred by the train + val mean and
            scaled to unit length (the few-shot "CL2N" transform for signed embeddings)
            instead of StandardScaler

    python3 bench/accuracy/prototype_generative.py run --sets python-docs --seeds 0 1
    python3 bench/accuracy/prototype_generative.py table --seeds 0 1 2 3 4 --held-out 5 6

One JSON per (set, seed) under $ACC_DIR/generative/; `table` pairs each rule with la and
with the suite's bar (the best of sk-lrcv, sk-la, sk-la-ll by mean over the seeds tabled).
"""
import os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import main_for  # noqa: E402
from prototype_la_ensemble import log_softmax  # noqa: E402
from suite import CS, TAUS, groups, load, logit_adjust_cv, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "lda", "la+lda", "cl2n-la"]


def adjusted(z, y, c, seed, zs):
    """la's log-probabilities on `zs` from its joint (C, tau) choice on rows `z`."""
    from sklearn.linear_model import LogisticRegression
    _, _, ba, _ = logit_adjust_cv(z, y, c, seed)
    j, t = np.unravel_index(np.argmax(ba.mean(0)), ba.shape[1:])
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    fit = LogisticRegression(C=CS[j], max_iter=3000).fit(z, y)
    return log_softmax(fit.decision_function(zs) - TAUS[t] * logp), float(CS[j]), float(TAUS[t])


def cl2n(x, centre):
    v = x - centre
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def run_one(d, seed):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    la, C, tau = adjusted(z, y, c, seed, zs)
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=np.full(c, 1 / c)).fit(z, y)
    lg = lda.predict_log_proba(zs)
    mu = x.mean(0)
    cl, C2, tau2 = adjusted(cl2n(x, mu), y, c, seed, cl2n(xs, mu))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    res = {}
    for rule, s in (("la", la), ("lda", lg), ("la+lda", (la + lg) / 2), ("cl2n-la", cl)):
        p = np.argmax(s, 1)
        recall = recall_of(p, ys, c)
        res[rule] = {"overall": 100 * float(np.mean(p == ys)), "few": 100 * float(np.mean(recall[few]))}
    res["C"] = C; res["tau"] = tau; res["cl2n_C"] = C2; res["cl2n_tau"] = tau2
    res["seconds"] = time.time() - t0
    return res


if __name__ == "__main__":
    main_for(__doc__, "generative", run_one, RULES, "la")
