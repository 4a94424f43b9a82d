#!/usr/bin/env python3
"""scikit-learn's LogisticRegression(lbfgs) on the data `afg-bench solver` wrote, timed.

Usage: sklearn_lr.py --x X.f32 --y Y.i32 --rows N --dim D --C 1.0 --tol 1e-4 [--max-iter 10000]
Reads N x D little-endian float32 features and N int32 labels, fits a multinomial
LogisticRegression(C, solver="lbfgs", tol) on the float32 data (scikit-learn keeps float32,
its fastest path), and prints one JSON line: fit seconds (wall and CPU), iterations, the objective and the
gradient max-norm at the solution (both recomputed in float64 with scikit-learn's own loss),
and the coefficients' file if --coef-out is given.
"""
import argparse, json, os, sys, time
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--x", required=True); ap.add_argument("--y", required=True)
ap.add_argument("--rows", type=int, required=True); ap.add_argument("--dim", type=int, required=True)
ap.add_argument("--C", type=float, default=1.0); ap.add_argument("--tol", type=float, default=1e-4)
ap.add_argument("--max-iter", type=int, default=10000)
ap.add_argument("--coef-out", default=None)
a = ap.parse_args()
try:
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model._linear_loss import LinearModelLoss
    from sklearn._loss.loss import HalfMultinomialLoss
except ImportError as e:
    print(json.dumps({"error": f"scikit-learn not importable: {e}"})); sys.exit(0)
import warnings
from sklearn.exceptions import ConvergenceWarning

X = np.fromfile(a.x, dtype="<f4").reshape(a.rows, a.dim)
y = np.fromfile(a.y, dtype="<i4")
assert y.shape[0] == a.rows
clf = LogisticRegression(C=a.C, solver="lbfgs", tol=a.tol, max_iter=a.max_iter)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    t0, c0 = time.perf_counter(), time.process_time()
    clf.fit(X, y)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
C = len(clf.classes_)
loss = LinearModelLoss(base_loss=HalfMultinomialLoss(n_classes=C), fit_intercept=True)
w = np.hstack([clf.coef_, clf.intercept_[:, None]]).astype(np.float64)
X64 = X.astype(np.float64)
obj, grad = loss.loss_gradient(w, X64, y.astype(np.float64), l2_reg_strength=1.0 / (a.C * a.rows))
if a.coef_out:
    w.astype("<f8").tofile(a.coef_out)
print(json.dumps(dict(sklearn_version=sklearn.__version__, seconds=seconds, cpu_seconds=cpu_seconds, n_iter=int(clf.n_iter_[0]),
                      objective=float(obj), grad_max_norm=float(np.abs(grad).max()),
                      converged=not any(issubclass(c.category, ConvergenceWarning) for c in caught),
                      threads=os.environ.get("OMP_NUM_THREADS", "default"))))
