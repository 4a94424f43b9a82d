#!/usr/bin/env bash
# `make bench-mpi`: the same work on the same cores, two ways (docs/SCALE.md, "Beyond one
# machine"): one process on both cores against `mpirun -np 2` with each rank bound to one
# core (Linalg's gemm runs one thread per CPU of the process's affinity mask,
# `availableProcessorCount`; OpenBLAS is single-threaded throughout). ImageNet-LT's shape by default (1,000 classes,
# 115,846 rows, max 1,280, min 5; D = 512 as the ResNet-10 features), synthetic
# (`afg-bench scale-data`), split into two shards.
#
# Steps, each timed both ways (wall seconds, `date +%s.%N`):
#   calibrate: statistics with covariances (C × D × D); "means": with --no-covariances.
#   lbfgs:     afg train --method crt --solver lbfgs (one converged solve at --tolerance TOL).
#   sgd:       afg train --method ce --solver sgd, SGD_EPOCHS epochs (default 1) at the default
#              batch of 256 rows and at SGD_BATCH (default 4096): data-parallel steps, one sum
#              of C·(D+1) doubles per step.
# and the bytes each lbfgs evaluation moves per rank (one sum of C·(D+1)+1 doubles: a reduce
# to rank 0 and a broadcast).
#
# Environment: MPI_DIR (default /tmp/afg-bench-mpi), MPI_CLASSES / MPI_DIM / MPI_ROWS /
# MPI_MAX / MPI_MIN, TOL (1e-3), SKIP_DATA=1 to reuse the data.
set -euo pipefail
cd "$(dirname "$0")/.."
AFG=${AFG:-.build/release/afg}
BENCH=${BENCH:-.build/release/afg-bench}
DIR=${MPI_DIR:-/tmp/afg-bench-mpi}
C=${MPI_CLASSES:-1000} D=${MPI_DIM:-512} N=${MPI_ROWS:-115846}
TOL=${TOL:-1e-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun -np 2 --bind-to core --map-by core --mca btl self,vader"
mkdir -p "$DIR"
if [ "${SKIP_DATA:-0}" != 1 ] || [ ! -f "$DIR/train.h5" ]; then
  SCALE_DIR=$DIR SCALE_CLASSES=$C SCALE_DIM=$D SCALE_ROWS=$N SCALE_MAX=${MPI_MAX:-1280} SCALE_MIN=${MPI_MIN:-5} \
    SCALE_TEST_PER_CLASS=1 "$BENCH" scale-data > "$DIR/data.log"
  /usr/bin/python3 - "$DIR" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(f"{d}/train.h5", "r") as f:
    x, y, attrs = f["features"], np.asarray(f["labels"]), dict(f.attrs)
    half = len(y) // 2
    for name, rows in (("a", slice(0, half)), ("b", slice(half, len(y)))):
        with h5py.File(f"{d}/{name}.h5", "w") as g:
            g.create_dataset("features", data=x[rows])
            g.create_dataset("labels", data=y[rows])
            for k, v in attrs.items():
                g.attrs[k] = v
PY
fi
secs() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'; }
row() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "| %-10s | %9.1f s | %9.1f s | %.3f |\n", n, a, b, b / a }'; }
echo "load before: $(uptime | sed 's/.*load average: //')"
c1=$(secs "$AFG" calibrate --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/s1.h5" --quiet)
c2=$(secs $MPIRUN "$AFG" calibrate --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/s2.h5" --quiet)
m1=$(secs "$AFG" calibrate --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/m1.h5" --no-covariances --quiet)
m2=$(secs $MPIRUN "$AFG" calibrate --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/m2.h5" --no-covariances --quiet)
l1=$(secs "$AFG" train --method crt --solver lbfgs --tolerance "$TOL" --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/c1.h5" --quiet)
l2=$(secs $MPIRUN "$AFG" train --method crt --solver lbfgs --tolerance "$TOL" --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/c2.h5" --quiet)
E=${SGD_EPOCHS:-1} B=${SGD_BATCH:-4096}
s1=$(secs "$AFG" train --method ce --solver sgd --epochs "$E" --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/g1.h5" --quiet)
s2=$(secs $MPIRUN "$AFG" train --method ce --solver sgd --epochs "$E" --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/g2.h5" --quiet)
b1=$(secs "$AFG" train --method ce --solver sgd --epochs "$E" --batch-size "$B" --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/h1.h5" --quiet)
b2=$(secs $MPIRUN "$AFG" train --method ce --solver sgd --epochs "$E" --batch-size "$B" --train "$DIR/a.h5" --train "$DIR/b.h5" --out "$DIR/h2.h5" --quiet)
echo "load after:  $(uptime | sed 's/.*load average: //')"
echo
echo "shape: $N rows, D = $D, C = $C; 1 process × 2 cores against 2 ranks × 1 core"
echo "| step       | 1 × 2 cores | 2 ranks × 1 | ratio |"
echo "|------------|------------:|------------:|------:|"
row calibrate "$c1" "$c2"
row "  means" "$m1" "$m2"
row lbfgs "$l1" "$l2"
row "sgd b=256" "$s1" "$s2"
row "sgd b=$B" "$b1" "$b2"
bytes=$(( (C * (D + 1) + 1) * 8 ))
echo
echo "lbfgs: one sum per evaluation of $(( C * (D + 1) + 1 )) doubles = $bytes bytes; each rank sends and receives about that once in the reduce and once in the broadcast"
echo "sgd: one sum per step of $(( C * (D + 1) )) floats = $(( C * (D + 1) * 4 )) bytes; $(( (N + 255) / 256 )) steps per epoch at batch 256, $(( (N + B - 1) / B )) at batch $B"
echo "calibrate: sums of $C counts + $(( C * D )) class sums (reduce + broadcast), then $(( C * D * (D + 1) / 2 )) packed scatter doubles reduced to rank 0: $(( (C + C * D) * 8 )) + $(( C * D * (D + 1) / 2 * 8 )) bytes (once)"
