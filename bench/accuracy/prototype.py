#!/usr/bin/env python3
"""Prototype of afg's stage-two recipe against class-weighted logistic regression on the
accuracy suite written by build_sets.py (numpy / scikit-learn only, no afg binary).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 bench/accuracy/prototype.py \
        --sets letter-lt --seeds 0 1 2 [--methods a_raw rec ...]     # runs, one JSON per (set, seed)
    python3 bench/accuracy/prototype.py --summarize                   # table from the JSONs

Methods (all evaluated on the balanced test split; Tukey "auto" = lambda 0.5 when every
feature of the set is >= 0, else none; every logistic regression is fitted on inputs
standardised with the mean / std of the real train rows of its feature space):
  a_raw    LogisticRegressionCV(class_weight="balanced", Cs=logspace(-4,4,9), 5-fold stratified
           CV over train, scoring balanced accuracy, lbfgs) on the raw features. THE BAR.
  a_tk     the same on Tukey-auto features (identical to a_raw for signed features). Its C is C*.
  lrval_raw / lrval_tk  class-weighted LR, C from the same grid chosen on val (mean recall).
  rec      method.md recipe: head = n_c >= h (h = n_max/6), heads filled to n_max from their
           own Gaussian, tail classes filled to n_max with draws = real sample + noise with
           Sigma' = (1-b) S_c + b sum_i w_i S_i over the k = 2 nearest richer classes,
           w ~ n_i/d_i, b = 1; unweighted multinomial LR (lbfgs) on real + generated,
           C from {C*/3, C*, 3C*} chosen on val (mean recall). rec_cv: same models, C chosen
           by 3-fold stratified CV over train (generation redone inside each fold).
  variants rec_h12 (h = n_max/12), rec_h3 (h = n_max/3), rec_h2 (h = n_max/2), rec_h1 (h = n_max:
           every class but the largest is tail), rec_h3k3, rec_h100 (h = 100), rec_b05 (b = 0.5),
           rec_k3 (k = 3), rec_gw05 (generated rows weight 0.5), rec_b05k3,
  isda     closed-form expectation instead of sampling: LR on the real rows with balanced
           class weights, logit j of a tail row of class y raised by
           1/2 (w_j - w_y)^T Sigma'_y (w_j - w_y) (Sigma'_y from the support of the class mean).
  mix      class-weighted LR on real rows + tail classes filled only up to h by the recipe.
"""
import argparse, glob, json, math, os, sys, time, warnings
import numpy as np
import h5py
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.exceptions import ConvergenceWarning

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_sets import set_dir, SETS, write_json  # noqa: E402

CS = np.logspace(-4, 4, 9)
MAX_ITER = 3000       # LogisticRegressionCV (the bar)
FIT_MAX_ITER = 3000   # the other fits; --max-iter lowers it (text sets: 300, see RESULTS-prototype.md)
ALL_METHODS = ["a_raw", "a_tk", "lrval_raw", "lrval_tk", "rec", "rec_cv", "rec_h12", "rec_h3",
               "rec_h2", "rec_h1", "rec_h3k3", "rec_h100", "rec_b05", "rec_k3", "rec_b05k3", "rec_gw05", "isda", "mix"]
VARIANTS = {  # name: overrides of the recipe defaults
    "rec": {}, "rec_h12": dict(h="nmax/12"), "rec_h3": dict(h="nmax/3"), "rec_h100": dict(h=100),
    "rec_h2": dict(h="nmax/2"), "rec_h1": dict(h="nmax/1"), "rec_h3k3": dict(h="nmax/3", k=3),
    "rec_b05": dict(beta=0.5), "rec_k3": dict(k=3), "rec_b05k3": dict(beta=0.5, k=3),
    "rec_gw05": dict(gw=0.5),
}
DEFAULT = dict(h="nmax/6", beta=1.0, k=2, gw=1.0)
warnings.filterwarnings("ignore", category=ConvergenceWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)


def load(acc, name, seed):
    d = set_dir(acc, name, seed)
    out = {}
    for s in ("train", "val", "test"):
        with h5py.File(os.path.join(d, f"{s}.h5"), "r") as f:
            out[s] = (f["features"][:].astype(np.float64), f["labels"][:].astype(np.int64))
    return out


def mean_recall(y, p, C):
    r = [np.mean(p[y == c] == c) for c in range(C) if np.any(y == c)]
    return float(np.mean(r))


def groups(counts):
    """Many / Medium / Few = top / middle / bottom third of the classes by train count."""
    C = len(counts); k = C // 3
    order = np.argsort(-counts, kind="stable")
    return {"many": order[:k], "medium": order[k:C - k], "few": order[C - k:]}


def evaluate(model_pred, te, C, grp):
    x, y = te
    p = model_pred(x)
    res = {"overall": 100 * float(np.mean(p == y))}
    for g, cls in grp.items():
        res[g] = 100 * float(np.mean([np.mean(p[y == c] == c) for c in cls]))
    return res


# ---------------------------------------------------------------- generation
def class_stats(Z, y, C):
    D = Z.shape[1]
    n = np.bincount(y, minlength=C)
    mu = np.zeros((C, D)); F = []; S = np.zeros((C, D, D))
    for c in range(C):
        Zc = Z[y == c]; mu[c] = Zc.mean(0)
        if n[c] < 2:
            F.append(np.zeros((D, 1))); continue
        Xc = (Zc - mu[c]) / math.sqrt(n[c] - 1)
        S[c] = Xc.T @ Xc
        if n[c] - 1 < D:
            F.append(Xc.T)                       # D x n_c
        else:
            jit = 1e-6 * max(np.trace(S[c]) / D, 1e-12)
            F.append(np.linalg.cholesky(S[c] + jit * np.eye(D)))
    return n, mu, F, S


def h_value(h, nmax):
    if isinstance(h, str):
        return nmax / float(h.split("/")[1])
    return float(h)


def support(z, c, n, mu, k):
    """k nearest richer classes of each row of z (all of class c) and weights ~ n_i/d_i."""
    rich = np.where(n > n[c])[0]
    if len(rich) == 0:
        return None, None
    d = np.sqrt(((z[:, None, :] - mu[rich][None]) ** 2).sum(-1)) + 1e-12   # m x |rich|
    kk = min(k, len(rich))
    idx = np.argsort(d, axis=1)[:, :kk]
    sup = rich[idx]
    w = n[sup] / np.take_along_axis(d, idx, 1)
    return sup, w / w.sum(1, keepdims=True)


def generate(Z, y, C, cfg, rng, target=None, stats=None):
    """Generated rows (Xg, yg). Heads (n_c >= h) from N(mu_c, S_c); tail: seed sample + noise."""
    n, mu, F, S = stats if stats is not None else class_stats(Z, y, C)
    D = Z.shape[1]
    nmax = n.max()
    h = h_value(cfg["h"], nmax)
    beta, k = cfg["beta"], cfg["k"]
    M = nmax if target is None else target
    Xg, yg = [], []
    donor_rows = {}  # donor class -> list of (row indices into noise, scale)
    seeds_all = []
    for c in range(C):
        m = int(M - n[c])
        if m <= 0 or n[c] == 0:
            continue
        if n[c] >= h:
            if target is not None:   # "mix": heads are not filled
                continue
            E = rng.standard_normal((m, F[c].shape[1]))
            Xg.append(mu[c] + E @ F[c].T); yg.append(np.full(m, c)); continue
        Zc = Z[y == c]
        rep = np.full(n[c], m // n[c]); rep[rng.choice(n[c], m % n[c], replace=False)] += 1
        seeds = np.repeat(Zc, rep, axis=0)
        sup, w = support(seeds, c, n, mu, k)
        noise = np.zeros_like(seeds)
        own = 1.0 - beta if sup is not None else 1.0
        if own > 0 and n[c] >= 2:
            noise += math.sqrt(own) * (rng.standard_normal((m, F[c].shape[1])) @ F[c].T)
        if sup is not None and beta > 0:
            for s in range(sup.shape[1]):
                for i in np.unique(sup[:, s]):
                    r = np.where(sup[:, s] == i)[0]
                    E = rng.standard_normal((len(r), F[i].shape[1]))
                    noise[r] += np.sqrt(beta * w[r, s])[:, None] * (E @ F[i].T)
        Xg.append(seeds + noise); yg.append(np.full(m, c))
    if not Xg:
        return np.zeros((0, D)), np.zeros(0, np.int64)
    return np.vstack(Xg), np.concatenate(yg)


# ---------------------------------------------------------------- fitting
def fit_lr_grid(X, y, Cs, sw=None, class_weight=None):
    """Fits one LR per C (ascending, warm-started); returns list of models."""
    models = []
    lr = LogisticRegression(max_iter=FIT_MAX_ITER, warm_start=True, class_weight=class_weight)
    for c in sorted(Cs):
        lr.set_params(C=c)
        lr.fit(X, y, sample_weight=sw)
        m = LogisticRegression(C=c); m.coef_ = lr.coef_.copy(); m.intercept_ = lr.intercept_.copy()
        m.classes_ = lr.classes_; models.append(m)
    return models


def balanced_weights(y, C):
    n = np.bincount(y, minlength=C).astype(float)
    return (len(y) / (C * n))[y]


def isda_sigma(Z, y, C, stats, cfg):
    n, mu, F, S = stats
    h = h_value(cfg["h"], n.max())
    Sig = np.zeros_like(S); tail = []
    for c in range(C):
        if n[c] >= h or n[c] == 0:
            continue
        sup, w = support(mu[c][None], c, n, mu, cfg["k"])
        if sup is None:
            continue
        Sig[c] = (1 - cfg["beta"]) * S[c] + cfg["beta"] * sum(w[0, j] * S[sup[0, j]] for j in range(sup.shape[1]))
        tail.append(c)
    return Sig, tail


def fit_isda_grid(Z, y, C, Cs, Sig, tail, sw):
    N, D = Z.shape
    Y = np.zeros((N, C)); Y[np.arange(N), y] = 1
    cls_rows = [np.where(y == c)[0] for c in range(C)]
    models = []
    theta = np.zeros(C * D + C)
    sw_sum = float(np.sum(sw))

    def fg(th, Creg):
        W = th[:C * D].reshape(C, D); b = th[C * D:]
        L = Z @ W.T + b
        A = np.zeros((C, C)); Mv = {}
        for c in tail:
            Dm = W - W[c]; M = Dm @ Sig[c]; Mv[c] = M
            A[c] = 0.5 * np.einsum("jd,jd->j", Dm, M)
        L = L + A[y]
        lse = logsumexp(L, axis=1)
        loss = Creg * np.sum(sw * (lse - L[np.arange(N), y])) + 0.5 * np.sum(W * W)
        scale = 1.0 / (Creg * sw_sum)
        P = np.exp(L - lse[:, None])
        G = sw[:, None] * (P - Y)
        gW = Creg * (G.T @ Z) + W
        gb = Creg * G.sum(0)
        for c in tail:
            gy = G[cls_rows[c]].sum(0)      # C
            gW += Creg * gy[:, None] * Mv[c]
            gW[c] -= Creg * (gy @ Mv[c])
        return loss * scale, np.concatenate([gW.ravel(), gb]) * scale

    for Creg in sorted(Cs):
        r = minimize(fg, theta, args=(Creg,), jac=True, method="L-BFGS-B",
                     options=dict(maxiter=FIT_MAX_ITER, gtol=1e-5, maxcor=20))
        theta = r.x
        m = LogisticRegression(C=Creg)
        m.coef_ = theta[:C * D].reshape(C, D).copy(); m.intercept_ = theta[C * D:].copy()
        m.classes_ = np.arange(C); models.append(m)
    return models


# ---------------------------------------------------------------- one (set, seed)
def run(acc, name, seed, methods, out_dir, cv_folds=3):
    t0 = time.time()
    sp = load(acc, name, seed)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = sp["train"], sp["val"], sp["test"]
    C = int(max(ytr.max(), yva.max(), yte.max()) + 1)
    counts = np.bincount(ytr, minlength=C)
    grp = groups(counts)
    nonneg = min(Xtr.min(), Xva.min(), Xte.min()) >= 0
    tk = (lambda x: np.sqrt(x)) if nonneg else (lambda x: x)
    Ztr, Zva, Zte = tk(Xtr), tk(Xva), tk(Xte)
    # every LR sees standardised inputs (mean / std of the REAL train rows of its feature space):
    # lbfgs converges in a few hundred iterations instead of thousands on raw pixel / count scales
    def scaler(A):
        m, sd = A.mean(0), A.std(0); sd = np.where(sd > 1e-12, sd, 1.0)
        return lambda B: (B - m) / sd, sd
    sr, _ = scaler(Xtr); st, sd_t = scaler(Ztr)
    Xtr_s, Xva_s, Xte_s = sr(Xtr), sr(Xva), sr(Xte)
    Ztr_s, Zva_s, Zte_s = st(Ztr), st(Zva), st(Zte)
    path = os.path.join(out_dir, f"{name}.seed{seed}.json")
    res = json.load(open(path)) if os.path.exists(path) else {}
    res.setdefault("_info", dict(C=C, D=Xtr.shape[1], counts=counts.tolist(), tukey=0.5 if nonneg else None,
                                 groups={g: [int(c) for c in v] for g, v in grp.items()},
                                 few_max_count=int(counts[grp["few"]].max()),
                                 many_min_count=int(counts[grp["many"]].min())))
    rng_seed = 1000 + seed

    def save():
        write_json(path, res, indent=1)

    def pick_val(models, Zv):
        sc = [mean_recall(yva, m.predict(Zv), C) for m in models]
        i = int(np.argmax(sc)); return i, sc

    def record(key, model, Zt, extra, t):
        r = evaluate(model.predict, (Zt, yte), C, grp); r.update(extra); r["seconds"] = round(t, 1)
        res[key] = r; save()
        print(f"{name} s{seed} {key:10s} overall {r['overall']:.2f} few {r['few']:.2f} C {extra.get('C')} {t:.0f}s", flush=True)

    # --- the bar: LogisticRegressionCV on raw and on Tukey features
    def lrcv(X):
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
        m = LogisticRegressionCV(Cs=CS, cv=cv, class_weight="balanced", scoring="balanced_accuracy",
                                 max_iter=MAX_ITER)
        m.fit(X, ytr); return m

    cstar = {}
    for key, X, Xt in (("a_raw", Xtr_s, Xte_s), ("a_tk", Ztr_s, Zte_s)):
        need_tk = any(not m.startswith(("a_", "lrval")) for m in methods)
        if key not in methods and not (key == "a_tk" and need_tk):
            continue
        if key in res and "C" in res[key]:
            cstar[key] = res[key]["C"]; continue
        if key == "a_tk" and not nonneg and "a_raw" in res:
            res["a_tk"] = dict(res["a_raw"]); cstar[key] = res[key]["C"]; save(); continue
        t = time.time(); m = lrcv(X)
        cstar[key] = float(m.C_[0])
        record(key, m, Xt, dict(C=cstar[key]), time.time() - t)
    Cstar = cstar.get("a_tk")

    for key, X, Xv, Xt in (("lrval_raw", Xtr_s, Xva_s, Xte_s), ("lrval_tk", Ztr_s, Zva_s, Zte_s)):
        if key not in methods or key in res:
            continue
        if key == "lrval_tk" and not nonneg and "lrval_raw" in res:
            res[key] = dict(res["lrval_raw"]); save(); continue
        t = time.time(); ms = fit_lr_grid(X, ytr, CS, class_weight="balanced")
        i, sc = pick_val(ms, Xv)
        record(key, ms[i], Xt, dict(C=float(sorted(CS)[i])), time.time() - t)

    grid = [Cstar / 3, Cstar, Cstar * 3] if Cstar else None
    stats = class_stats(Ztr, ytr, C)
    for key in methods:
        if key in res or key.startswith(("a_", "lrval")) or key == "rec_cv":
            continue
        t = time.time()
        if key in VARIANTS:
            cfg = dict(DEFAULT, **VARIANTS[key])
            rng = np.random.default_rng(rng_seed)
            Xg, yg = generate(Ztr, ytr, C, cfg, rng, stats=stats)
            X = st(np.vstack([Ztr, Xg])); y = np.concatenate([ytr, yg])
            sw = np.concatenate([np.ones(len(ytr)), np.full(len(yg), cfg["gw"])]) if cfg["gw"] != 1 else None
            ms = fit_lr_grid(X, y, grid, sw=sw)
            i, sc = pick_val(ms, Zva_s)
            record(key, ms[i], Zte_s, dict(C=grid[i], val_scores=sc, n_generated=int(len(yg))), time.time() - t)
            if key == "rec" and "rec_cv" in methods and "rec_cv" not in res:
                # same full-train models; C by stratified K-fold CV over train, generation redone per fold
                t = time.time(); cvs = np.zeros(len(grid))
                skf = StratifiedKFold(cv_folds, shuffle=True, random_state=seed)
                for f, (a, b) in enumerate(skf.split(Ztr, ytr)):
                    Xg2, yg2 = generate(Ztr[a], ytr[a], C, cfg, np.random.default_rng(rng_seed + 17 + f))
                    fm = fit_lr_grid(st(np.vstack([Ztr[a], Xg2])), np.concatenate([ytr[a], yg2]), grid)
                    cvs += [mean_recall(ytr[b], m.predict(Ztr_s[b]), C) for m in fm]
                i = int(np.argmax(cvs))
                record("rec_cv", ms[i], Zte_s, dict(C=grid[i], cv_scores=(cvs / cv_folds).tolist()), time.time() - t)
        elif key == "isda":
            cfg = dict(DEFAULT)
            Sig, tail = isda_sigma(Ztr, ytr, C, stats, cfg)
            Sig = Sig / (sd_t[None, :, None] * sd_t[None, None, :])
            ms = fit_isda_grid(Ztr_s, ytr, C, grid, Sig, tail, balanced_weights(ytr, C))
            i, sc = pick_val(ms, Zva_s)
            record(key, ms[i], Zte_s, dict(C=grid[i], val_scores=sc), time.time() - t)
        elif key == "mix":
            cfg = dict(DEFAULT)
            h = int(math.ceil(h_value(cfg["h"], counts.max())))
            Xg, yg = generate(Ztr, ytr, C, cfg, np.random.default_rng(rng_seed), target=h, stats=stats)
            X = st(np.vstack([Ztr, Xg])); y = np.concatenate([ytr, yg])
            ms = fit_lr_grid(X, y, grid, sw=balanced_weights(y, C))
            i, sc = pick_val(ms, Zva_s)
            record(key, ms[i], Zte_s, dict(C=grid[i], val_scores=sc, n_generated=int(len(yg))), time.time() - t)
    print(f"{name} seed {seed} done in {time.time() - t0:.0f}s", flush=True)


# ---------------------------------------------------------------- summary
def summarize(out_dir, md=None):
    files = sorted(glob.glob(os.path.join(out_dir, "*.seed*.json")))
    data = {}
    for p in files:
        name, seed = os.path.basename(p)[:-5].rsplit(".seed", 1)
        data.setdefault(name, {})[int(seed)] = json.load(open(p))
    lines = []
    meth_all = [m for m in ALL_METHODS]
    wins = {m: [0, 0, 0] for m in meth_all}
    gains = {m: {"overall": [], "few": []} for m in meth_all}
    worst = {m: 1e9 for m in meth_all}
    for name in [s for s in SETS if s in data]:
        seeds = sorted(data[name])
        info = data[name][seeds[0]]["_info"]
        lines.append(f"\n### {name}  (C={info['C']}, D={info['D']}, Tukey {info['tukey']}, seeds {seeds}; "
                     f"Few = bottom third, train count <= {info['few_max_count']}; Many >= {info['many_min_count']})\n")
        lines.append("| method | seeds | overall | Many | Medium | Few | Δ overall vs a_raw | Δ Few vs a_raw | W/T/L | C | s/seed |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for m in meth_all:
            ss = [s for s in seeds if m in data[name][s] and "a_raw" in data[name][s]]
            if not ss:
                continue
            rows = [data[name][s][m] for s in ss]
            base = [data[name][s]["a_raw"] for s in ss]
            f = lambda g: np.array([r[g] for r in rows])
            cell = lambda a: f"{a.mean():.2f} ± {a.std():.2f}"
            d_o = d_f = None; wtl = ""
            if all(b is not None for b in base):
                bo = np.array([b["overall"] for b in base]); bf = np.array([b["few"] for b in base])
                d_o = f("overall") - bo; d_f = f("few") - bf
                w = int(np.sum(d_o > 0.05)); l = int(np.sum(d_o < -0.05)); tt = len(d_o) - w - l
                wtl = f"{w}/{tt}/{l}"
                if m != "a_raw":
                    wins[m][0] += w; wins[m][1] += tt; wins[m][2] += l
                    gains[m]["overall"].append(d_o.mean()); gains[m]["few"].append(d_f.mean())
                    gains[m].setdefault("sets", []).append(f"{name}" + ("" if len(ss) == len(seeds) else f"({len(ss)})"))
                    worst[m] = min(worst[m], d_o.mean())
            Cs = ",".join(f"{r.get('C', float('nan')):.3g}" for r in rows)
            secs = np.mean([r.get("seconds", np.nan) for r in rows])
            lines.append(f"| {m} | {len(ss)} | {cell(f('overall'))} | {cell(f('many'))} | {cell(f('medium'))} | {cell(f('few'))} | "
                         f"{'' if d_o is None else f'{d_o.mean():+.2f}'} | {'' if d_f is None else f'{d_f.mean():+.2f}'} | {wtl} | {Cs} | {secs:.0f} |")
    lines.append("\n### Across sets (mean over sets of the per-set mean paired difference vs a_raw)\n")
    lines.append("| method | sets | mean Δ overall | mean Δ Few | worst set Δ overall | W/T/L (set×seed) | sets (seeds, when fewer than the set has) |")
    lines.append("|---|---|---|---|---|---|---|")
    for m in meth_all:
        if m == "a_raw" or not gains[m]["overall"]:
            continue
        lines.append(f"| {m} | {len(gains[m]['overall'])} | {np.mean(gains[m]['overall']):+.2f} | "
                     f"{np.mean(gains[m]['few']):+.2f} | {worst[m]:+.2f} | {wins[m][0]}/{wins[m][1]}/{wins[m][2]} | {', '.join(gains[m]['sets'])} |")
    text = "\n".join(lines)
    print(text)
    if md:
        open(md, "w").write(text + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--acc", default=os.environ.get("ACC_DIR", "/tmp/afg-accuracy"))
    ap.add_argument("--sets", nargs="*", default=SETS)
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--methods", nargs="*", default=ALL_METHODS)
    ap.add_argument("--summarize", action="store_true")
    ap.add_argument("--md", default=None)
    ap.add_argument("--max-iter", type=int, default=None,
                    help="cap on lbfgs iterations of the non-bar fits (default 3000)")
    a = ap.parse_args()
    if a.max_iter:
        global FIT_MAX_ITER
        FIT_MAX_ITER = a.max_iter
    out = os.path.join(a.acc, "results"); os.makedirs(out, exist_ok=True)
    if a.summarize:
        summarize(out, a.md); return
    for name in a.sets:
        for seed in a.seeds:
            run(a.acc, name, seed, a.methods, out)


if __name__ == "__main__":
    main()
