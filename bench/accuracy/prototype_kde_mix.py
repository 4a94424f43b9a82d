#!/usr/bin/env python3
"""Prototype: a balanced kernel-density head mixed into logit adjustment (issue 30, signed
sets). The linear peers differ only in how they trade head for tail; this asks whether a
nonparametric head, balanced by construction, adds what no linear fit has. With the suite's
folds and scaling:

  la        the suite's sk-la (unweighted LogisticRegressionCV, StandardScaler, C and tau
            jointly by fold balanced accuracy, refitted on train + val)
  cw        the suite's sk-lrcv (class-weighted, C by fold balanced accuracy)
  kde       log p(x | c) = logsumexp over the rows i of class c of cos(x, x_i) / T, less
            log n_c, uniform prior (rows centred by the train + val mean and scaled to unit
            length); T by fold balanced accuracy
  la+kde    (1 - lam) * la's adjusted log-probabilities + lam * kde's log-posteriors, lam in
            {0, 0.25, 0.5, 0.75} and T chosen jointly on the same folds (la's C and tau fixed
            at its own choice; lam = 0 is la)
  la+cw     (1 - w) * la + w * cw log-probabilities, w in {0, 0.25, 0.5, 0.75, 1} by the folds

    python3 bench/accuracy/prototype_kde_mix.py run --sets fortunes --seeds 0 1
    python3 bench/accuracy/prototype_kde_mix.py table --seeds 0 1 2 3 4 --held-out 56 57

One JSON per (set, seed) under $ACC_DIR/kde-mix/; `table` pairs every rule with la per seed.
"""
import argparse, json, os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import run_all  # noqa: E402
from suite import ACC, CS, TAUS, fold_logits, groups, load, logit_adjust_cv, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "cw", "kde", "la+kde", "la+cw"]
LAMS = [0.0, 0.25, 0.5, 0.75]
WS = [0.0, 0.25, 0.5, 0.75, 1.0]
TS = [0.02, 0.05, 0.1]


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def unit(x, mean):
    u = x - mean
    return u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)


def kde_logpost(q, r, yr, c):
    """Per temperature in TS: the balanced Parzen log-posteriors of the unit rows `q` against
    the labelled unit rows `r`, `yr`."""
    s = q @ r.T
    n = np.bincount(yr, minlength=c).astype(float)
    out = []
    for t in TS:
        a = s / t
        m = a.max(1, keepdims=True)
        e = np.exp(a - m)
        dens = np.zeros((len(q), c))
        for k in range(c):
            if n[k]:
                dens[:, k] = e[:, yr == k].sum(1) / n[k]
        out.append(log_softmax(np.log(np.maximum(dens, 1e-300)) + m))
    return out


def balanced(y, p, c):
    r = recall_of(p, y, c)
    return float(np.mean(r[~np.isnan(r)]))


def run_one(d, seed):
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    cv, lr, ba, _ = logit_adjust_cv(z, y, c, seed)
    j, t = np.unravel_index(np.argmax(ba.mean(0)), ba.shape[1:])
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    la = log_softmax(LogisticRegression(C=CS[j], max_iter=3000).fit(z, y).decision_function(zs) - TAUS[t] * logp)
    cwcv = LogisticRegressionCV(Cs=CS, cv=cv, class_weight="balanced", scoring="balanced_accuracy",
                                max_iter=3000).fit(z, y)
    jc = int(np.argmin(np.abs(CS - cwcv.C_[0])))
    cw = log_softmax(cwcv.decision_function(zs))
    mu = x.mean(0); u = unit(x, mu); us = unit(xs, mu)
    # out-of-fold scores of every rule's grid, fold by fold
    la_f = fold_logits(lr, z, y, cv); cw_f = fold_logits(cwcv, z, y, cv)
    kde_s = np.zeros(len(TS)); mix_s = np.zeros((len(LAMS), len(TS))); cwm_s = np.zeros(len(WS))
    for (te, lg), (_, cg) in zip(la_f, cw_f):
        tr = np.setdiff1d(np.arange(len(y)), te)
        fl = log_softmax(lg[j] - TAUS[t] * np.log(np.bincount(y[tr], minlength=c) / len(tr)))
        fc = log_softmax(cg[jc])
        ks = kde_logpost(u[te], u[tr], y[tr], c)
        for b, k in enumerate(ks):
            kde_s[b] += balanced(y[te], np.argmax(k, 1), c)
            for a, lam in enumerate(LAMS):
                mix_s[a, b] += balanced(y[te], np.argmax((1 - lam) * fl + lam * k, 1), c)
        for a, w in enumerate(WS):
            cwm_s[a] += balanced(y[te], np.argmax((1 - w) * fl + w * fc, 1), c)
    ks = kde_logpost(us, u, y, c)
    bk = int(np.argmax(kde_s))
    am, bm = np.unravel_index(np.argmax(mix_s), mix_s.shape)
    aw = int(np.argmax(cwm_s))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    res = {}
    for rule, s in (("la", la), ("cw", cw), ("kde", ks[bk]),
                    ("la+kde", (1 - LAMS[am]) * la + LAMS[am] * ks[bm]),
                    ("la+cw", (1 - WS[aw]) * la + WS[aw] * cw)):
        p = np.argmax(s, 1)
        recall = recall_of(p, ys, c)
        res[rule] = {"overall": 100 * float(np.mean(recall)), "few": 100 * float(np.mean(recall[few]))}
    res["chosen"] = {"C": float(CS[j]), "tau": float(TAUS[t]), "cw_C": float(CS[jc]), "kde_T": TS[bk],
                     "lam": LAMS[am], "mix_T": TS[bm], "w": WS[aw]}
    res["cv"] = {"la": float(mix_s[0, bm] / 5), "la+kde": float(mix_s[am, bm] / 5), "kde": float(kde_s[bk] / 5)}
    res["seconds"] = time.time() - t0
    return res


def table(args):
    rows = {}
    for fn in os.listdir(f"{ACC}/kde-mix"):
        name, seed = fn[:-5].rsplit(".seed", 1)
        if not args.sets or name in args.sets:
            rows[(name, int(seed))] = json.load(open(f"{ACC}/kde-mix/{fn}"))
    for title, seeds in (("judged", args.seeds), ("held out", args.held_out)):
        if not seeds:
            continue
        print(f"\nSeeds {title}: {' '.join(map(str, seeds))}. Δ against la, paired per seed (overall / Few).\n")
        print("| set | seeds | la | " + " | ".join(RULES[1:]) + " | la+kde: λ chosen |")
        print("|---|---|---|" + "---|" * (len(RULES) - 1) + "---|")
        mean = {r: [] for r in RULES[1:]}
        for name in sorted({k[0] for k in rows}):
            have = [s for s in seeds if (name, s) in rows]
            if not have:
                continue
            a = [rows[(name, s)] for s in have]
            cells = []
            for r in RULES[1:]:
                do = np.mean([x[r]["overall"] - x["la"]["overall"] for x in a])
                df = np.mean([x[r]["few"] - x["la"]["few"] for x in a])
                mean[r].append((do, df))
                cells.append(f"{do:+.2f} / {df:+.2f}")
            lam = ",".join(f"{x['chosen']['lam']:g}" for x in a)
            print(f"| {name} | {len(have)} | {np.mean([x['la']['overall'] for x in a]):.2f} | " + " | ".join(cells) + f" | {lam} |")
        print("| **mean** | | | " + " | ".join(
            f"{np.mean([v[0] for v in mean[r]]):+.2f} / {np.mean([v[1] for v in mean[r]]):+.2f}" if mean[r] else "" for r in RULES[1:]) + " | |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=None)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    if args.what == "run":
        args.sets = args.sets or ["perl-pod", "python-docs", "debian-sections", "fortunes"]
        run_all("kde-mix", args, run_one, RULES)
    else:
        table(args)
