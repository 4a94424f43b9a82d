#!/usr/bin/env python3
"""Prototype: the folds' pick between the two logit adjustments by held-out log-loss.

afg's recommended command fits the logit adjustment on signed rows twice, on the rows as
they are and on (x - mean) Sigma^(-1/4), and keeps the fit whose held-out mean per-class
recall (at its own C and tau) is higher (prototype_la_whiten.py). That score moved with a
half-decade step of C on two sets (prototype_la_grid.py). This picks instead by the
criterion each fit's C was read from: the out-of-fold log-loss at that C, the lower one
(the rows as they are on ties). The fits are prototype_la_whiten.py's (std-ll, half-ll),
fitted again here so that each record carries its log-loss (`ll`).

    python3 bench/accuracy/prototype_la_llpick.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_llpick.py table --seeds 0 … 9

One JSON per (set, seed) under $ACC_DIR/la-llpick/.
"""
import os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_whiten import adjusted, pick, pick_main, picks_table  # noqa: E402

RULES = ["std-ll", "half-ll"]
SETS = ("perl-pod", "python-docs", "fortunes", "debian-sections")


def run_one(d, seed):
    t0 = time.time()
    res = {"std-ll": adjusted(d, seed, None), "half-ll": adjusted(d, seed, 0.25)}
    res["seconds"] = time.time() - t0
    return res


def by_log_loss(r):
    """half-ll if its held-out log-loss is strictly lower, else std-ll."""
    return r["half-ll"] if r["half-ll"]["ll"] < r["std-ll"]["ll"] else r["std-ll"]


def table(sets, seeds, label):
    """The pick by log-loss minus afg's pick by held-out recall; how often each picks half-ll."""
    picks_table("la-llpick", sets, seeds, label + " (the pick by log-loss minus the pick by held-out recall)",
                {"log-loss − recall": lambda r: (by_log_loss(r), pick(r, "std-ll", "half-ll"))},
                ("half-ll picked: log-loss, recall", {"ll": lambda r: by_log_loss(r) is r["half-ll"],
                                                      "recall": lambda r: pick(r, "std-ll", "half-ll") is r["half-ll"]}))


if __name__ == "__main__":
    pick_main(__doc__, "la-llpick", run_one, RULES, table, SETS)
