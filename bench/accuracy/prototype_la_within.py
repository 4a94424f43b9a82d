#!/usr/bin/env python3
"""Prototype: whitening signed rows by the within-class covariance before logit adjustment.

afg's recommended command fits the logit adjustment on signed rows twice, on the rows as
they are and on (x - mean) Sigma^(-1/4), Sigma the covariance of all rows, and keeps the
fit with the higher fold score (prototype_la_whiten.py, docs/RESULTS.md). The total
covariance holds the spread between class means as well as within classes, so it also
damps the directions that separate the classes. Whitening by the pooled within-class
covariance S_w instead penalises weights along the directions the rows of one class
scatter in (the prior behind Fisher's discriminant, whose weights are S_w^-1 times a
difference of means). Rules (each the logit adjustment of prototype_la_views.py on one
transform of train + val; S_w the Ledoit-Wolf covariance of the class-centred rows):

  std-ll            StandardScaler
  half-ll           Sigma^(-1/4) (afg's rule; as in prototype_la_whiten.py)
  within-quarter-ll S_w^(-1/4)
  within-half-ll    S_w^(-1/2)

`table` prints the folds' pick between std-ll and each within-class rule (the whitened fit
if its fold score is strictly above std-ll's) paired per seed against afg's pick between
std-ll and half-ll.

    python3 bench/accuracy/prototype_la_within.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_within.py table --seeds 0 … 9 --held-out 46 … 55

One JSON per (set, seed) under $ACC_DIR/la-within/. std-ll and half-ll are taken from
$ACC_DIR/la-whiten/ or la-power/ when those prototypes ran on the (set, seed).
"""
import os, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_whiten import adjusted, earlier_fits, pick, pick_main, picks_table  # noqa: E402

RULES = ["std-ll", "half-ll", "within-quarter-ll", "within-half-ll"]
WITHIN = {"within-quarter-ll": 0.25, "within-half-ll": 0.5}
SETS = ("perl-pod", "python-docs", "fortunes", "debian-sections")


def within_whitening(x, y, power):
    """(mean, M) with M = S_w^(-power), S_w the Ledoit-Wolf covariance of the rows of x
    centred on their class means."""
    from sklearn.covariance import LedoitWolf
    means = np.stack([x[y == k].mean(0) for k in range(y.max() + 1)])
    lw = LedoitWolf(assume_centered=True).fit(x - means[y])
    vals, vecs = np.linalg.eigh(lw.covariance_)
    return x.mean(0), (vecs * vals ** -power) @ vecs.T


def run_one(d, seed):
    t0 = time.time()
    res = earlier_fits(d, seed)
    for rule, power in WITHIN.items():
        res[rule] = adjusted(d, seed, power, within_whitening)
    res["seconds"] = time.time() - t0
    return res


def table(sets, seeds, label):
    """The pick with each within-class rule minus afg's pick; how often each whitened fit was picked."""
    picks_table("la-within", sets, seeds, label + " (the pick with the within-class rule minus the pick with half-ll)",
                {"S_w^(-1/4)": lambda r: (pick(r, "std-ll", "within-quarter-ll"), pick(r, "std-ll", "half-ll")),
                 "S_w^(-1/2)": lambda r: (pick(r, "std-ll", "within-half-ll"), pick(r, "std-ll", "half-ll"))},
                ("picked half-ll, S_w^(-1/4), S_w^(-1/2)", {q: (lambda r, q=q: pick(r, "std-ll", q) is r[q])
                                                            for q in ("half-ll", *WITHIN)}))


if __name__ == "__main__":
    pick_main(__doc__, "la-within", run_one, RULES, table, SETS)
