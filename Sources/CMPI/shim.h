// Open MPI's handles are macros over global objects, which Swift does not import: functions return them.
#include <mpi.h>

static inline MPI_Comm unirl_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype unirl_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype unirl_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype unirl_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype unirl_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op unirl_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler unirl_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *unirl_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int unirl_mpi_success(void) { return MPI_SUCCESS; }
static inline int unirl_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
