#!/usr/bin/env python3
"""Prototype of recommended recipes that combine GLAG's generated tail features with logit
adjustment, on the suite's signed sentence-embedding sets (numpy / scikit-learn only, no afg
binary). Numbers for the lead to implement in Swift; nothing here is a default of afg.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 bench/accuracy/prototype_la.py \
        --sets python-docs perl-pod --seeds 0 1 2 3 4 5 6        # one JSON per (set, seed)
    python3 bench/accuracy/prototype_la.py --summarize --judge 0 1 2 3 4 --held-out 5 6

Every method sees train + val (as the suite's methods do), standardised by a StandardScaler
fitted on train + val (as the suite's scikit-learn peers); the 5 folds are the suite's
(StratifiedKFold(5, shuffle=True, random_state=seed)); every choice is made on those folds'
out-of-fold scores (mean fold balanced accuracy), never on test. Signed features: no Tukey.

  lrcv     class-weighted LogisticRegressionCV (the suite's sk-lrcv); its C is C*.
  la       logit adjustment over unweighted LR: (C, tau) jointly by CV (the suite's sk-la).
  gen      the generated-set regression (method.md, second round): heads (n_c >= n_max/6)
           filled to n_max from their own Gaussian, tail classes filled to n_max with seed
           sample + noise of Sigma' = sum_i w_i Sigma_i over the k = 2 nearest richer classes
           (beta = 1, w ~ n_i / d_i); unweighted LR at C*/3 on real + generated rows.
  gen_la   (b) gen's logits - tau * log prior (prior of the real rows), tau in {0, ..., 2} by
           CV: each fold generates from its own training rows and fits gen at C*/3.
  sel      (a) one cross-validated choice among lrcv, la and gen_la: the candidate with the best
           mean fold balanced accuracy (each candidate's own best CV score), refit.
  gen_lw / gen_lw_la   (c) as gen / gen_la with each class's covariance replaced by its
           Ledoit-Wolf shrinkage estimate (sklearn.covariance.ledoit_wolf) before generation.
  sel_lw   (a) with gen_lw_la in place of gen_la.
"""
import argparse, glob, json, math, os, sys, time, warnings
import numpy as np
from sklearn.covariance import ledoit_wolf
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.exceptions import ConvergenceWarning

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_sets import set_dir, SETS, write_json  # noqa: E402
from prototype import groups, support, h_value  # noqa: E402
from suite import fold_logits, CS, TAUS  # noqa: E402
import h5py  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
METHODS = ["lrcv", "la", "gen", "gen_la", "sel", "gen_lw", "gen_lw_la", "sel_lw"]
GEN = dict(h="nmax/6", k=2)


def load(acc, name, seed):
    d = set_dir(acc, name, seed)
    out = {}
    for s in ("train", "val", "test"):
        with h5py.File(os.path.join(d, f"{s}.h5"), "r") as f:
            out[s] = (f["features"][:].astype(np.float64), f["labels"][:].astype(np.int64))
    return out


def factors(Z, y, C, shrink):
    """Per class: count, mean and a factor F with F F^T = its covariance (unbiased; with
    shrink, the Ledoit-Wolf estimate, whose factor is a Cholesky of the D x D matrix)."""
    n = np.bincount(y, minlength=C); D = Z.shape[1]
    mu = np.zeros((C, D)); F = []
    for c in range(C):
        Zc = Z[y == c]; mu[c] = Zc.mean(0)
        if n[c] < 2:
            F.append(np.zeros((D, 1))); continue
        if shrink:
            S = ledoit_wolf(Zc)[0] * n[c] / (n[c] - 1)
            F.append(np.linalg.cholesky(S + 1e-10 * np.trace(S) / D * np.eye(D)))
        else:
            F.append(((Zc - mu[c]) / math.sqrt(n[c] - 1)).T)
    return n, mu, F


def generate(Z, y, C, rng, shrink):
    """The generated set of `gen` (beta = 1: tail noise only from the support's covariances)."""
    n, mu, F = factors(Z, y, C, shrink)
    nmax = n.max(); h = h_value(GEN["h"], nmax)
    Xg, yg = [], []
    for c in range(C):
        m = int(nmax - n[c])
        if m <= 0:
            continue
        if n[c] >= h:
            Xg.append(mu[c] + rng.standard_normal((m, F[c].shape[1])) @ F[c].T); yg.append(np.full(m, c))
            continue
        Zc = Z[y == c]
        rep = np.full(n[c], m // n[c]); rep[rng.choice(n[c], m % n[c], replace=False)] += 1
        seeds = np.repeat(Zc, rep, axis=0)
        sup, w = support(seeds, c, n, mu, GEN["k"])
        noise = np.zeros_like(seeds)
        for s in range(sup.shape[1]):
            for i in np.unique(sup[:, s]):
                r = np.where(sup[:, s] == i)[0]
                noise[r] += np.sqrt(w[r, s])[:, None] * (rng.standard_normal((len(r), F[i].shape[1])) @ F[i].T)
        Xg.append(seeds + noise); yg.append(np.full(m, c))
    return np.vstack(Xg), np.concatenate(yg)


def fit_gen(Z, y, C, Creg, seed, shrink):
    Xg, yg = generate(Z, y, C, np.random.default_rng(seed), shrink)
    return LogisticRegression(C=Creg, max_iter=3000).fit(np.vstack([Z, Xg]), np.concatenate([y, yg]))


def tau_scores(ytrue, logits, logp):
    return np.array([balanced_accuracy_score(ytrue, np.argmax(logits - t * logp, 1)) for t in TAUS])


def run(acc, name, seed, out_dir):
    path = os.path.join(out_dir, f"{name}.seed{seed}.json")
    res = json.load(open(path)) if os.path.exists(path) else {}
    if all(m in res for m in METHODS):
        return
    sp = load(acc, name, seed)
    (xt, yt), (xv, yv), (xs, ys) = sp["train"], sp["val"], sp["test"]
    x, y = np.vstack([xt, xv]), np.concatenate([yt, yv])
    C = int(max(y.max(), ys.max())) + 1
    counts = np.bincount(yt, minlength=C); grp = groups(counts)
    sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    logp = np.log(np.bincount(y, minlength=C) / len(y))
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    folds = list(cv.split(z, y))

    def record(key, pred, extra):
        r = {"overall": 100 * float(np.mean(pred == ys))}
        for g, cls in grp.items():
            r[g] = 100 * float(np.mean([np.mean(pred[ys == c] == c) for c in cls]))
        res[key] = dict(r, **extra)
        write_json(path, res, indent=1)
        print(f"{name} s{seed} {key:10s} overall {r['overall']:.2f} few {r['few']:.2f} {extra}", flush=True)

    t = time.time()
    lrcv = LogisticRegressionCV(Cs=CS, cv=cv, class_weight="balanced", scoring="balanced_accuracy",
                                max_iter=3000).fit(z, y)
    cstar = float(lrcv.C_[0]); cv_lrcv = float(np.max(np.mean(lrcv.scores_[lrcv.classes_[0]], 0)))
    record("lrcv", lrcv.predict(zs), dict(C=cstar, cv=cv_lrcv, seconds=round(time.time() - t, 1)))

    t = time.time()
    lr = LogisticRegressionCV(Cs=CS, cv=cv, scoring="neg_log_loss", max_iter=3000, refit=False).fit(z, y)
    ba = np.zeros((len(CS), len(TAUS)))
    for te, logits in fold_logits(lr, z, y, cv):
        tr = np.setdiff1d(np.arange(len(y)), te)
        lp = np.log(np.bincount(y[tr], minlength=C) / len(tr))
        ba += np.array([tau_scores(y[te], logits[j], lp) for j in range(len(CS))]) / 5
    j, k = np.unravel_index(np.argmax(ba), ba.shape)
    la = LogisticRegression(C=CS[j], max_iter=3000).fit(z, y)
    la_pred = np.argmax(la.decision_function(zs) - TAUS[k] * logp, 1)
    record("la", la_pred, dict(C=float(CS[j]), tau=float(TAUS[k]), cv=float(ba[j, k]), seconds=round(time.time() - t, 1)))

    cgen = cstar / 3
    for shrink, tag in ((False, "gen"), (True, "gen_lw")):
        t = time.time()
        bt = np.zeros(len(TAUS))
        for f, (tr, te) in enumerate(folds):
            m = fit_gen(z[tr], y[tr], C, cgen, 1000 + 17 * seed + f, shrink)
            lp = np.log(np.bincount(y[tr], minlength=C) / len(tr))
            bt += tau_scores(y[te], m.decision_function(z[te]), lp) / 5
        m = fit_gen(z, y, C, cgen, 1000 + 17 * seed + 99, shrink)
        lg = m.decision_function(zs); kb = int(np.argmax(bt)); secs = round(time.time() - t, 1)
        record(tag, np.argmax(lg, 1), dict(C=cgen, cv=float(bt[0]), seconds=secs))
        record(f"{tag}_la", np.argmax(lg - TAUS[kb] * logp, 1), dict(C=cgen, tau=float(TAUS[kb]), cv=float(bt[kb])))
        cand = {"lrcv": (cv_lrcv, lrcv.predict(zs)), "la": (float(ba[j, k]), la_pred),
                f"{tag}_la": (float(bt[kb]), np.argmax(lg - TAUS[kb] * logp, 1))}
        best = max(cand, key=lambda q: cand[q][0])
        record("sel" if tag == "gen" else "sel_lw", cand[best][1], dict(chosen=best, cv={q: v[0] for q, v in cand.items()}))


def summarize(out_dir, judge, held, md=None):
    data = {}
    for p in sorted(glob.glob(os.path.join(out_dir, "*.seed*.json"))):
        name, seed = os.path.basename(p)[:-5].rsplit(".seed", 1)
        data.setdefault(name, {})[int(seed)] = json.load(open(p))
    lines = []
    for label, seeds in (("judged on", judge), ("held out", held)):
        lines += [f"\nSeeds {label}: {' '.join(map(str, seeds))}. Δ against `la` (logit adjustment, the suite's "
                  "sk-la), paired per seed.\n",
                  "| set | method | seeds | overall | Few | Δ overall vs la | Δ Few | W/T/L | chosen / tau |",
                  "|---|---|---|---|---|---|---|---|---|"]
        avg = {m: [] for m in METHODS}
        for name in [s for s in SETS if s in data]:
            ss = [s for s in seeds if s in data[name] and all(m in data[name][s] for m in METHODS)]
            if not ss:
                continue
            for m in METHODS:
                a = [data[name][s][m] for s in ss]; b = [data[name][s]["la"] for s in ss]
                d = np.array([u["overall"] - v["overall"] for u, v in zip(a, b)])
                f = np.array([u["few"] - v["few"] for u, v in zip(a, b)])
                w = int(np.sum(d > 0.05)); l = int(np.sum(d < -0.05))
                avg[m].append((d.mean(), f.mean()))
                note = ",".join(str(u.get("chosen", u.get("tau", ""))) for u in a)
                ov = np.array([u["overall"] for u in a])
                lines.append(f"| {name} | {m} | {len(ss)} | {ov.mean():.2f} ± {ov.std():.2f} | "
                             f"{np.mean([u['few'] for u in a]):.2f} | {d.mean():+.2f} | {f.mean():+.2f} | "
                             f"{w}/{len(d) - w - l}/{l} | {note} |")
        lines += ["", "| method | sets | mean Δ overall vs la | mean Δ Few | worst set |", "|---|---|---|---|---|"]
        for m in METHODS:
            if avg[m]:
                v = np.array(avg[m])
                lines.append(f"| {m} | {len(v)} | {v[:, 0].mean():+.2f} | {v[:, 1].mean():+.2f} | {v[:, 0].min():+.2f} |")
    text = "\n".join(lines)
    print(text)
    if md:
        open(md, "w").write(text + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--acc", default=os.environ.get("ACC_DIR", "/tmp/afg-accuracy"))
    ap.add_argument("--sets", nargs="*", default=["debian-sections", "fortunes", "python-docs", "perl-pod"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--summarize", action="store_true")
    ap.add_argument("--judge", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--held-out", nargs="*", type=int, default=[5, 6])
    ap.add_argument("--md")
    a = ap.parse_args()
    out = os.path.join(a.acc, "results-la"); os.makedirs(out, exist_ok=True)
    if a.summarize:
        summarize(out, a.judge, a.held_out, a.md); return
    for name in a.sets:
        for seed in a.seeds:
            run(a.acc, name, seed, out)


if __name__ == "__main__":
    main()
