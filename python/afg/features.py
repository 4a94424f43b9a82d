"""Feature files of docs/FORMAT.md from Python: `.npz`, `.npy` (labels and class names
beside it), `.safetensors` with numpy alone, HDF5 (any other extension) with h5py.

`read_features(path)` returns (X, y, class_names or None); `write_features(path, X, y,
class_names=None)` writes what `afg` reads. Writes go to `<path>.tmp-<pid>` and are renamed
over `path`, so a failed write leaves any earlier file untouched.
"""

import json
import os
import struct

import numpy as np

__all__ = ["read_features", "write_features"]

# safetensors dtype names and numpy's; BF16 is widened to float32 on read.
_ST_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
              "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def _kind(path):
    for ext in (".npz", ".npy", ".safetensors"):
        if path.endswith(ext):
            return ext
    return ".h5"


def _beside(path, key):
    """`NAME.KEY.npy` for the features file `NAME.npy`."""
    return path[: -len(".npy")] + f".{key}.npy"


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("HDF5 feature files need h5py (pip install h5py); "
                          "or use .npz, .npy or .safetensors, which need numpy only") from None
    return h5py


def read_features(path, features_key="features", labels_key="labels", class_names_key="class_names"):
    """The features (N × D), labels (N integers) and class names (a list of str, or None) of
    a feature file, by extension as `afg` reads it. Raises ValueError naming the file and the
    array when one is missing."""
    path = os.fspath(path)
    kind = _kind(path)
    if kind == ".npz":
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    elif kind == ".npy":
        arrays = {features_key: np.load(path, allow_pickle=False)}
        for key in (labels_key, class_names_key):
            if os.path.exists(_beside(path, key)):
                arrays[key] = np.load(_beside(path, key), allow_pickle=False)
        if labels_key not in arrays:
            raise ValueError(f"{path}: {labels_key}: no such file {_beside(path, labels_key)}")
    elif kind == ".safetensors":
        arrays = _read_safetensors(path, class_names_key)
    else:
        with _h5py().File(path, "r") as f:
            arrays = {k: f[k][...] for k in (features_key, labels_key, class_names_key) if k in f}
    for key in (features_key, labels_key):
        if key not in arrays:
            raise ValueError(f"{path}: {key}: no such array; arrays in the file: {', '.join(sorted(arrays))}")
    names = arrays.get(class_names_key)
    if names is not None:
        names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in np.asarray(names).tolist()]
    return arrays[features_key], arrays[labels_key], names


def _read_safetensors(path, class_names_key):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        body = f.read()
    meta = header.pop("__metadata__", None) or {}
    arrays = {}
    for name, t in header.items():
        start, end = t["data_offsets"]
        raw = body[start:end]
        if t["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif t["dtype"] in _ST_DTYPES:
            a = np.frombuffer(raw, _ST_DTYPES[t["dtype"]])
        else:
            raise ValueError(f"{path}: {name}: dtype {t['dtype']} is not a feature or label type")
        arrays[name] = a.reshape(t["shape"]).copy()
    if class_names_key in meta:
        arrays[class_names_key] = np.array(json.loads(meta[class_names_key]))
    return arrays


def write_features(path, X, y, class_names=None):
    """Writes X (N × D float16 / float32 / float64) and y (N integer class indices, 0..C-1)
    and, optionally, the C class names, as the extension of `path` says. Raises ValueError
    for arrays `afg` would refuse (wrong rank or type, N mismatch, non-finite values)."""
    path = os.fspath(path)
    X = np.ascontiguousarray(X)
    y = np.ascontiguousarray(y)
    if X.ndim != 2 or X.dtype not in (np.float16, np.float32, np.float64):
        raise ValueError(f"{path}: features: expected a 2-D float16, float32 or float64 array, found {X.ndim}-D {X.dtype}")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{path}: labels: expected a 1-D integer array of class indices, found {y.ndim}-D {y.dtype} "
                         "(map labels with np.unique(y, return_inverse=True) and pass the classes as class_names)")
    if len(y) != len(X):
        raise ValueError(f"{path}: labels: {len(y)} labels, but features has {len(X)} rows")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: features: {int((~np.isfinite(X)).sum())} non-finite values")
    names = None if class_names is None else np.array([str(n) for n in class_names])
    X, y = X.astype(X.dtype.newbyteorder("<")), y.astype(y.dtype.newbyteorder("<"))
    kind = _kind(path)
    if kind == ".npy":
        files = [(path, X), (_beside(path, "labels"), y)] + ([(_beside(path, "class_names"), names)] if names is not None else [])
        for p, a in files:
            _atomic(p, lambda f, a=a: np.save(f, a))
    elif kind == ".npz":
        extra = {} if names is None else {"class_names": names}
        _atomic(path, lambda f: np.savez(f, features=X, labels=y, **extra))
    elif kind == ".safetensors":
        _atomic(path, lambda f: _write_safetensors(f, {"features": X, "labels": y},
                                                   {} if names is None else {"class_names": json.dumps(names.tolist())}))
    else:
        h5py = _h5py()

        def write(f):
            with h5py.File(f, "w") as h:
                h.create_dataset("features", data=X)
                h.create_dataset("labels", data=y)
                if names is not None:
                    h.create_dataset("class_names", data=names.tolist(), dtype=h5py.string_dtype())
                    h.attrs["num_classes"] = len(names)
        _atomic(path, write, binary_file=False)


def _write_safetensors(f, tensors, metadata):
    codes = {np.dtype(v): k for k, v in _ST_DTYPES.items()}
    header, offset = {"__metadata__": metadata} if metadata else {}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": codes[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    f.write(struct.pack("<Q", len(text)) + text)
    for a in tensors.values():
        f.write(a.tobytes())


def _atomic(path, write, binary_file=True):
    """Calls write on `<path>.tmp-<pid>` (an open file, or its name), then renames it over path."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        if binary_file:
            with open(tmp, "wb") as f:
                write(f)
        else:
            write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
