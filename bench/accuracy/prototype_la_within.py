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
import argparse, json, os, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import run_all  # noqa: E402
from prototype_la_whiten import adjusted  # noqa: E402
from suite import ACC  # noqa: E402

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
    name = os.path.relpath(d, ACC).split(os.sep)[0]      # build_sets.set_dir: ACC/name[/seedN]
    res = {}
    for earlier in ("la-whiten", "la-power"):
        p = f"{ACC}/{earlier}/{name}.seed{seed}.json"
        if not res and os.path.exists(p):
            with open(p) as f:
                old = json.load(f)
            res = {k: old[k] for k in ("std-ll", "half-ll")}
    if not res:
        res = {"std-ll": adjusted(d, seed, None), "half-ll": adjusted(d, seed, 0.25)}
    for rule, power in WITHIN.items():
        res[rule] = adjusted(d, seed, power, within_whitening)
    res["seconds"] = time.time() - t0
    return res


def pick(r, rule):
    """The folds' pick between std-ll and `rule` (std-ll on ties)."""
    return r[rule] if r[rule]["cv"] > r["std-ll"]["cv"] else r["std-ll"]


def table(sets, seeds, label):
    print(f"\n{label}: pick with the within-class rule minus pick with half-ll, overall ± SE "
          f"(Few), W/T/L over seeds; how often the whitened fit was picked\n")
    print("| set | S_w^(-1/4) | S_w^(-1/2) | picked half-ll, S_w^(-1/4), S_w^(-1/2) |")
    print("|---|---|---|---|")
    means = {rule: [] for rule in WITHIN}
    fews = {rule: [] for rule in WITHIN}
    for name in sets:
        runs = []
        for s in seeds:
            p = f"{ACC}/la-within/{name}.seed{s}.json"
            if os.path.exists(p):
                with open(p) as f:
                    runs.append(json.load(f))
        if not runs:
            continue
        cells = []
        for rule in WITHIN:
            d = np.array([pick(r, rule)["overall"] - pick(r, "half-ll")["overall"] for r in runs])
            fw = np.mean([pick(r, rule)["few"] - pick(r, "half-ll")["few"] for r in runs])
            w, t, l = int((d > 1e-9).sum()), int((abs(d) <= 1e-9).sum()), int((d < -1e-9).sum())
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append(f"{d.mean():+.2f} ± {se:.2f} ({fw:+.2f}), {w}/{t}/{l}")
            means[rule].append(d.mean())
            fews[rule].append(fw)
        picked = ", ".join(str(sum(pick(r, q) is r[q] for r in runs)) for q in ["half-ll", *WITHIN])
        print(f"| {name} ({len(runs)} seeds) | {cells[0]} | {cells[1]} | {picked} |")
    print("| mean over sets | " + " | ".join(f"{np.mean(means[r]):+.2f} ({np.mean(fews[r]):+.2f})"
                                           for r in WITHIN) + " | |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=list(SETS))
    ap.add_argument("--seeds", nargs="*", type=int, default=list(range(10)))
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    if args.what == "run":
        run_all("la-within", args, run_one, RULES)
    else:
        table(args.sets, args.seeds, "judged seeds " + " ".join(map(str, args.seeds)))
        if args.held_out:
            table(args.sets, args.held_out, "held-out seeds " + " ".join(map(str, args.held_out)))
