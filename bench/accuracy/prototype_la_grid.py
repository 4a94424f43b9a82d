#!/usr/bin/env python3
"""Prototype: a finer C grid under the folds' pick between the two logit adjustments.

afg's recommended command stands on the logit adjustment for signed rows, fitted on the
rows as they are and on (x - mean) Sigma^(-1/4), the fit with the higher fold score kept
(prototype_la_whiten.py). Each fit reads C from the CV's held-out log-loss on a decade
grid, so the C it uses can be up to a factor of sqrt(10) from the log-loss's least point.
This asks whether half decades move the pick's test accuracy. Rules (each the logit
adjustment of prototype_la_views.py on one transform of train + val):

  std-ll        StandardScaler, decades 1e-4 ... 1e2 (7 points)
  half-ll       Sigma^(-1/4), the same grid (afg's whitened fit; as in prototype_la_whiten.py)
  std-ll-fine   StandardScaler, half decades 1e-4 ... 1e2 (13 points)
  half-ll-fine  Sigma^(-1/4), half decades

`table` prints the folds' pick on the fine grid minus the pick on the decade grid.

    python3 bench/accuracy/prototype_la_grid.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_grid.py table --seeds 0 … 9 --held-out 46 … 55

One JSON per (set, seed) under $ACC_DIR/la-grid/. std-ll and half-ll are taken from
$ACC_DIR/la-whiten/ or la-power/ when those prototypes ran on the (set, seed).
"""
import os, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_whiten import adjusted, earlier_fits, pick, pick_main, picks_table  # noqa: E402

RULES = ["std-ll", "half-ll", "std-ll-fine", "half-ll-fine"]
FINE = np.logspace(-4, 2, 13)
SETS = ("perl-pod", "python-docs", "fortunes", "debian-sections")


def run_one(d, seed):
    t0 = time.time()
    res = earlier_fits(d, seed)
    res["std-ll-fine"] = adjusted(d, seed, None, cs=FINE)
    res["half-ll-fine"] = adjusted(d, seed, 0.25, cs=FINE)
    res["seconds"] = time.time() - t0
    return res


def table(sets, seeds, label):
    """The pick on half decades minus the pick on decades; runs whose pick's C moved."""
    fine, decade = (lambda r: pick(r, "std-ll-fine", "half-ll-fine")), (lambda r: pick(r, "std-ll", "half-ll"))
    picks_table("la-grid", sets, seeds, label + " (the pick on half decades minus the pick on decades)",
                {"fine − decade": lambda r: (fine(r), decade(r))},
                ("C moved", {"moved": lambda r: fine(r)["C"] != decade(r)["C"]}))


if __name__ == "__main__":
    pick_main(__doc__, "la-grid", run_one, RULES, table, SETS)
