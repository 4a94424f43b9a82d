#ifndef AFG_CMPI_SHIM_H
#define AFG_CMPI_SHIM_H
// Open MPI (Debian's libopenmpi-dev, pkg-config `ompi-c`). Its handles are C macros
// expanding to addresses of library globals (`MPI_COMM_WORLD` is
// `((MPI_Comm)&ompi_mpi_comm_world)`), which Swift cannot import: these static inline
// getters are the one door. Only the Distributed module imports this module.
#include <mpi.h>

static inline MPI_Comm afg_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype afg_MPI_DOUBLE(void) { return MPI_DOUBLE; }
static inline MPI_Datatype afg_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Op afg_MPI_SUM(void) { return MPI_SUM; }
static inline MPI_Op afg_MPI_OP_NULL(void) { return MPI_OP_NULL; }
static inline MPI_Datatype afg_MPI_DATATYPE_NULL(void) { return MPI_DATATYPE_NULL; }
static inline int afg_MPI_SUCCESS(void) { return MPI_SUCCESS; }
static inline int afg_MPI_THREAD_FUNNELED(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Errhandler afg_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
static inline void *afg_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }
static inline int afg_MPI_MAX_ERROR_STRING(void) { return MPI_MAX_ERROR_STRING; }
#endif
