#!/usr/bin/env python3
"""Prototype: which power of the covariance to whiten signed rows by, under the folds' pick.

afg's recommended command fits the logit adjustment on signed rows twice, on the rows as
they are and on (x - mean) Sigma^(-1/4), and keeps the fit with the higher fold score
(prototype_la_whiten.py, docs/RESULTS.md). This asks whether another power does better in
that pick. Rules (each the logit adjustment of prototype_la_views.py on one transform of
train + val; Sigma the Ledoit-Wolf covariance of train + val):

  std-ll            StandardScaler
  eighth-ll         Sigma^(-1/8)
  half-ll           Sigma^(-1/4) (afg's power; named as in prototype_la_whiten.py)
  three-eighths-ll  Sigma^(-3/8)

`table` prints the pick for each power (the whitened fit if its fold score is strictly
above std-ll's, else std-ll) paired per seed against the pick at 1/4.

    python3 bench/accuracy/prototype_la_power.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_power.py table --seeds 0 … 9 --held-out 36 … 45

One JSON per (set, seed) under $ACC_DIR/la-power/. std-ll and half-ll are the same
computation as prototype_la_whiten.py's and are taken from $ACC_DIR/la-whiten/ when that
prototype ran on the (set, seed).
"""
import os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_whiten import adjusted, earlier_fits, pick, pick_main, picks_table  # noqa: E402

POWERS = {"eighth-ll": 0.125, "three-eighths-ll": 0.375}
RULES = ["std-ll", "eighth-ll", "half-ll", "three-eighths-ll"]
SETS = ("perl-pod", "python-docs", "fortunes", "debian-sections")


def run_one(d, seed):
    t0 = time.time()
    res = earlier_fits(d, seed)
    for rule, power in POWERS.items():
        res[rule] = adjusted(d, seed, power)
    res["seconds"] = time.time() - t0
    return res


def table(sets, seeds, label):
    """The pick at p minus the pick at 1/4; how often each whitened fit was picked."""
    picks_table("la-power", sets, seeds, label + " (the pick at p minus the pick at 1/4)",
                {"p = 1/8": lambda r: (pick(r, "std-ll", "eighth-ll"), pick(r, "std-ll", "half-ll")),
                 "p = 3/8": lambda r: (pick(r, "std-ll", "three-eighths-ll"), pick(r, "std-ll", "half-ll"))},
                ("picked 1/8, 1/4, 3/8", {q: (lambda r, q=q: pick(r, "std-ll", q) is r[q])
                                          for q in ("eighth-ll", "half-ll", "three-eighths-ll")}))


if __name__ == "__main__":
    pick_main(__doc__, "la-power", run_one, RULES, table, SETS)
