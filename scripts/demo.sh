#!/usr/bin/env bash
# The main job on the bundled fixtures. Called by `make demo` after the release build.
set -euo pipefail
AFG=${1:-.build/release/afg}
"$AFG" --version
"$AFG" --help
echo
"$AFG" inspect fixtures/h5py/f64_gzip_int64_fixednames.h5
