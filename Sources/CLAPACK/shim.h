#ifndef AFG_CLAPACK_SHIM_H
#define AFG_CLAPACK_SHIM_H
// CBLAS and LAPACKE from OpenBLAS / Debian's liblapacke-dev. No stable Swift API:
// only the Linalg module imports this, through Sources/Linalg/BLASScalar.swift.
#include <cblas.h>
#include <lapacke.h>

/// Number of threads OpenBLAS uses (exposed so benchmarks can report it).
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
#endif
