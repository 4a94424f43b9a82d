#ifndef AFG_CLAPACK_SHIM_H
#define AFG_CLAPACK_SHIM_H
// CBLAS and LAPACKE from OpenBLAS / Debian's liblapacke-dev. No stable Swift API:
// only the Linalg module imports this, through Sources/Linalg/BLASScalar.swift.
#include <cblas.h>
#include <lapacke.h>

/// Number of threads OpenBLAS uses (exposed so benchmarks can report it).
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
/// Stops OpenBLAS's worker threads (they are started when the library loads and spin on
/// sched_yield for about 2^28 cycles before sleeping; with one OpenBLAS thread they never
/// get work). Exported by both the pthread and the OpenMP builds.
int blas_thread_shutdown_(void);
/// The kernel table of a DYNAMIC_ARCH build: its name ("Prescott", "Haswell", "SkylakeX",
/// ...), and the two calls that choose it again (init reads OPENBLAS_CORETYPE, else the
/// processor's model number; quit forgets the choice so that init runs again).
char *openblas_get_corename(void);
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
#endif
