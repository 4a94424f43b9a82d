#!/usr/bin/env python3
"""Prototype: whitening signed rows before logit adjustment (issue 30).

Sentence embeddings are anisotropic: a few directions carry most of the variance, and an
L2 penalty on the weights of StandardScaler rows treats a direction by its features' own
scales, not by how much the rows vary along it. Whitening by the rows' covariance makes the
penalty isotropic in the rows' own geometry (a Mahalanobis ridge); Ledoit-Wolf shrinkage
keeps it finite in the directions 2,000-6,000 rows barely see. Each rule is the
logit adjustment of prototype_la_views.py (the suite's folds, CS_HERE, C by the CV's
log-loss, tau by balanced accuracy at that C) on one transform of train + val:

  std-ll    StandardScaler (the suite's sk-la-ll)
  white-ll  (x - mean) Sigma^(-1/2), Sigma the Ledoit-Wolf covariance of train + val
  half-ll   (x - mean) Sigma^(-1/4): half way between the two

    python3 bench/accuracy/prototype_la_whiten.py run --sets perl-pod fortunes --seeds 0 1
    python3 bench/accuracy/prototype_la_whiten.py table --seeds 0 … 9 --held-out 16 … 25

One JSON per (set, seed) under $ACC_DIR/la-whiten/; `table` pairs every rule with `std-ll`
and with the suite's bar (prototype_la_choice.paired_table).
"""
import argparse, json, os, sys, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from prototype_la_choice import main_for, run_all  # noqa: E402
from prototype_la_views import CHOSEN, CS_HERE, best_tau, log_softmax, scored, view  # noqa: E402
from suite import ACC, TAUS, groups, load, split_rows  # noqa: E402

RULES = ["std-ll", "white-ll", "half-ll"]


def whitening(x, power):
    """(mean, M) with M = Sigma^(-power), Sigma the Ledoit-Wolf covariance of x's rows."""
    from sklearn.covariance import LedoitWolf
    lw = LedoitWolf().fit(x)
    vals, vecs = np.linalg.eigh(lw.covariance_)
    return lw.location_, (vecs * vals ** -power) @ vecs.T


def adjusted(d, seed, power, transform=None, cs=CS_HERE):
    """One rule's record: the logit adjustment on train + val's StandardScaler rows (`power`
    None) or on (x - mean) M, scored on the test rows; (mean, M) = transform(x, y, power),
    by default Sigma^(-power) of all rows; C from the grid `cs`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    _, yt = load(f"{d}/train.h5")
    few = groups(np.bincount(yt, minlength=c))["few"]
    if power is None:
        sc = StandardScaler().fit(x)
        z, zs = sc.transform(x), sc.transform(xs)
    else:
        m, w = transform(x, y, power) if transform else whitening(x, power)
        z, zs = (x - m) @ w, (xs - m) @ w
    j, oof = view(z, y, c, cv, cs)
    t, score = best_tau(oof, y, c, cv)
    fit = LogisticRegression(C=cs[j], max_iter=3000).fit(z, y)
    held_out_log_loss = -float(np.mean(log_softmax(oof)[np.arange(len(y)), y]))
    return scored(np.argmax(fit.decision_function(zs) - TAUS[t] * logp, 1), ys, c, few,
                  C=float(cs[j]), tau=float(TAUS[t]), cv=score, ll=held_out_log_loss)


def earlier_fits(d, seed):
    """std-ll and half-ll of (set, seed), the fits the folds' pick is between in afg: from
    this prototype's or prototype_la_power.py's JSON when either ran on it, else fitted."""
    name = os.path.relpath(d, ACC).split(os.sep)[0]      # build_sets.set_dir: ACC/name[/seedN]
    for subdir in ("la-whiten", "la-power"):
        p = f"{ACC}/{subdir}/{name}.seed{seed}.json"
        if os.path.exists(p):
            with open(p) as f:
                old = json.load(f)
            return {k: old[k] for k in ("std-ll", "half-ll")}
    return {"std-ll": adjusted(d, seed, None), "half-ll": adjusted(d, seed, 0.25)}


def pick(r, plain, whitened):
    """The folds' pick between two fits of one run as afg makes it: `whitened` if its fold
    score is strictly higher, else `plain`."""
    return r[whitened] if r[whitened]["cv"] > r[plain]["cv"] else r[plain]


def picks_table(subdir, sets, seeds, label, columns, counts=None):
    """A markdown table over the JSONs under $ACC_DIR/<subdir>/: per set and column, the
    mean paired difference `new - old` in test overall ± its SE over seeds (the Few
    difference), W/T/L, from `columns[title](run) -> (new record, old record)`; then the
    mean over sets. `counts`: (title, {name: run -> bool}) counted per set."""
    head = list(columns) + ([counts[0]] if counts else [])
    print(f"\n{label}: new minus old, overall ± SE (Few), W/T/L over seeds\n")
    print("| set | " + " | ".join(head) + " |")
    print("|---" * (len(head) + 1) + "|")
    means = {t: [] for t in columns}
    fews = {t: [] for t in columns}
    for name in sets:
        runs = []
        for s in seeds:
            p = f"{ACC}/{subdir}/{name}.seed{s}.json"
            if os.path.exists(p):
                with open(p) as f:
                    runs.append(json.load(f))
        if not runs:
            continue
        cells = []
        for title, pair in columns.items():
            pairs = [pair(r) for r in runs]
            d = np.array([a["overall"] - b["overall"] for a, b in pairs])
            fw = float(np.mean([a["few"] - b["few"] for a, b in pairs]))
            w, t, l = int((d > 1e-9).sum()), int((abs(d) <= 1e-9).sum()), int((d < -1e-9).sum())
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append(f"{d.mean():+.2f} ± {se:.2f} ({fw:+.2f}), {w}/{t}/{l}")
            means[title].append(d.mean())
            fews[title].append(fw)
        if counts:
            cells.append(", ".join(str(sum(map(f, runs))) for f in counts[1].values()))
        print(f"| {name} ({len(runs)} seeds) | " + " | ".join(cells) + " |")
    print("| mean over sets | " + " | ".join(f"{np.mean(means[t]):+.2f} ({np.mean(fews[t]):+.2f})" for t in columns)
          + (" | |" if counts else " |"))


def pick_main(doc, subdir, run_one, rules, table, sets):
    """The command line of a pick prototype: `run` writes one JSON per (set, seed) under
    $ACC_DIR/<subdir>/; `table` prints `table(sets, seeds, label)` for the judged seeds
    and then the held-out ones."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("what", choices=["run", "table"])
    ap.add_argument("--sets", nargs="*", default=list(sets))
    ap.add_argument("--seeds", nargs="*", type=int, default=list(range(10)))
    ap.add_argument("--held-out", nargs="*", type=int, default=[])
    args = ap.parse_args()
    if args.what == "run":
        run_all(subdir, args, run_one, rules)
    else:
        table(args.sets, args.seeds, "judged seeds " + " ".join(map(str, args.seeds)))
        if args.held_out:
            table(args.sets, args.held_out, "held-out seeds " + " ".join(map(str, args.held_out)))


def run_one(d, seed):
    t0 = time.time()
    res = {name: adjusted(d, seed, {"std-ll": None, "white-ll": 0.5, "half-ll": 0.25}[name]) for name in RULES}
    res["seconds"] = time.time() - t0
    return res


if __name__ == "__main__":
    main_for(__doc__, "la-whiten", run_one, RULES, "std-ll", CHOSEN,
             sets=("perl-pod", "python-docs", "fortunes", "debian-sections"))
