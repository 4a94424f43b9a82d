#!/usr/bin/env python3
"""The accuracy suite of `make bench-accuracy`: afg against scikit-learn on the real
long-tailed sets written by build_sets.py, paired over seeds.

    python3 bench/accuracy/suite.py run [--sets ...] [--seeds 0 1 2] [--methods ...]
    python3 bench/accuracy/suite.py table [--seeds 0 1 2] [--md FILE]
    ACC_DIR=NEW python3 bench/accuracy/suite.py compare --against OLD [--sets ...] [--seeds ...] [--methods ...]

Seeds 0, 1, 2 are the ones defaults were chosen on; `build_sets.py --seeds 3 4` writes two more,
kept to check a choice on draws it was not made on (`run --seeds 3 4`, `table --seeds 3 4`),
`--seeds 5 6` two more that no default has been chosen on since (their 2026-12-06 use: the
held-out seeds of the logit-adjustment prototypes), `--seeds 7 8` two more
built on 2026-12-01 to check that round's candidates, `--seeds 9 10` two more built after
the two-view blend was committed, `--seeds 11 12` two more built after the pooled scaling
was chosen, `--seeds 13 14 15 16` four more built after it was committed, and `--seeds 16 17 18 19`
built on 2026-12-07, on a machine that had seeds 0-15 only, after square-root class weights
were committed, and `--seeds 20 ... 25`, drawn later that day (first of the four signed sets,
to check a lead of the τ-normalisation prototype; then of all eight), after the last change
to any classifier, and `--seeds 26 27 28`, drawn after the check sets (docs/RESULTS.md).
`--sets` also takes build_sets.py's check sets (wordnet-lex, r-help and their -steep
profiles: sources the suite does not use) and every text set with `-mpnet` (the same rows
and splits embedded by all-mpnet-base-v2), run only when named; `table` tables the sets
named in `--sets`.

Methods (every one sees the same labelled rows, train + val; the test split is balanced and
only scored):
  recommended  afg train --method glag --select-on-val     (the recommended command)
  glag         afg train --method glag --val VAL            (plain defaults)
  afg-lr       afg train --method crt --solver lbfgs --C auto   (afg's class-weighted LR, C by CV)
  afg-la       afg train --method logit-adjust --solver lbfgs   (logit adjustment, C and τ by CV)
  sk-lrcv      StandardScaler + LogisticRegressionCV(class_weight="balanced",
               Cs=logspace(-4, 4, 9), cv=StratifiedKFold(5, shuffle=True, random_state=seed),
               scoring="balanced_accuracy", max_iter=3000) on train + val
  sk-la        logit adjustment (Menon et al., ICLR 2021) over an unweighted multinomial
               LogisticRegressionCV, scaled as sk-lrcv (StandardScaler on train + val, the same
               Cs, folds and max_iter): predict argmax(logits - tau * log prior), tau in
               {0, 0.25, ..., 2}; C and tau chosen jointly by the mean fold balanced accuracy of
               the CV's own out-of-fold logits (no extra fit), then refit on train + val
  sk-la-ll     the same CV, C by its log-loss, tau by balanced accuracy at that C
  sk-la-raw, sk-la-ll-raw   the two on the rows as they are, no StandardScaler (sentence
               embeddings come normalised; per-feature scaling weighs every dimension alike)

The peers are sk-lrcv, sk-la, sk-la-ll and the two -raw; per set, the bar is the peer with the
best mean overall over the seeds tabled, among the peers run on every one of them (the table
names the peers left out). Many / Medium / Few = top / middle / bottom third of the classes
by training count. One JSON per (set, seed, method) under $ACC_DIR/suite/, with
every test row's predicted class, so a run can be resumed; `table` pairs each method with the
bar per seed (win / loss when the difference exceeds 0.05 points) and gives each mean Δ its
standard error over the seeds and the test rows (`bootstrap_se`): a set's test split is the
same for every seed, so its sampling noise stays in a mean over seeds. afg's predictions are
its classifier file applied as the afg Python package applies it, checked against
`afg evaluate`'s confusion matrix; the recommended command's JSON also keeps each
candidate's cross-validated mean (`cv_scores`, read by simulate_choice.py).
"""
import argparse, json, os, subprocess, sys, tempfile, time, warnings
import numpy as np
import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_sets import set_dir, SETS, ALL_SETS, replace_atomically, write_json  # noqa: E402

warnings.filterwarnings("ignore")
ACC = os.environ.get("ACC_DIR", "/tmp/afg-accuracy")
AFG = os.environ.get("AFG", os.path.join(HERE, "..", "..", ".build", "release", "afg"))
os.environ.setdefault("AFG_BINARY", AFG)           # the afg Python package (python/) runs the same binary
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
METHODS = ["recommended", "glag", "afg-lr", "afg-la",
           "sk-lrcv", "sk-la", "sk-la-ll", "sk-la-raw", "sk-la-ll-raw"]
# per set, the bar is the peer with the best mean overall among those run on every seed tabled
PEERS = ["sk-lrcv", "sk-la", "sk-la-ll", "sk-la-raw", "sk-la-ll-raw"]
CS = np.logspace(-4, 4, 9)
TAUS = np.arange(9) * 0.25                  # 0, 0.25, ..., 2
AFG_ARGS = {
    "recommended": ["--method", "glag", "--select-on-val"],
    "glag": ["--method", "glag"],
    "afg-lr": ["--method", "crt", "--solver", "lbfgs", "--C", "auto"],
    "afg-la": ["--method", "logit-adjust", "--solver", "lbfgs"],
}


def load(path):
    with h5py.File(path, "r") as f:
        return f["features"][:].astype(np.float64), f["labels"][:].astype(np.int64)


def groups(counts):
    c = len(counts); k = c // 3
    order = np.argsort(-np.asarray(counts), kind="stable")
    return {"many": order[:k], "medium": order[k:c - k], "few": order[c - k:]}


def scores(recall, counts, overall):
    out = {"overall": 100 * overall, "mean_recall": 100 * float(np.mean(recall))}
    for g, cls in groups(counts).items():
        out[g] = 100 * float(np.mean(recall[cls]))
    return out


def afg_logits(clf, xs, tmp):
    """The logits (with a memory head, the mixed scores) of each row of `xs` under the
    classifier file `clf`: exported as .npz (`afg export`) and applied as the afg Python
    package applies it."""
    from afg.estimators import memory_scores, tukey
    npz = os.path.join(tmp, "c.npz")
    subprocess.run([AFG, "export", "--classifier", clf, "--out", npz], capture_output=True, check=True)
    with np.load(npz, allow_pickle=False) as m:
        x = xs.astype(np.float32).astype(np.float64)
        lam = float(m["tukey_lambda"]) if "tukey_lambda" in m.files else None
        t = tukey(x, lam)
        logits = t @ m["weight"].T.astype(np.float64) + m["bias"].astype(np.float64)
        if "raw_weight" in m.files:
            logits += x @ m["raw_weight"].T.astype(np.float64)
        if "memory_rows" in m.files:
            logits = memory_scores(logits, t, m["memory_center"], m["memory_rows"], m["memory_labels"],
                                   float(m["memory_temperature"]), float(m["memory_weight"]))
    return logits


def afg_predictions(clf, xs, tmp):
    """The class of the largest logit of each row of `xs` under the classifier file `clf`."""
    return np.argmax(afg_logits(clf, xs, tmp), 1)


def run_afg(method, d, seed):
    xs, ys = load(f"{d}/test.h5")
    with tempfile.TemporaryDirectory() as tmp:
        clf = os.path.join(tmp, "c.h5")
        t0 = time.time()
        cmd = [AFG, "train", *AFG_ARGS[method], "--train", f"{d}/train.h5", "--val", f"{d}/val.h5",
               "--out", clf, "--seed", str(seed), "--quiet", "--json"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)}: {r.stderr.strip()}")
        seconds = time.time() - t0
        info = json.loads(r.stdout)
        e = subprocess.run([AFG, "evaluate", "--classifier", clf, "--test", f"{d}/test.h5", "--json"],
                           capture_output=True, text=True, check=True)
        conf = np.asarray(json.loads(e.stdout)["confusion"], dtype=np.int64)
        p = afg_predictions(clf, xs, tmp)
    # afg evaluate scores the file; the rows' predictions must give its confusion exactly
    mine = np.zeros_like(conf)
    np.add.at(mine, (ys, p), 1)
    if not np.array_equal(mine, conf):
        raise SystemExit(f"{d}: {method} seed {seed}: the exported classifier's predictions disagree with "
                         f"afg evaluate on {int(np.abs(mine - conf).sum()) // 2} test rows")
    memory = [n for n in info.get("notes", []) if n.startswith("memory head")]
    return p, seconds, {"selected": info.get("selected"), "chosen": info.get("chosen"),
                        "cv_scores": info.get("selectionGrid"), "memory": memory[0] if memory else None}


def split_rows(d):
    xt, yt = load(f"{d}/train.h5"); xv, yv = load(f"{d}/val.h5"); xs, ys = load(f"{d}/test.h5")
    return np.vstack([xt, xv]), np.concatenate([yt, yv]), xs, ys, int(max(yt.max(), ys.max())) + 1


def recall_of(p, ys, c):
    return np.array([np.mean(p[ys == k] == k) for k in range(c)])


def run_sklearn(d, seed):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    lr = LogisticRegressionCV(Cs=CS, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                              class_weight="balanced", scoring="balanced_accuracy", max_iter=3000)
    model = make_pipeline(StandardScaler(), lr).fit(x, y)
    seconds = time.time() - t0
    return model.predict(xs), seconds, {"C": float(lr.C_[0])}


def fold_logits(lr, z, y, cv):
    """Out-of-fold logits of LogisticRegressionCV's own fits: for fold f and grid point j,
    the fold's held-out rows times the coefficients it fitted without them. Returns a list over
    folds of (held-out index, array n_Cs x rows x classes)."""
    paths = np.stack([lr.coefs_paths_[k] for k in lr.classes_])      # classes x folds x Cs x (D+1)
    out = []
    for f, (_, te) in enumerate(cv.split(z, y)):
        w = paths[:, f]                                               # classes x Cs x (D+1)
        out.append((te, np.einsum("nd,kjd->jnk", z[te], w[:, :, :-1]) + w[:, :, -1].T[:, None, :]))
    return out


def logit_adjust_cv(z, y, c, seed):
    """The logit-adjustment peers' cross-validation on scaled rows `z`: one unweighted
    LogisticRegressionCV over CS (the suite's folds, scoring log-loss, no refit) and, from
    its out-of-fold logits, the balanced accuracy of argmax(logits - tau * log prior) with
    each fold's own training prior. Returns (folds, the fitted CV, balanced accuracy as
    folds x Cs x TAUS, mean log-loss score per C)."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    lr = LogisticRegressionCV(Cs=CS, cv=cv, scoring="neg_log_loss", max_iter=3000, refit=False).fit(z, y)
    folds = fold_logits(lr, z, y, cv)
    ba = np.zeros((len(folds), len(CS), len(TAUS)))
    for f, (te, logits) in enumerate(folds):
        tr = np.setdiff1d(np.arange(len(y)), te)
        logp = np.log(np.bincount(y[tr], minlength=c) / len(tr))
        for j in range(len(CS)):
            for t, tau in enumerate(TAUS):
                ba[f, j, t] = balanced_accuracy_score(y[te], np.argmax(logits[j] - tau * logp, 1))
    return cv, lr, ba, np.mean(lr.scores_[lr.classes_[0]], axis=0)


def run_logit_adjust(d, seed, scaled=True):
    """Logit adjustment over an unweighted multinomial LogisticRegressionCV (scaled as sk-lrcv:
    StandardScaler fitted on train + val, then 5-fold stratified CV on the scaled rows). One CV
    (scoring log-loss) gives the fold fits; from their out-of-fold logits, balanced accuracy of
    argmax(logits - tau * log prior) with the fold's own training prior, for every (C, tau) of
    CS x TAUS. sk-la: C and tau jointly by the mean fold balanced accuracy; sk-la-ll: C by the
    CV's log-loss, tau by balanced accuracy at that C. Then an unweighted LogisticRegression at
    each chosen C on all of train + val, predicting with the prior of train + val. Unscaled:
    the same on the rows as they are, as sk-la-raw and sk-la-ll-raw."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    x, y, xs, ys, c = split_rows(d)
    t0 = time.time()
    if scaled:
        sc = StandardScaler().fit(x); z = sc.transform(x); zs = sc.transform(xs)
    else:
        z, zs = x, xs
    _, _, ba_folds, ll = logit_adjust_cv(z, y, c, seed)
    ba = np.zeros(ba_folds.shape[1:])
    for fold in ba_folds:                      # fold by fold, as the scores were summed before
        ba += fold / len(ba_folds)
    j_ba, t_ba = np.unravel_index(np.argmax(ba), ba.shape)
    j_ll = int(np.argmax(ll)); t_ll = int(np.argmax(ba[j_ll]))
    cv_seconds = time.time() - t0
    logp = np.log(np.bincount(y, minlength=c) / len(y))
    fits, out = {}, {}
    suffix = "" if scaled else "-raw"
    for name, j, t in ((f"sk-la{suffix}", j_ba, t_ba), (f"sk-la-ll{suffix}", j_ll, t_ll)):
        t1 = time.time()
        if j not in fits:
            fits[j] = LogisticRegression(C=CS[j], max_iter=3000).fit(z, y)
        p = np.argmax(fits[j].decision_function(zs) - TAUS[t] * logp, 1)
        out[name] = (p, cv_seconds + time.time() - t1, {"C": float(CS[j]), "tau": float(TAUS[t]), "cv_balanced_accuracy": float(ba[j, t])})
    return out


def run(args):
    os.makedirs(f"{ACC}/suite", exist_ok=True)
    for name in args.sets:
        for seed in args.seeds:
            d = set_dir(ACC, name, seed)
            if not os.path.exists(f"{d}/train.h5"):
                sys.exit(f"{d}/train.h5: no such split (build_sets.py --sets {name} --seeds {seed} writes it)")
            _, yt = load(f"{d}/train.h5"); _, ys = load(f"{d}/test.h5")
            counts = np.bincount(yt)
            for m in args.methods:
                path = f"{ACC}/suite/{name}.seed{seed}.{m}.json"
                if os.path.exists(path) and not args.force:
                    continue
                if m in ("sk-la", "sk-la-ll", "sk-la-raw", "sk-la-ll-raw"):
                    got = run_logit_adjust(d, seed, scaled=not m.endswith("-raw"))   # one CV gives both
                else:
                    got = {m: run_sklearn(d, seed) if m == "sk-lrcv" else run_afg(m, d, seed)}
                for k, (p, seconds, extra) in got.items():
                    res = {"set": name, "seed": seed, "method": k, "seconds": seconds,
                           **scores(recall_of(p, ys, len(counts)), counts, float(np.mean(p == ys))), **extra,
                           "predictions": np.asarray(p).tolist()}
                    write_json(f"{ACC}/suite/{name}.seed{seed}.{k}.json", res)
                    print(f"{name} seed {seed} {k:12s} overall {res['overall']:6.2f} few {res['few']:6.2f} "
                          f"{seconds:7.1f} s {extra}", flush=True)


def bar_of(rows, s, seeds):
    """The peer with the best mean overall on set s over seeds, among the peers run on every
    one of them (None when there is none)."""
    have = [m for m in PEERS if all((s, q, m) in rows for q in seeds)]
    return max(have, key=lambda m: np.mean([rows[(s, q, m)]["overall"] for q in seeds])) if have else None


def bootstrap_se(d, ys, rng, draws=1000):
    """The standard error of `d.mean()`, `d` (seeds × test rows) a per-row paired difference
    (1 where one method is right and the other wrong, −1 the other way, 0 otherwise), as the
    spread of its mean over `draws` resamples of the seeds and, within each class, of the test
    rows. The rows are resampled once for every seed: each set's test split is the same for
    all seeds (build_sets.py), so more seeds do not average its sampling noise away."""
    seeds, n = d.shape
    w = np.zeros((n, draws))
    for k in np.unique(ys):
        idx = np.flatnonzero(ys == k)
        pick = rng.integers(0, len(idx), (draws, len(idx)))
        w[idx] = np.stack([np.bincount(r, minlength=len(idx)) for r in pick], 1)
    per_seed = d @ w / n                                   # seeds × draws
    which = rng.integers(0, seeds, (seeds, draws))
    return float(per_seed[which, np.arange(draws)].mean(0).std(ddof=1))


def paired_se(a, b, ys, rng):
    """`bootstrap_se` of the runs `a` against the runs `b` (the same seeds, in order), in
    points; None when a run has no predictions."""
    if not all("predictions" in x for x in a + b):
        return None
    right = [np.asarray(x["predictions"]) == ys for x in a + b]
    return 100 * bootstrap_se(np.array(right[:len(a)], float) - np.array(right[len(a):], float), ys, rng)


def paired(a, b, ys, rng):
    """The runs `a` against the runs `b` (the same seeds, in order): mean Δ overall and Few,
    W/T/L (a win or loss when the difference exceeds 0.05 points) and `paired_se`."""
    d = [x["overall"] - y["overall"] for x, y in zip(a, b)]
    f = [x["few"] - y["few"] for x, y in zip(a, b)]
    w = sum(v > 0.05 for v in d); l = sum(v < -0.05 for v in d)
    return {"d": np.mean(d), "f": np.mean(f), "wtl": f"{w}/{len(d) - w - l}/{l}", "se": paired_se(a, b, ys, rng)}


def mean_se(ses):
    """The standard error of a mean over sets, from each set's: `√(Σ SE²)/sets`; "—" when one is missing."""
    return "—" if None in ses else f"{np.sqrt(np.sum(np.square(ses))) / len(ses):.2f}"


def fmt_se(se):
    return "—" if se is None else f"{se:.2f}"


def test_labels(s, seeds):
    """The test labels every seed of set `s` shares; exits when the seeds' splits differ."""
    _, ys = load(f"{set_dir(ACC, s, seeds[0])}/test.h5")
    if any(not np.array_equal(load(f"{set_dir(ACC, s, q)}/test.h5")[1], ys) for q in seeds[1:]):
        raise SystemExit(f"{s}: the seeds' test splits differ; bootstrap_se assumes one split shared by all seeds")
    return ys


def set_digest(root, name, seed):
    """The text set's digest (build_sets.py's `texts_sha256`) under ACC_DIR `root`; None for a
    set without one (tabular sets, or built before digests) or not there."""
    path = os.path.join(set_dir(root, name, seed), "test.h5")
    if not os.path.exists(path):
        return None
    with h5py.File(path, "r") as f:
        v = f.attrs.get("texts_sha256")
    return None if v is None else (v.decode() if isinstance(v, bytes) else str(v))


def compare(args):
    """Each method's runs here ($ACC_DIR) against its runs in `--against` (another build's,
    on the same sets and seeds), paired per seed and per test row: the change a candidate
    makes, with its standard error, before any table against the bar. Runs on text sets
    whose digests differ (build_sets.py's `texts_sha256`: the texts moved with a package
    update) are refused, not paired."""
    rng = np.random.default_rng(0)
    out = ["| set | method | seeds | new − old overall | ± SE | Δ Few | W/T/L | same predictions | choice changed |",
           "|---|---|---|---|---|---|---|---|---|"]
    summary = {}
    for s in args.sets:
        for m in args.methods:
            pairs = [(json.load(open(f"{ACC}/suite/{n}")), json.load(open(f"{args.against}/suite/{n}")))
                     for q in args.seeds for n in [f"{s}.seed{q}.{m}.json"]
                     if os.path.exists(f"{ACC}/suite/{n}") and os.path.exists(f"{args.against}/suite/{n}")]
            if not pairs:
                continue
            for x, _ in pairs:
                here, there = set_digest(ACC, s, x["seed"]), set_digest(args.against, s, x["seed"])
                if here and there and here != there:
                    raise SystemExit(f"{s} seed {x['seed']}: the set under {ACC} and under {args.against} differ "
                                     f"(texts_sha256 {here[:12]}… vs {there[:12]}…): their runs cannot be paired")
            a, b = [x for x, _ in pairs], [y for _, y in pairs]
            p = paired(a, b, test_labels(s, [x["seed"] for x in a]), rng)
            same = sum(x.get("predictions") is not None and x.get("predictions") == y.get("predictions") for x, y in pairs)
            moved = sum((x.get("selected"), x.get("chosen")) != (y.get("selected"), y.get("chosen")) for x, y in pairs)
            summary.setdefault(m, []).append(p)
            out.append(f"| {s} | {m} | {len(pairs)} | {p['d']:+.2f} | {fmt_se(p['se'])} | {p['f']:+.2f} | {p['wtl']} "
                       f"| {same} | {moved} |")
    out.append("")
    for m, v in summary.items():
        out.append(f"{m}: mean over {len(v)} sets {np.mean([p['d'] for p in v]):+.2f} ± {mean_se([p['se'] for p in v])}")
    print("\n".join(out))


def table(args):
    rows = {}
    for fn in sorted(os.listdir(f"{ACC}/suite")):
        r = json.load(open(f"{ACC}/suite/{fn}"))
        if r["seed"] in args.seeds and r["method"] in set(args.methods) | set(PEERS):
            rows[(r["set"], r["seed"], r["method"])] = r
    sets = [s for s in args.sets if any(k[0] == s for k in rows)]
    out = ["| set | bar | method | seeds | overall | Few | Δ overall vs bar | ± SE | Δ Few | W/T/L | s/seed |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    avg = {m: {"d": [], "f": [], "se": []} for m in METHODS}
    left_out = []
    rng = np.random.default_rng(0)
    for s in sets:
        # a seed counts once every afg method run on s has run on it; the bar is read from the
        # peers run on every such seed (bar_of), so a peer run on fewer seeds drops out of it
        ran = {k[2] for k in rows if k[0] == s} - set(PEERS)
        seeds = sorted(q for q in {k[1] for k in rows if k[0] == s} if all((s, q, m) in rows for m in ran))
        bar = bar_of(rows, s, seeds) if seeds else None
        if bar is None:
            continue
        missing = [m for m in PEERS if not all((s, q, m) in rows for q in seeds)]
        if missing:
            left_out.append(f"{s}: the bar is read without {', '.join(missing)} "
                            "(not run on every seed tabled)")
        ys = test_labels(s, seeds)
        for m in METHODS:
            if not all((s, q, m) in rows for q in seeds):
                continue
            a = [rows[(s, q, m)] for q in seeds]; b = [rows[(s, q, bar)] for q in seeds]
            p = paired(a, b, ys, rng)
            avg[m]["d"].append(p["d"]); avg[m]["f"].append(p["f"]); avg[m]["se"].append(p["se"])
            out.append(f"| {s} | {bar} | {m} | {len(seeds)} | {np.mean([x['overall'] for x in a]):.2f} ± "
                       f"{np.std([x['overall'] for x in a]):.2f} | {np.mean([x['few'] for x in a]):.2f} "
                       f"| {p['d']:+.2f} | {fmt_se(p['se'])} | {p['f']:+.2f} | {p['wtl']} "
                       f"| {np.mean([x['seconds'] for x in a]):.1f} |")
    out.append("")
    out.append("SE: the standard error of the mean Δ over the seeds and the set's test rows (`bootstrap_se`).")
    out += [f"- {line}" for line in left_out]
    out.append("")
    out.append("| method | sets | mean Δ overall vs bar | ± SE | mean Δ Few | worst set Δ overall |")
    out.append("|---|---|---|---|---|---|")
    for m in METHODS:
        if avg[m]["d"]:
            out.append(f"| {m} | {len(avg[m]['d'])} | {np.mean(avg[m]['d']):+.2f} | {mean_se(avg[m]['se'])} | {np.mean(avg[m]['f']):+.2f} "
                       f"| {min(avg[m]['d']):+.2f} |")
    text = "\n".join(out)
    print(text)
    if args.md:
        def fill(tmp):
            with open(tmp, "w") as f:
                f.write(text + "\n")
        replace_atomically(args.md, fill)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "table", "compare"])
    ap.add_argument("--sets", nargs="*", default=SETS)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--methods", nargs="*", default=METHODS)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--md")
    ap.add_argument("--against", help="compare: the other ACC_DIR, whose suite/ holds the runs to pair with")
    args = ap.parse_args()
    if (args.what == "compare") != (args.against is not None):
        ap.error("--against goes with compare, and compare needs it")
    if args.md and args.what != "table":
        ap.error("--md goes with table")
    if args.md and os.path.isdir(args.md):
        ap.error(f"--md {args.md}: a directory, not a file to write the table to")
    if args.force and args.what != "run":
        ap.error("--force goes with run")
    unknown = [s for s in args.sets if s not in ALL_SETS]
    if unknown:
        ap.error(f"--sets {unknown[0]}: not a set of build_sets.py ({', '.join(ALL_SETS)})")
    if args.against and not os.path.isdir(f"{args.against}/suite"):
        ap.error(f"--against {args.against}: no suite/ directory of runs there")
    {"run": run, "table": table, "compare": compare}[args.what](args)


if __name__ == "__main__":
    main()
