"""scikit-learn estimators that train with the `afg` binary and predict with numpy.

`fit` writes the rows to .npy files in a private temporary folder, runs `afg train` and
`afg export` there, reads the classifier back and removes the folder (also on error). The
classifier's logits are weight · T(x) + raw_weight · x + bias, T the Tukey transform of the
file's λ (none when absent), raw_weight the optional second head on the raw features; with a
memory head (GLAGClassifier, unless no_memory_head=True) the scores are
(1 − w) · log_softmax(logits) + w · log p(c | T(x)), p the head's balanced kernel density
over the labelled rows it keeps (docs/FORMAT.md). Parameters are the command line's settings: names, defaults and intervals
come from the binary's `afg settings --json`, and the binary checks every value.
"""

import os
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _binary, _settings

__all__ = ["GLAGClassifier", "BalancedLogisticRegression", "LogitAdjustedRegression"]


def tukey(x, lam):
    """Tukey's ladder of powers with afg's domain rule (Sources/AFG/Tukey.swift): x^λ
    (log x for λ = 0); a fractional λ needs x ≥ 0, λ ≤ 0 needs x > 0. `x` float32 or float64."""
    if lam is None:
        return x
    integer = float(lam).is_integer()
    bad = (x <= 0) if lam <= 0 else (x < 0) if not integer else np.zeros(x.shape, bool)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        kind = ("zero or negative", "lambda <= 0 (log or negative power) needs positive features") if lam <= 0 \
            else ("negative", "a fractional lambda needs non-negative features (post-ReLU)")
        raise ValueError(f"Tukey transform: {int(bad.sum())} {kind[0]} feature value(s), first in row {rows[0]}; {kind[1]}")
    return np.log(x) if lam == 0 else np.power(x, x.dtype.type(lam))


def _log_softmax(z):
    top = z.max(axis=1, keepdims=True)
    return z - (top + np.log(np.exp(z - top).sum(axis=1, keepdims=True)))


def memory_scores(logits, t, center, rows, labels, temperature, weight, block=1024):
    """(1 − weight) · log_softmax(logits) + weight · log p(c | t): p the balanced Parzen
    posterior of the memory head (Sources/Classifier/Model/MemoryHead.swift), class c's
    log-density logsumexp over its rows j of cos(t, row_j) / temperature less log n_c, the rows
    `t` centred by `center` and scaled to unit length; a class without rows gets -1e4."""
    n, c = logits.shape
    u = t - center.astype(np.float64)
    norms = np.sqrt((u * u).sum(axis=1, keepdims=True))
    u = np.divide(u, norms, out=np.zeros_like(u), where=norms > 0)
    rows = rows.astype(np.float64)
    members = [np.flatnonzero(labels == k) for k in range(c)]
    density = np.full((n, c), -1e4)
    for start in range(0, n, block):
        s = u[start:start + block] @ rows.T / temperature
        for k, idx in enumerate(members):
            if len(idx):
                sk = s[:, idx]
                top = sk.max(axis=1)
                density[start:start + block, k] = top + np.log(np.exp(sk - top[:, None]).sum(axis=1)) - np.log(len(idx))
    return (1 - weight) * _log_softmax(logits) + weight * _log_softmax(density)


class _AFGClassifier(ClassifierMixin, BaseEstimator):
    """The shared fit / predict of the afg estimators. Subclasses set `_command` (the fixed
    `afg train` arguments) and `_option_names` (the CLI settings they expose)."""

    _command = ()
    _option_names = ()
    _defaults = {}  # a default of the estimator's own, where the CLI's depends on other flags

    @classmethod
    def _options(cls):
        return _settings.options("train", cls._option_names)

    def _arguments(self):
        """The flags of the settings that differ from the binary's defaults: afg refuses a
        flag its path does not read, so only what the caller changed is passed."""
        args = []
        for o in self._options():
            value = getattr(self, o.python_name)
            if not (type(value) is type(o.binary_default) and value == o.binary_default):
                args += o.arguments(value)
        return args

    def fit(self, X, y):
        """Trains on X (N × D, any real dtype; afg reads float32) and y (N labels of any
        hashable type). Raises `AFGError` with afg's message when the binary refuses."""
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64], y_numeric=False)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y; got 1 class ({classes[0]!r})")
        args = list(self._command) + self._arguments()
        self._set_model(_train(np.asarray(X, np.float32), codes.astype(np.int64), len(classes), args))
        self.classes_ = classes
        return self

    def _set_model(self, m):
        self.coef_ = m["weight"]
        self.intercept_ = m["bias"]
        self.raw_coef_ = m.get("raw_weight")
        self.tukey_lambda_ = float(m["tukey_lambda"]) if "tukey_lambda" in m else None
        self.method_ = str(m["method"]) if "method" in m else None
        memory = "memory_rows" in m
        self.memory_center_ = m["memory_center"] if memory else None
        self.memory_rows_ = m["memory_rows"] if memory else None
        self.memory_labels_ = m["memory_labels"] if memory else None
        self.memory_temperature_ = float(m["memory_temperature"]) if memory else None
        self.memory_weight_ = float(m["memory_weight"]) if memory else None

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        x = np.asarray(X, np.float32).astype(np.float64)  # the rows afg reads: float32
        t = tukey(x, self.tukey_lambda_)
        logits = t @ self.coef_.T.astype(np.float64) + self.intercept_.astype(np.float64)
        if self.raw_coef_ is not None:
            logits += x @ self.raw_coef_.T.astype(np.float64)
        if getattr(self, "memory_rows_", None) is not None:
            logits = memory_scores(logits, t, self.memory_center_, self.memory_rows_, self.memory_labels_,
                                   self.memory_temperature_, self.memory_weight_)
        return logits

    def decision_function(self, X):
        """The logits (N × C; with a memory head, the mixed scores); for two classes, the second
        class's minus the first's (N)."""
        z = self._logits(X)
        return z[:, 1] - z[:, 0] if len(self.classes_) == 2 else z

    def predict_proba(self, X):
        """The softmax of the logits (with a memory head, of the mixed scores) (N × C)."""
        z = self._logits(X)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        return z / z.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """log(predict_proba(X)) (scikit-learn's LogisticRegression does the same)."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of the largest logit (ties: the first)."""
        best = np.argmax(self._logits(X), axis=1)  # first: unfitted raises NotFittedError
        return self.classes_[best]


def _train(x, codes, num_classes, args):
    """Runs `afg train ARGS --train` (x, codes) in a private temporary folder (the
    cross-validated paths choose on the training rows alone), exports the classifier as .npz
    and returns its arrays. The folder is removed on return and on error. The class names
    file fixes C = num_classes."""
    with tempfile.TemporaryDirectory(prefix="afg-fit-") as d:
        np.save(os.path.join(d, "train.npy"), np.ascontiguousarray(x))
        np.save(os.path.join(d, "train.labels.npy"), codes)
        np.save(os.path.join(d, "train.class_names.npy"), np.array([str(c) for c in range(num_classes)]))
        _binary.run(["train", *args, "--train", "train.npy", "--out", "model.h5", "--quiet"], cwd=d)
        _binary.run(["export", "--classifier", "model.h5", "--out", "model.npz"], cwd=d)
        with np.load(os.path.join(d, "model.npz"), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


def _make_init(cls):
    """Gives `cls` an `__init__` whose keyword parameters are its `_option_names`, with the
    binary's defaults (scikit-learn reads the parameters from the signature)."""
    opts = cls._options()
    for o in opts:
        o.default = cls._defaults.get(o.python_name, o.default)
    params = ", ".join(f"{o.python_name}={o.default!r}" for o in opts)
    body = "".join(f"    self.{o.python_name} = {o.python_name}\n" for o in opts) or "    pass\n"
    scope = {}
    exec(f"def __init__(self, *, {params}):\n{body}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__name__}.__init__"
    init.__doc__ = "Parameters (afg train's settings; afg checks each value):\n" + "\n".join(
        f"  {o.python_name} ({o.flag}, default {o.default!r}{', ' + o.interval_text() if o.interval else ''}): {o.help}"
        for o in opts)
    cls.__init__ = init
    return cls


@_make_init
class GLAGClassifier(_AFGClassifier):
    """The recommended command, `afg train --method glag --select-on-val`: 5-fold
    cross-validation over the fit's rows chooses between the class-weighted regression,
    GLAG's generated set blended with it and logit adjustment, then the weight of a memory
    head (the labelled rows' balanced kernel density mixed into the scores; 0 among the
    choices, `no_memory_head=True` for none) (docs/USAGE.md)."""

    _command = ("--method", "glag", "--select-on-val")
    _option_names = ("seed", "tukey", "no-tukey", "k", "alpha", "head-threshold", "target-per-class", "initial-beta",
                     "mean-mode", "c-divisor", "blend", "single-head", "no-memory-head", "tolerance")


@_make_init
class BalancedLogisticRegression(_AFGClassifier):
    """The class-weighted multinomial logistic regression (scikit-learn's
    `class_weight="balanced"`), converged: `afg train --method crt --solver lbfgs`, C by
    stratified 5-fold cross-validation over the fit's rows (`C="auto"`) or given."""

    _command = ("--method", "crt", "--solver", "lbfgs")
    _option_names = ("C", "seed", "tukey", "no-tukey", "tolerance")
    # The CLI's --C defaults to auto only beside --val: the estimator's default is auto.
    _defaults = {"C": "auto"}


@_make_init
class LogitAdjustedRegression(_AFGClassifier):
    """Logit adjustment over the converged unweighted regression (Menon et al. 2021, post
    hoc): `afg train --method logit-adjust --solver lbfgs`; C (`C="auto"`) by the least
    held-out log-loss, then τ by held-out mean per-class recall, over stratified 5-fold
    cross-validation of the fit's rows repeated three times. One linear head."""

    _command = ("--method", "logit-adjust", "--solver", "lbfgs")
    _option_names = ("C", "seed", "tukey", "no-tukey", "tolerance")
    _defaults = {"C": "auto"}
