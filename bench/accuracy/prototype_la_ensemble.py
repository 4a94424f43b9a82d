#!/usr/bin/env python3
"""Prototype: logit adjustment combined with other linear classifiers, no extra choice
(issue 30). On the suite's sets, with the suite's own fits:

  la        the suite's sk-la: unweighted LogisticRegressionCV (StandardScaler, the suite's
            folds), C and tau jointly by fold balanced accuracy, refitted on train + val
  la-bag    the same C and tau, predicting with the mean of the five fold models' adjusted
            log-probabilities instead of the refit (each fold model saw 80 % of the rows)
  la+lr     the mean of la's adjusted log-probabilities and those of the suite's sk-lrcv
            (class-weighted LogisticRegressionCV, C by balanced accuracy), weights 1 : 1
  la+bag+lr the three above averaged

    python3 bench/accuracy/prototype_la_ensemble.py run --sets python-docs --seeds 0 1
    python3 bench/accuracy/prototype_la_ensemble.py table --seeds 0 1 2 3 4 --held-out 5 6

One JSON per (set, seed) under $ACC_DIR/la-ensemble/; `table` pairs each with la and with
the suite's bar (the best of sk-lrcv, sk-la, sk-la-ll by mean over the seeds tabled).
"""
import argparse, json, os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_sets import set_dir  # noqa: E402
from suite import ACC, CS, TAUS, PEERS, fold_logits, groups, load, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["la", "la-bag", "la+lr", "la+bag+lr"]


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def run_one(d, seed):
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    lr = LogisticRegressionCV(Cs=CS, cv=cv, scoring="neg_log_loss", max_iter=3000, refit=False).fit(z, y)
    ba = np.zeros((len(CS), len(TAUS)))
    for te, logits in fold_logits(lr, z, y, cv):
        tr = np.setdiff1d(np.arange(len(y)), te)
        logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        for j in range(len(CS)):
            for t, tau in enumerate(TAUS):
                ba[j, t] += balanced_accuracy_score(y[te], np.argmax(logits[j] - tau * logp, 1)) / cv.n_splits
    j, t = np.unravel_index(np.argmax(ba), ba.shape)
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    la = log_softmax(LogisticRegression(C=CS[j], max_iter=3000).fit(z, y).decision_function(zs) - TAUS[t] * logp)
    paths = np.stack([lr.coefs_paths_[k] for k in lr.classes_])      # classes x folds x Cs x (D+1)
    bag = np.zeros_like(la)
    for f, (tr, _) in enumerate(cv.split(z, y)):
        w = paths[:, f, j]
        fold_logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        bag += log_softmax(zs @ w[:, :-1].T + w[:, -1] - TAUS[t] * fold_logp) / cv.n_splits
    lrcv = LogisticRegressionCV(Cs=CS, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                                class_weight="balanced", scoring="balanced_accuracy", max_iter=3000).fit(z, y)
    lw = log_softmax(lrcv.decision_function(zs))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    res = {}
    for rule, s in (("la", la), ("la-bag", bag), ("la+lr", (la + lw) / 2), ("la+bag+lr", (la + bag + lw) / 3)):
        p = np.argmax(s, 1)
        recall = recall_of(p, ys, c)
        res[rule] = {"overall": 100 * float(np.mean(p == ys)), "few": 100 * float(np.mean(recall[few]))}
    res["C"] = float(CS[j]); res["tau"] = float(TAUS[t]); res["lr_C"] = float(lrcv.C_[0])
    res["seconds"] = time.time() - t0
    return res


def run(args):
    os.makedirs(f"{ACC}/la-ensemble", exist_ok=True)
    for name in args.sets:
        for seed in args.seeds:
            path = f"{ACC}/la-ensemble/{name}.seed{seed}.json"
            if os.path.exists(path):
                continue
            res = run_one(set_dir(ACC, name, seed), seed)
            json.dump(res, open(path, "w"))
            print(name, seed, {k: round(res[k]["overall"], 2) for k in RULES}, f"{res['seconds']:.0f} s", flush=True)


def table(args):
    rows = {}
    for fn in os.listdir(f"{ACC}/la-ensemble"):
        name, seed = fn[:-5].rsplit(".seed", 1)
        rows[(name, int(seed))] = json.load(open(f"{ACC}/la-ensemble/{fn}"))
    suite = {}
    for fn in os.listdir(f"{ACC}/suite"):
        r = json.load(open(f"{ACC}/suite/{fn}"))
        suite[(r["set"], r["seed"], r["method"])] = r
    for title, seeds in (("judged", args.seeds), ("held out", args.held_out)):
        if not seeds:
            continue
        print(f"\nSeeds {title}: {' '.join(map(str, seeds))}. Δ paired per seed.\n")
        print("| set | method | seeds | overall | Few | Δ vs la | Δ vs bar | bar | W/T/L vs bar |")
        print("|---|---|---|---|---|---|---|---|---|")
        summary = {r: [] for r in RULES}
        for name in sorted({k[0] for k in rows}):
            have = [s for s in seeds if (name, s) in rows and all((name, s, m) in suite for m in PEERS)]
            if not have:
                continue
            bar = max(PEERS, key=lambda m: np.mean([suite[(name, s, m)]["overall"] for s in have]))
            for rule in RULES:
                a = [rows[(name, s)][rule] for s in have]
                dl = [x["overall"] - rows[(name, s)]["la"]["overall"] for x, s in zip(a, have)]
                db = [x["overall"] - suite[(name, s, bar)]["overall"] for x, s in zip(a, have)]
                w = sum(v > 0.05 for v in db); l = sum(v < -0.05 for v in db)
                summary[rule].append(np.mean(db))
                print(f"| {name} | {rule} | {len(have)} | {np.mean([x['overall'] for x in a]):.2f} | "
                      f"{np.mean([x['few'] for x in a]):.2f} | {np.mean(dl):+.2f} | {np.mean(db):+.2f} | {bar} | "
                      f"{w}/{len(db) - w - l}/{l} |")
        print("\n| method | sets | mean Δ vs bar | worst set |\n|---|---|---|---|")
        for rule in RULES:
            if summary[rule]:
                print(f"| {rule} | {len(summary[rule])} | {np.mean(summary[rule]):+.2f} | {min(summary[rule]):+.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=["python-docs", "perl-pod", "satimage-lt", "letter-lt", "digits-lt"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    run(args) if args.what == "run" else table(args)


if __name__ == "__main__":
    main()
