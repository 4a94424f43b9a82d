#!/usr/bin/env python3
"""Prototype: how logit adjustment's C and tau are chosen, on the suite's sets (issue 30).

Every rule reads the same cross-validation as the suite's sk-la peer (StandardScaler on
train + val, an unweighted multinomial LogisticRegressionCV over CS with the suite's
StratifiedKFold(5, shuffle=True, random_state=seed), scoring log-loss), scores every
(C, tau) of CS x TAUS by the fold balanced accuracy of argmax(logits - tau * log prior)
on the CV's own out-of-fold logits, and refits once per chosen C on train + val:

  joint    C and tau jointly by the mean fold balanced accuracy (the suite's sk-la)
  ll       C by the CV's log-loss, tau by balanced accuracy at that C (sk-la-ll)
  t1-ba    tau = 1 (the consistent choice for the balanced error), C by balanced accuracy
  t1-ll    tau = 1, C by log-loss
  smooth   C and tau jointly by the balanced accuracy averaged over each grid point and its
           neighbours (3 x 3), so a lone corner peak does not win
  one-se   among the points within one fold standard error of the joint best, the smallest
           C, then the tau closest to 1

    python3 bench/accuracy/prototype_la_choice.py run --sets python-docs perl-pod --seeds 0 1
    python3 bench/accuracy/prototype_la_choice.py table --seeds 0 1 2 3 4 --held-out 5 6

One JSON per (set, seed) under $ACC_DIR/la-choice/. `table` pairs every rule with `joint`
(sk-la) and with the set's bar of the suite (the best of sk-lrcv, sk-la and sk-la-ll by its
mean over the seeds tabled, from $ACC_DIR/suite/), per seed.
"""
import argparse, json, os, sys, time, warnings
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_sets import set_dir, write_json  # noqa: E402
from suite import ACC, CS, TAUS, bar_of, groups, load, logit_adjust_cv, recall_of, split_rows  # noqa: E402

warnings.filterwarnings("ignore")
RULES = ["joint", "ll", "t1-ba", "t1-ll", "smooth", "one-se"]
T1 = int(np.argmin(np.abs(TAUS - 1)))


def choose(ba_folds, ll):
    """(C index, tau index) of every rule from the fold balanced accuracies (folds x Cs x
    taus) and the mean log-loss score per C (higher is better)."""
    ba = ba_folds.mean(0)
    out = {}
    out["joint"] = np.unravel_index(np.argmax(ba), ba.shape)
    j = int(np.argmax(ll)); out["ll"] = (j, int(np.argmax(ba[j])))
    out["t1-ba"] = (int(np.argmax(ba[:, T1])), T1)
    out["t1-ll"] = (j, T1)
    pad = np.pad(ba, 1, mode="edge")
    smooth = sum(pad[1 + a:1 + a + ba.shape[0], 1 + b:1 + b + ba.shape[1]] for a in (-1, 0, 1) for b in (-1, 0, 1)) / 9
    out["smooth"] = np.unravel_index(np.argmax(smooth), smooth.shape)
    jb, tb = out["joint"]
    se = ba_folds[:, jb, tb].std(ddof=1) / np.sqrt(ba_folds.shape[0])
    ok = np.argwhere(ba >= ba[jb, tb] - se)
    jmin = ok[:, 0].min()
    taus = ok[ok[:, 0] == jmin][:, 1]
    out["one-se"] = (int(jmin), int(taus[np.argmin(np.abs(TAUS[taus] - 1))]))
    return {k: (int(a), int(b)) for k, (a, b) in out.items()}


def run_one(d, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    _, _, ba, ll = logit_adjust_cv(z, y, c, seed)
    picks = choose(ba, ll)
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    fits, res = {}, {}
    for rule, (j, t) in picks.items():
        if j not in fits:
            fits[j] = LogisticRegression(C=CS[j], max_iter=3000).fit(z, y).decision_function(zs)
        p = np.argmax(fits[j] - TAUS[t] * logp, 1)
        recall = recall_of(p, ys, c)
        res[rule] = {"C": float(CS[j]), "tau": float(TAUS[t]), "overall": 100 * float(np.mean(p == ys)),
                     "few": 100 * float(np.mean(recall[few])), "cv": float(ba[:, j, t].mean())}
    res["seconds"] = time.time() - t0
    return res


def run_all(subdir, args, run_one, rules):
    """One JSON per (set, seed) under $ACC_DIR/<subdir>/ from `run_one(set_dir, seed)`,
    skipping those already written."""
    os.makedirs(f"{ACC}/{subdir}", exist_ok=True)
    for name in args.sets:
        for seed in args.seeds:
            path = f"{ACC}/{subdir}/{name}.seed{seed}.json"
            if os.path.exists(path):
                continue
            d = set_dir(ACC, name, seed)
            if not os.path.exists(f"{d}/train.h5"):
                sys.exit(f"{d}/train.h5: no such split (build_sets.py --sets {name} --seeds {seed} writes it)")
            res = run_one(d, seed)
            write_json(path, res)
            print(name, seed, {k: round(res[k]["overall"], 2) for k in rules}, f"{res['seconds']:.0f} s", flush=True)


CHOSEN = ("C, τ chosen", lambda a: ", ".join(f"{x['C']:g}/{x['tau']:g}" for x in a))


def paired_table(subdir, args, rules, reference, extra=None):
    """Markdown tables of the JSONs under $ACC_DIR/<subdir>/: per set and rule, the mean
    overall and Few, the paired Δ against `reference` and against the set's bar of the suite
    (suite.py's `bar_of`: the best peer run on every seed tabled, by its mean, from
    $ACC_DIR/suite/), for the judged seeds and then the held-out ones. `extra`: (column
    title, text from the rule's per-seed results)."""
    if not os.path.isdir(f"{ACC}/{subdir}"):
        sys.exit(f"{ACC}/{subdir}: no runs of this prototype there (its `run` writes them)")
    rows = {}
    for fn in os.listdir(f"{ACC}/{subdir}"):
        name, seed = fn[:-5].rsplit(".seed", 1)
        if not args.sets or name in args.sets:
            rows[(name, int(seed))] = json.load(open(f"{ACC}/{subdir}/{fn}"))
    suite = {}
    for fn in os.listdir(f"{ACC}/suite"):
        r = json.load(open(f"{ACC}/suite/{fn}"))
        suite[(r["set"], r["seed"], r["method"])] = r
    for title, seeds in (("judged", args.seeds), ("held out", args.held_out)):
        if not seeds:
            continue
        print(f"\nSeeds {title}: {' '.join(map(str, seeds))}. Δ paired per seed.\n")
        print(f"| set | rule | seeds | overall | Few | Δ vs {reference} | Δ vs bar | bar | W/T/L vs bar |"
              + (f" {extra[0]} |" if extra else ""))
        print("|---|---|---|---|---|---|---|---|---|" + ("---|" if extra else ""))
        summary = {r: [] for r in rules}
        for name in sorted({k[0] for k in rows}):
            have = [s for s in seeds if (name, s) in rows]
            bar = bar_of(suite, name, have) if have else None
            if bar is None:
                continue
            for rule in rules:
                a = [rows[(name, s)][rule] for s in have]
                dr = [x["overall"] - rows[(name, s)][reference]["overall"] for x, s in zip(a, have)]
                db = [x["overall"] - suite[(name, s, bar)]["overall"] for x, s in zip(a, have)]
                w = sum(v > 0.05 for v in db); l = sum(v < -0.05 for v in db)
                summary[rule].append(np.mean(db))
                print(f"| {name} | {rule} | {len(have)} | {np.mean([x['overall'] for x in a]):.2f} | "
                      f"{np.mean([x['few'] for x in a]):.2f} | {np.mean(dr):+.2f} | {np.mean(db):+.2f} | {bar} | "
                      f"{w}/{len(db) - w - l}/{l} |" + (f" {extra[1](a)} |" if extra else ""))
        print("\n| rule | sets | mean Δ vs bar | worst set |\n|---|---|---|---|")
        for rule in rules:
            if summary[rule]:
                print(f"| {rule} | {len(summary[rule])} | {np.mean(summary[rule]):+.2f} | {min(summary[rule]):+.2f} |")


def main_for(doc, subdir, run_one, rules, reference, extra=None,
             sets=("python-docs", "perl-pod", "satimage-lt", "letter-lt", "digits-lt")):
    """The command line of every prototype: `run` writes one JSON per (set, seed) under
    $ACC_DIR/<subdir>/ (`run_all`; `--sets` defaults to `sets`), `table` prints them paired
    with `reference` and with the suite's bar (`paired_table`; every set written, or those
    of `--sets`)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=None)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    if args.what == "run":
        args.sets = args.sets or list(sets)
        run_all(subdir, args, run_one, rules)
    else:
        paired_table(subdir, args, rules, reference, extra)


if __name__ == "__main__":
    main_for(__doc__, "la-choice", run_one, RULES, "joint", CHOSEN)
