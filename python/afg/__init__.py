"""afg from Python: scikit-learn estimators that train with the `afg` binary packed in this
wheel and predict with numpy, feature files of docs/FORMAT.md, and (with torch installed)
`afg.torch.linear(clf)`, the fitted classifier as a `torch.nn.Module`.

    import afg
    clf = afg.GLAGClassifier().fit(X_train, y_train)
    print(clf.score(X_test, y_test))

numpy is the one hard dependency; the estimators need scikit-learn, `afg.torch` needs torch
and HDF5 files need h5py.
"""

from ._binary import AFGError
from .features import read_features, write_features

__all__ = ["AFGError", "GLAGClassifier", "BalancedLogisticRegression", "LogitAdjustedRegression", "read_features",
           "write_features"]

_ESTIMATORS = ("GLAGClassifier", "BalancedLogisticRegression", "LogitAdjustedRegression")


def __getattr__(name):
    # The estimators import scikit-learn: only when asked for, so numpy alone imports afg.
    if name in _ESTIMATORS:
        try:
            from . import estimators
        except ImportError as e:
            raise ImportError(f"afg.{name} needs scikit-learn (pip install scikit-learn): {e}") from None
        return getattr(estimators, name)
    if name == "torch":  # afg.torch.linear without an explicit `import afg.torch`
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'afg' has no attribute {name!r}")
