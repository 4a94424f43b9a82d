#!/usr/bin/env python3
"""Prototype: logit adjustment over a partially class-weighted regression (issue 30).

The suite's two kinds of peer sit at the two ends of one family: rows weighted by
n_c^(-gamma) (normalised to mean 1), then a post-hoc shift argmax(logits - tau * log prior).
gamma = 0 with tau by CV is logit adjustment (sk-la), gamma = 1 with tau = 0 the
class-weighted regression (sk-lrcv). On the signed sentence-embedding sets the bar is the
one end on some sets (perl-pod: logit adjustment) and the other on others (fortunes: the
class-weighted regression). This asks whether the middle of the family, square-root
weighting (gamma = 1/2, the square-root sampling of long-tail work) with tau by CV, is at
least as good as the better end everywhere, with no per-set choice:

  la       gamma = 0: C and tau jointly by the mean fold balanced accuracy (the suite's sk-la)
  la-ll    gamma = 0: C by the CV's log-loss, then tau (sk-la-ll)
  lrcv     gamma = 1, tau = 0: C by balanced accuracy (sk-lrcv's choice on the same folds)
  half     gamma = 1/2: C and tau jointly by balanced accuracy
  half-ll  gamma = 1/2: C by the CV's (weighted) log-loss, then tau
  sel      of la, half and lrcv, the one with the best CV balanced accuracy

Every rule reads one 5-fold CV per gamma (StandardScaler on train + val, the suite's
StratifiedKFold(5, shuffle=True, random_state=seed), LogisticRegressionCV over the suite's Cs
with sample weights, scoring log-loss, no refit); balanced accuracy from its own out-of-fold
logits with each fold's training prior; one refit per chosen (gamma, C) on train + val.

    python3 bench/accuracy/prototype_la_weighting.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_weighting.py table --seeds 0 1 2 --held-out 13 14 15

One JSON per (set, seed) under $ACC_DIR/la-weighting/; `table` pairs every rule with `la` and
with the bar, here the best of la, la-ll and lrcv by mean over the seeds tabled (the suite's
three peers, computed on the same folds).
"""
import argparse, json, os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import run_all  # noqa: E402
from suite import ACC, CS, TAUS, fold_logits, groups, load, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "la-ll", "lrcv", "half", "half-ll", "sel"]
BAR = ["la", "la-ll", "lrcv"]
GAMMAS = {"la": 0.0, "half": 0.5, "lrcv": 1.0}


def row_weights(y, c, gamma):
    """n_{y_i}^(-gamma), scaled to mean 1 (gamma = 1: scikit-learn's class_weight="balanced")."""
    w = np.bincount(y, minlength=c).astype(float) ** -gamma
    w = w[y]
    return w * len(y) / w.sum()


def weighted_cv(z, y, c, seed, gamma):
    """(balanced accuracy as folds x Cs x TAUS, mean log-loss score per C) of one CV at `gamma`."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    lr = LogisticRegressionCV(Cs=CS, cv=cv, scoring="neg_log_loss", max_iter=3000, refit=False)
    lr.fit(z, y, sample_weight=row_weights(y, c, gamma))
    ba = np.zeros((5, len(CS), len(TAUS)))
    for f, (te, logits) in enumerate(fold_logits(lr, z, y, cv)):
        tr = np.setdiff1d(np.arange(len(y)), te)
        logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        for j in range(len(CS)):
            for t, tau in enumerate(TAUS):
                ba[f, j, t] = balanced_accuracy_score(y[te], np.argmax(logits[j] - tau * logp, 1))
    return ba.mean(0), np.mean(lr.scores_[lr.classes_[0]], axis=0)


def run_one(d, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    cvs = {g: weighted_cv(z, y, c, seed, gamma) for g, gamma in GAMMAS.items()}
    picks = {}                                   # rule -> (gamma key, C index, tau index, cv score)
    for g in ("la", "half"):
        ba, ll = cvs[g]
        j, t = np.unravel_index(np.argmax(ba), ba.shape)
        picks[g] = (g, int(j), int(t), float(ba[j, t]))
        j = int(np.argmax(ll)); t = int(np.argmax(ba[j]))
        picks[g + "-ll"] = (g, j, t, float(ba[j, t]))
    ba = cvs["lrcv"][0]
    j = int(np.argmax(ba[:, 0]))
    picks["lrcv"] = ("lrcv", j, 0, float(ba[j, 0]))
    picks["sel"] = max((picks[r] for r in ("la", "half", "lrcv")), key=lambda p: p[3])
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    fits, res = {}, {}
    for rule, (g, j, t, score) in picks.items():
        if (g, j) not in fits:
            lr = LogisticRegression(C=CS[j], max_iter=3000).fit(z, y, sample_weight=row_weights(y, c, GAMMAS[g]))
            fits[(g, j)] = lr.decision_function(zs)
        p = np.argmax(fits[(g, j)] - TAUS[t] * logp, 1)
        recall = recall_of(p, ys, c)
        res[rule] = {"gamma": GAMMAS[g], "C": float(CS[j]), "tau": float(TAUS[t]), "cv": score,
                     "overall": 100 * float(np.mean(p == ys)), "few": 100 * float(np.mean(recall[few])),
                     "pred": p.tolist()}
    res["seconds"] = time.time() - t0
    return res


def table(args):
    rows = {}
    for fn in os.listdir(f"{ACC}/la-weighting"):
        name, seed = fn[:-5].rsplit(".seed", 1)
        if name in args.sets:
            rows[(name, int(seed))] = json.load(open(f"{ACC}/la-weighting/{fn}"))
    for title, seeds in (("judged", args.seeds), ("held out", args.held_out)):
        if not seeds:
            continue
        print(f"\nSeeds {title}: {' '.join(map(str, seeds))}. Δ paired per seed; the bar is the best of "
              f"{', '.join(BAR)} by mean over these seeds.\n")
        print("| set | rule | seeds | overall | Few | Δ vs la | Δ vs bar | bar | W/T/L vs bar | γ/C/τ chosen |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        summary = {r: [] for r in RULES}
        for name in sorted({k[0] for k in rows}):
            have = [s for s in seeds if (name, s) in rows]
            if not have:
                continue
            bar = max(BAR, key=lambda r: np.mean([rows[(name, s)][r]["overall"] for s in have]))
            for rule in RULES:
                a = [rows[(name, s)][rule] for s in have]
                dl = [x["overall"] - rows[(name, s)]["la"]["overall"] for x, s in zip(a, have)]
                db = [x["overall"] - rows[(name, s)][bar]["overall"] for x, s in zip(a, have)]
                w = sum(v > 0.05 for v in db); l = sum(v < -0.05 for v in db)
                summary[rule].append(np.mean(db))
                chosen = " ".join(f"{x['gamma']:g}/{x['C']:g}/{x['tau']:g}" for x in a)
                print(f"| {name} | {rule} | {len(have)} | {np.mean([x['overall'] for x in a]):.2f} | "
                      f"{np.mean([x['few'] for x in a]):.2f} | {np.mean(dl):+.2f} | {np.mean(db):+.2f} | {bar} | "
                      f"{w}/{len(db) - w - l}/{l} | {chosen} |")
        print("\n| rule | sets | mean Δ vs bar | worst set |\n|---|---|---|---|")
        for rule in RULES:
            if summary[rule]:
                print(f"| {rule} | {len(summary[rule])} | {np.mean(summary[rule]):+.2f} | {min(summary[rule]):+.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=["perl-pod", "python-docs", "fortunes", "debian-sections"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    if args.what == "run":
        run_all("la-weighting", args, run_one, RULES)
    else:
        table(args)


if __name__ == "__main__":
    main()
