"""The afg wheel from Python, run by `make test` in a venv holding only the wheel and
python/tests/requirements.txt (scikit-learn, h5py, pandas: python/tests/run.sh). The repository root is the working directory;
$AFG_CLI is the same binary run directly, for the comparisons.

1. scikit-learn's check_estimator, every check, for every afg estimator.
2. GridSearchCV over Pipeline([StandardScaler, GLAGClassifier]).
3. GLAGClassifier on the Fashion-MNIST-LT fixture's rows equals `afg train --method glag
   --select-on-val` on a file of the same rows + `afg evaluate`: same weights bit for bit,
   afg evaluate's confusion matrix and accuracy from the estimator's predictions.
4. afg's errors surface with afg's text; fits leave nothing in the temporary folder.
5. read_features / write_features round trips, read back by `afg inspect`.
6. afg.torch.linear equals decision_function within 1e-5 (skipped, with the reason, without torch).
7. GLAGClassifier's memory head where no line separates the classes, and no_memory_head=True.
"""

import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

import afg

CLI = os.environ["AFG_CLI"]
FIXTURE = "fixtures/fmnist-lt"
ESTIMATORS = [afg.GLAGClassifier, afg.BalancedLogisticRegression, afg.LogitAdjustedRegression]


def cli(*args):
    done = subprocess.run([CLI, *args], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr.strip()


def section(title):
    print(f"\n== {title}", flush=True)
    return time.time()


def test_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    for cls in ESTIMATORS:
        t0 = section(f"check_estimator({cls.__name__}())")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(cls(), on_fail=None, on_skip=None)
        status = {}
        for r in results:
            status.setdefault(r["status"], []).append(r["check_name"])
        for r in results:
            if r["status"] == "failed":
                print(f"FAILED {r['check_name']}: {r['exception']!r}")
        print(f"{cls.__name__}: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(status.items()))
              + (f" (skipped: {', '.join(sorted(set(status['skipped'])))})" if "skipped" in status else "")
              + f", {time.time() - t0:.0f} s")
        assert "failed" not in status, f"{cls.__name__}: checks failed: {status['failed']}"


def long_tailed(seed=0, n_classes=5, d=8, head=120):
    """Non-negative, long-tailed blobs (counts head, head/2, …): rows a ReLU backbone could give."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 3, size=(n_classes, d))
    counts = [max(head >> c, 6) for c in range(n_classes)]
    X = np.vstack([np.abs(c + rng.normal(0, 0.8, size=(n, d))) for c, n in zip(centres, counts)])
    y = np.repeat(np.array([f"class-{c}" for c in range(n_classes)]), counts)
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order]


def test_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = section("GridSearchCV(Pipeline([StandardScaler, GLAGClassifier]))")
    X, y = long_tailed()
    search = GridSearchCV(Pipeline([("scale", StandardScaler()), ("clf", afg.GLAGClassifier())]),
                          {"clf__blend": [0.5, 1.0], "clf__k": [1, 2]},
                          cv=3, scoring="balanced_accuracy")
    search.fit(X, y)
    assert set(search.predict(X)) <= set(y)
    assert search.best_score_ > 0.5, search.best_score_
    print(f"best {search.best_params_}, balanced accuracy {search.best_score_:.3f}, {time.time() - t0:.0f} s")


def test_equals_cli():
    t0 = section("GLAGClassifier == afg train --method glag --select-on-val + afg evaluate (fmnist-lt)")
    parts = {s: afg.read_features(f"{FIXTURE}/{s}.h5") for s in ("train", "val", "test")}
    # Every 5th training row (all classes, the tail's smallest with 12 rows) and all of val: the
    # command's ~2 minutes on the whole fixture would double make test's Python part.
    parts["train"] = (parts["train"][0][::5], parts["train"][1][::5], parts["train"][2])
    X = np.vstack([parts["train"][0], parts["val"][0]])
    y = np.concatenate([parts["train"][1], parts["val"][1]])  # the file's class indices: same classes_ order
    with tempfile.TemporaryDirectory() as d:
        afg.write_features(f"{d}/rows.npz", X, y, parts["train"][2])
        code, _, err = cli("train", "--method", "glag", "--select-on-val", "--train", f"{d}/rows.npz",
                           "--out", f"{d}/cli.h5", "--seed", "0", "--quiet")
        assert code == 0, err
        code, out, err = cli("evaluate", "--classifier", f"{d}/cli.h5", "--test", f"{FIXTURE}/test.h5", "--json")
        assert code == 0, err
        report = json.loads(out)
        import h5py
        with h5py.File(f"{d}/cli.h5", "r") as f:
            ref = {k: f[k][...] for k in ("weight", "bias", "raw_weight", "memory_rows", "memory_center", "memory_labels") if k in f}
            lam = f.attrs.get("tukey_lambda")
            memory = (f.attrs.get("memory_weight"), f.attrs.get("memory_temperature"))
    clf = afg.GLAGClassifier(seed=0).fit(X, y)
    for name, attr in (("weight", "coef_"), ("bias", "intercept_"), ("raw_weight", "raw_coef_"),
                       ("memory_rows", "memory_rows_"), ("memory_center", "memory_center_"), ("memory_labels", "memory_labels_")):
        got = getattr(clf, attr)
        assert (got is None) == (name not in ref), name
        if got is not None:
            assert got.dtype == ref[name].dtype and np.array_equal(got.view(np.uint8), ref[name].view(np.uint8)), \
                f"{name} differs from afg train's: max |Δ| {np.abs(got - ref[name]).max()}"
    assert (clf.memory_weight_, clf.memory_temperature_) == memory, (clf.memory_weight_, memory)
    assert clf.tukey_lambda_ == (None if lam is None else float(lam))
    Xt, yt, _ = parts["test"]
    pred = clf.predict(Xt)
    # afg evaluate's confusion matrix (true class × predicted class), count for count.
    c = len(clf.classes_)
    confusion = np.zeros((c, c), np.int64)
    np.add.at(confusion, (yt.astype(np.int64), pred.astype(np.int64)), 1)
    assert np.array_equal(confusion, np.array(report["confusion"])), "predictions differ from afg evaluate's"
    accuracy = float(np.mean(pred == yt))
    assert abs(accuracy - report["summary"]["overall"]) < 1e-12
    print(f"weights bit for bit ({', '.join(ref)}; memory head weight {clf.memory_weight_}), {len(yt)} test predictions: afg evaluate's confusion matrix, "
          f"accuracy {accuracy:.4f}, {time.time() - t0:.0f} s")
    return clf, Xt


def test_errors_and_cleanup():
    t0 = section("errors with afg's text; nothing left in the temporary folder")
    X, y = long_tailed(1)
    with tempfile.TemporaryDirectory() as scratch:
        old = tempfile.tempdir
        tempfile.tempdir = scratch
        try:
            afg.BalancedLogisticRegression(C=0.5).fit(X, y)
            try:
                afg.GLAGClassifier(blend=2.0).fit(X, y)
                raise AssertionError("blend=2.0 was accepted")
            except afg.AFGError as e:
                message = str(e)
            try:  # a negative value reaches the binary as the option's value
                afg.GLAGClassifier(blend=-0.5).fit(X, y)
                raise AssertionError("blend=-0.5 was accepted")
            except afg.AFGError as e:
                assert "--blend must be in [0.0, 1.0] (got -0.5)" in str(e), str(e)
            left = os.listdir(scratch)
        finally:
            tempfile.tempdir = old
        assert left == [], left
    np.save(f"{scratch}.npy", X)
    np.save(f"{scratch}.labels.npy", np.unique(y, return_inverse=True)[1])
    try:
        code, _, err = cli("train", "--method", "glag", "--select-on-val", "--blend", "2.0", "--train", f"{scratch}.npy",
                           "--out", f"{scratch}.h5")
    finally:
        os.remove(f"{scratch}.npy"), os.remove(f"{scratch}.labels.npy")
    assert code != 0 and err == f"Error: {message}", (err, message)
    print(f"AFGError: {message} ({time.time() - t0:.1f} s)")


def test_labels_and_pickle():
    X, y = long_tailed(2)
    clf = afg.BalancedLogisticRegression().fit(X, y)
    assert clf.predict(X).dtype == y.dtype and set(clf.classes_) == set(y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.decision_function(X), clf.decision_function(X))
    assert np.allclose(clf.predict_proba(X).sum(axis=1), 1)
    assert clf.get_params()["C"] == "auto"


def test_memory_head():
    """Classes no line separates (class 0 around (±3, 0), class 1 around (0, ±3), class 2 at the
    origin): the folds choose a memory head, which finds most rows the linear model cannot;
    no_memory_head=True writes the linear model alone."""
    t0 = section("GLAGClassifier's memory head where no line separates the classes")
    rng = np.random.default_rng(7)
    centres = np.array([[3, 0], [-3, 0], [0, 3], [0, -3], [0, 0]], float)
    labels = np.array([0, 0, 1, 1, 2])

    def draw(n):
        k = np.repeat(np.arange(5), n)
        return (centres[k] + 0.4 * rng.standard_normal((5 * n, 2))).astype(np.float32), labels[k]

    X, y = draw(40)
    Xt, yt = draw(25)
    clf = afg.GLAGClassifier(seed=0).fit(X, y)
    lin = afg.GLAGClassifier(seed=0, no_memory_head=True).fit(X, y)
    assert clf.memory_weight_ is not None and clf.memory_weight_ > 0, clf.memory_weight_
    assert lin.memory_rows_ is None and lin.memory_weight_ is None
    assert clf.memory_rows_.shape == (len(y), 2) and np.array_equal(clf.memory_labels_, np.sort(y, kind="stable"))
    acc, linear_acc = float(np.mean(clf.predict(Xt) == yt)), float(np.mean(lin.predict(Xt) == yt))
    assert acc > 0.8 and acc > linear_acc + 0.25, (acc, linear_acc)
    assert np.array_equal(clf.predict(Xt), clf.classes_[np.argmax(clf.decision_function(Xt), axis=1)])
    assert np.allclose(clf.predict_proba(Xt).sum(axis=1), 1)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.decision_function(Xt), clf.decision_function(Xt))
    print(f"memory weight {clf.memory_weight_}, temperature {clf.memory_temperature_}: accuracy {acc:.3f} "
          f"against {linear_acc:.3f} for the linear model alone ({time.time() - t0:.1f} s)")
    return clf, Xt


def test_feature_files():
    t0 = section("read_features / write_features, read back by afg inspect")
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, size=(40, 6)).astype(np.float32)
    y = np.arange(40) % 4
    names = ["cat", "dog", "émeu", "yak"]
    with tempfile.TemporaryDirectory() as d:
        for ext in ("npz", "npy", "safetensors", "h5"):
            path = f"{d}/f.{ext}"
            afg.write_features(path, X, y, class_names=names)
            X2, y2, names2 = afg.read_features(path)
            assert np.array_equal(X2, X) and np.array_equal(y2, y) and names2 == names, ext
            code, out, err = cli("inspect", path, "--json", "--quiet")
            assert code == 0, err
            info = json.loads(out)
            assert (info["count"], info["dim"], info["numClasses"]) == (40, 6, 4), info
        assert sorted(os.listdir(d)) == ["f.class_names.npy", "f.h5", "f.labels.npy", "f.npy", "f.npz", "f.safetensors"]
    print(f"npz, npy, safetensors, h5 round trips ({time.time() - t0:.1f} s)")


def test_torch(clf, X):
    section("afg.torch.linear(clf) == clf.decision_function")
    try:
        import torch
    except ImportError:
        print("SKIPPED: torch is not installed in this venv (python/tests/run.sh installs it only from a local CPU wheel "
              "in $PIP_FIND_LINKS); run python/tests/test_afg.py in an environment with torch to check this part")
        return
    import afg.torch
    module = afg.torch.linear(clf)
    with torch.no_grad():
        got = module(torch.from_numpy(X)).numpy()
    gap = np.abs(got - clf.decision_function(X)).max()
    assert gap <= 1e-5, gap
    print(f"max |Δ| {gap:.2e}")


def main():
    t0 = time.time()
    test_feature_files()
    test_errors_and_cleanup()
    test_labels_and_pickle()
    clf, X = test_equals_cli()
    test_torch(clf, X)
    test_torch(*test_memory_head())
    test_grid_search()
    test_estimator_checks()
    print(f"\npython tests passed in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
