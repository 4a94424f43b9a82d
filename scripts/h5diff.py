#!/usr/bin/env python3
"""Compares two HDF5 files dataset by dataset and attribute by attribute (h5py).

    python3 scripts/h5diff.py A.h5 B.h5

Prints one line naming what differs (`attributes differ: config`) and exits 0 when every
dataset is equal (the `config` attribute, a record of the run, may differ), 1 otherwise.
"""
import sys

import h5py
import numpy as np


def items(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def main(a, b):
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        da, db = items(fa), items(fb)
        if set(da) != set(db):
            print(f"datasets differ: {sorted(set(da) ^ set(db))}")
            return 1
        bad = [k for k in da if not np.array_equal(np.asarray(da[k]), np.asarray(db[k]))]
        if bad:
            print(f"dataset values differ: {bad}")
            return 1
        attrs = [k for k in set(fa.attrs) | set(fb.attrs) if k not in fa.attrs or k not in fb.attrs
                 or str(fa.attrs[k]) != str(fb.attrs[k])]
        if [k for k in attrs if k != "config"]:
            print(f"attributes differ: {sorted(attrs)}")
            return 1
        print("attributes differ: config" if attrs else "equal")
        return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
