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
import argparse, json, os, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import run_all  # noqa: E402
from prototype_la_whiten import adjusted  # noqa: E402
from suite import ACC  # noqa: E402

POWERS = {"std-ll": None, "eighth-ll": 0.125, "half-ll": 0.25, "three-eighths-ll": 0.375}
RULES = list(POWERS)
SETS = ("perl-pod", "python-docs", "fortunes", "debian-sections")


def run_one(d, seed):
    t0 = time.time()
    name = os.path.relpath(d, ACC).split(os.sep)[0]      # build_sets.set_dir: ACC/name[/seedN]
    earlier = f"{ACC}/la-whiten/{name}.seed{seed}.json"
    res = {}
    if os.path.exists(earlier):
        with open(earlier) as f:
            old = json.load(f)
        res = {k: old[k] for k in ("std-ll", "half-ll")}
    for rule, power in POWERS.items():
        if rule not in res:
            res[rule] = adjusted(d, seed, power)
    res["seconds"] = time.time() - t0
    return res


def pick(r, rule):
    """The folds' pick between std-ll and `rule` (std-ll on ties)."""
    return r[rule] if r[rule]["cv"] > r["std-ll"]["cv"] else r["std-ll"]


def table(sets, seeds, label):
    print(f"\n{label}: pick at p minus pick at 1/4, overall (Few), W/T/L over seeds; "
          f"how often the whitened fit was picked\n")
    print("| set | p = 1/8 | p = 3/8 | picked 1/8, 1/4, 3/8 |")
    print("|---|---|---|---|")
    means = {"eighth-ll": [], "three-eighths-ll": []}
    for name in sets:
        runs = []
        for s in seeds:
            p = f"{ACC}/la-power/{name}.seed{s}.json"
            if os.path.exists(p):
                with open(p) as f:
                    runs.append(json.load(f))
        if not runs:
            continue
        cells = []
        for rule in means:
            d = np.array([pick(r, rule)["overall"] - pick(r, "half-ll")["overall"] for r in runs])
            fw = np.mean([pick(r, rule)["few"] - pick(r, "half-ll")["few"] for r in runs])
            w, t, l = int((d > 1e-9).sum()), int((abs(d) <= 1e-9).sum()), int((d < -1e-9).sum())
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append(f"{d.mean():+.2f} ± {se:.2f} ({fw:+.2f}), {w}/{t}/{l}")
            means[rule].append(d.mean())
        picked = ", ".join(str(sum(pick(r, q) is r[q] for r in runs)) for q in ("eighth-ll", "half-ll", "three-eighths-ll"))
        print(f"| {name} ({len(runs)} seeds) | {cells[0]} | {cells[1]} | {picked} |")
    print(f"| mean over sets | {np.mean(means['eighth-ll']):+.2f} | {np.mean(means['three-eighths-ll']):+.2f} | |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=list(SETS))
    ap.add_argument("--seeds", nargs="*", type=int, default=list(range(10)))
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    if args.what == "run":
        run_all("la-power", args, run_one, RULES)
    else:
        table(args.sets, args.seeds, "judged seeds " + " ".join(map(str, args.seeds)))
        if args.held_out:
            table(args.sets, args.held_out, "held-out seeds " + " ".join(map(str, args.held_out)))
