"""Writes dist/afg-<version>-py3-none-linux_x86_64.whl: the pure-Python package python/afg,
the given `afg` binary as afg/bin/afg and its settings dump as afg/settings.json.

    python3 python/build_wheel.py --binary .build/release/afg --out dist

A wheel is a zip with a dist-info folder (PEP 427); it is written here with the standard
library, so building it needs no build backend from PyPI. Same inputs, same bytes (fixed
timestamps, sorted entries).
"""

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TAG = "py3-none-linux_x86_64"
EPOCH = (1980, 1, 1, 0, 0, 0)


def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def files(binary):
    """(archive name, bytes, executable) of every file of the package."""
    out = []
    package = os.path.join(HERE, "afg")
    for name in sorted(os.listdir(package)):
        if name.endswith(".py"):
            with open(os.path.join(package, name), "rb") as f:
                out.append((f"afg/{name}", f.read(), False))
    dump = subprocess.run([binary, "settings", "--json"], check=True, capture_output=True).stdout
    with open(binary, "rb") as f:
        out.append(("afg/bin/afg", f.read(), True))
    out.append(("afg/settings.json", dump, False))
    return out, json.loads(dump)["version"]


def metadata(version):
    return f"""Metadata-Version: 2.1
Name: afg
Version: {version}
Summary: Long-tailed classification (GLAG) from Python: scikit-learn estimators around the afg binary
Requires-Python: >=3.9
Requires-Dist: numpy
Provides-Extra: sklearn
Requires-Dist: scikit-learn>=1.6; extra == "sklearn"
Provides-Extra: torch
Requires-Dist: torch; extra == "torch"
Provides-Extra: hdf5
Requires-Dist: h5py; extra == "hdf5"

The afg binary (Linux x86_64) with scikit-learn estimators (GLAGClassifier,
BalancedLogisticRegression), feature-file helpers and a PyTorch module. See docs/USAGE.md.
""".encode()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True, help="the afg binary to pack")
    p.add_argument("--out", default="dist", help="output folder")
    a = p.parse_args()
    entries, version = files(a.binary)
    info = f"afg-{version}.dist-info"
    entries += [(f"{info}/METADATA", metadata(version), False),
                (f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: afg build_wheel.py\nRoot-Is-Purelib: false\nTag: {TAG}\n".encode(), False),
                (f"{info}/top_level.txt", b"afg\n", False)]
    record = "".join(f"{n},{digest(d)},{len(d)}\n" for n, d, _ in entries) + f"{info}/RECORD,,\n"
    entries.append((f"{info}/RECORD", record.encode(), False))
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"afg-{version}-{TAG}.whl")
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data, executable in entries:
                zi = zipfile.ZipInfo(name, EPOCH)
                zi.external_attr = (0o100755 if executable else 0o100644) << 16
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"wrote {path} (afg {version}, binary {a.binary})")


if __name__ == "__main__":
    sys.exit(main())
