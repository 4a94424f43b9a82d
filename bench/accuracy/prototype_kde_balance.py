#!/usr/bin/env python3
"""Prototype: how the balanced kernel-density head is mixed (issue 30, the Few floor).

The memory head (prototype_kde_mix.py, MemoryHead in Sources/Classifier) favours the classes
with many rows nearby: the log of a kernel-density estimate from n_c rows is biased low by
its variance, which shrinks as n_c grows. Each rule below is chosen by the same 5 folds'
out-of-fold balanced accuracy; `la` and `cw` are the suite's sk-la and sk-lrcv, `kde` the
head's log-posteriors at temperature T:

  mix       (1 - w) * la + w * kde, w in {0, 1/4, 1/2, 3/4}, T in {0.02, 0.05, 0.1} (built)
  mix-beta  mix, with the head's class log-densities less beta * log n_c, beta in {0, 1/2, 1}
  mix-gamma mix, less gamma * log prior after mixing, gamma in {0, 1/4, 1/2}
  cw-mix    (1 - w) * cw + w * kde, same grid as mix
  base      mix or cw-mix, the base chosen by the folds with w and T
  mix3      (1 - a - w) * la + a * cw + w * kde, a in {0, 1/4, 1/2}, a + w <= 1
  beta.5, beta1   mix with beta fixed at 1/2, 1
  mix3-beta, base-beta   mix3 and base with beta chosen too

The fold fits are cached under $ACC_DIR/kde-cache/ (the expensive part); the rules then
take seconds.

    python3 bench/accuracy/prototype_kde_balance.py run --sets fortunes --seeds 0 1
    python3 bench/accuracy/prototype_kde_balance.py table --seeds 0 1 2 3 4

One JSON per (set, seed) under $ACC_DIR/kde-balance/; `table` pairs every rule with mix and
with cw per seed.
"""
import argparse, json, os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import run_all  # noqa: E402
from prototype_kde_mix import LAMS, TS, balanced, log_softmax, unit  # noqa: E402
from suite import ACC, CS, TAUS, fold_logits, groups, load, logit_adjust_cv, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "cw", "mix", "mix-beta", "mix-gamma", "cw-mix", "base", "mix3", "beta.5", "beta1", "mix3-beta", "base-beta"]
BETAS = [0.0, 0.5, 1.0]
GAMMAS = [0.0, 0.25, 0.5]
AS = [0.0, 0.25, 0.5]


def cached(d, seed):
    """The la and cw log-probabilities, out of fold and on the test rows, and the unit rows."""
    path = f"{ACC}/kde-cache/{os.path.relpath(d, ACC).replace('/', '_')}-seed{seed}.npz"
    if os.path.exists(path):
        z = np.load(path)
        return {k: z[k] for k in z.files}
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    cv, lr, ba, _ = logit_adjust_cv(z, y, c, seed)
    j, t = np.unravel_index(np.argmax(ba.mean(0)), ba.shape[1:])
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    la = log_softmax(LogisticRegression(C=CS[j], max_iter=3000).fit(z, y).decision_function(zs) - TAUS[t] * logp)
    cwcv = LogisticRegressionCV(Cs=CS, cv=cv, class_weight="balanced", scoring="balanced_accuracy",
                                max_iter=3000).fit(z, y)
    jc = int(np.argmin(np.abs(CS - cwcv.C_[0])))
    cw = log_softmax(cwcv.decision_function(zs))
    fold = np.zeros(len(y), dtype=np.int64); la_f = np.zeros((len(y), c)); cw_f = np.zeros((len(y), c))
    for f, ((te, lg), (_, cg)) in enumerate(zip(fold_logits(lr, z, y, cv), fold_logits(cwcv, z, y, cv))):
        tr = np.setdiff1d(np.arange(len(y)), te)
        fold[te] = f
        la_f[te] = log_softmax(lg[j] - TAUS[t] * np.log(np.bincount(y[tr], minlength=c) / len(tr)))
        cw_f[te] = log_softmax(cg[jc])
    mu = x.mean(0)
    _, yt = load(f"{d}/train.h5")
    out = dict(y=y, ys=ys, c=np.array(c), fold=fold, la_f=la_f, cw_f=cw_f, la=la, cw=cw,
               u=unit(x, mu).astype(np.float32), us=unit(xs, mu).astype(np.float32),
               few=groups(np.bincount(yt, minlength=c))["few"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **out)
    return out


def head(q, r, yr, c, t, beta):
    """The head's log-posteriors of unit rows `q` against labelled unit rows `r`, `yr`, at
    temperature t, with the class log-densities less beta * log n_c."""
    a = (q @ r.T).astype(np.float64) / t
    m = a.max(1, keepdims=True)
    e = np.exp(a - m)
    n = np.bincount(yr, minlength=c).astype(float)
    dens = np.stack([e[:, yr == k].sum(1) / n[k] if n[k] else np.zeros(len(q)) for k in range(c)], 1)
    return log_softmax(np.log(np.maximum(dens, 1e-300)) - beta * np.log(np.maximum(n, 1)))


def grids():
    """Every rule's grid: a list of (name, params) with params (base weight of cw a, w, T, beta,
    gamma); the first point of each is w = 0."""
    g = {}
    g["mix"] = [(0, w, t, 0, 0) for w in LAMS for t in TS]
    g["mix-beta"] = [(0, w, t, b, 0) for w in LAMS for b in BETAS for t in TS]
    g["mix-gamma"] = [(0, w, t, 0, gm) for w in LAMS for gm in GAMMAS for t in TS]
    g["cw-mix"] = [(1, w, t, 0, 0) for w in LAMS for t in TS]
    g["base"] = g["mix"] + g["cw-mix"]
    g["mix3"] = [(a, w, t, 0, 0) for a in AS for w in LAMS if a + w <= 1 for t in TS]
    g["beta.5"] = [(0, w, t, 0.5, 0) for w in LAMS for t in TS]
    g["beta1"] = [(0, w, t, 1, 0) for w in LAMS for t in TS]
    g["mix3-beta"] = [(a, w, t, b, 0) for a in AS for w in LAMS if a + w <= 1 for b in BETAS for t in TS]
    g["base-beta"] = [(a, w, t, b, 0) for a in (0, 1) for w in LAMS for b in BETAS for t in TS]
    return g


def score(p, la, cw, heads, logprior):
    a, w, t, b, gm = p
    base = (1 - a) * la + a * cw if a < 1 else cw
    return (1 - w) * base + w * heads[(t, b)] - gm * logprior


def run_one(d, seed):
    t0 = time.time()
    k = cached(d, seed)
    y, ys, c, fold = k["y"], k["ys"], int(k["c"]), k["fold"]
    g = grids()
    cv = {name: np.zeros(len(pts)) for name, pts in g.items()}
    for f in range(5):
        te = np.flatnonzero(fold == f); tr = np.flatnonzero(fold != f)
        heads = {(t, b): head(k["u"][te], k["u"][tr], y[tr], c, t, b) for t in TS for b in BETAS}
        lp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        for name, pts in g.items():
            for i, p in enumerate(pts):
                cv[name][i] += balanced(y[te], np.argmax(score(p, k["la_f"][te], k["cw_f"][te], heads, lp), 1), c)
    heads = {(t, b): head(k["us"], k["u"], y, c, t, b) for t in TS for b in BETAS}
    lp = np.log(np.bincount(y, minlength=c) / len(y))
    res = {"chosen": {}}
    few = k["few"]
    for name in ["la", "cw"] + list(g):
        if name in ("la", "cw"):
            s = k[name]
        else:
            i = int(np.argmax(cv[name]))      # first best: w = 0 on ties
            p = g[name][i]
            res["chosen"][name] = list(map(float, p))
            s = score(p, k["la"], k["cw"], heads, lp)
        recall = recall_of(np.argmax(s, 1), ys, c)
        res[name] = {"overall": 100 * float(np.mean(recall)), "few": 100 * float(np.mean(recall[few]))}
    res["seconds"] = time.time() - t0
    return res


def table(args):
    rows = {}
    for fn in os.listdir(f"{ACC}/kde-balance"):
        name, seed = fn[:-5].rsplit(".seed", 1)
        if not args.sets or name in args.sets:
            rows[(name, int(seed))] = json.load(open(f"{ACC}/kde-balance/{fn}"))
    for ref in ("mix", "cw"):
        print(f"\nSeeds {' '.join(map(str, args.seeds))}. Δ against {ref}, paired per seed (overall / Few).\n")
        others = [r for r in RULES if r != ref]
        print(f"| set | seeds | {ref} | " + " | ".join(others) + " |")
        print("|---|---|---|" + "---|" * len(others))
        mean = {r: [] for r in others}
        for name in sorted({k[0] for k in rows}):
            a = [rows[(name, s)] for s in args.seeds if (name, s) in rows]
            if not a:
                continue
            cells = []
            for r in others:
                do = np.mean([x[r]["overall"] - x[ref]["overall"] for x in a])
                df = np.mean([x[r]["few"] - x[ref]["few"] for x in a])
                mean[r].append((do, df))
                cells.append(f"{do:+.2f} / {df:+.2f}")
            print(f"| {name} | {len(a)} | {np.mean([x[ref]['overall'] for x in a]):.2f} / "
                  f"{np.mean([x[ref]['few'] for x in a]):.2f} | " + " | ".join(cells) + " |")
        print("| **mean** | | | " + " | ".join(
            f"{np.mean([v[0] for v in mean[r]]):+.2f} / {np.mean([v[1] for v in mean[r]]):+.2f}" for r in others) + " |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=None)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    args = ap.parse_args()
    if args.what == "run":
        args.sets = args.sets or ["perl-pod", "python-docs", "debian-sections", "fortunes"]
        run_all("kde-balance", args, run_one, RULES)
    else:
        table(args)
