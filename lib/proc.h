/* The child facility moved to lib/job.h; applets/init.c (owned elsewhere) still includes this
 * name, so it stays until init.c includes lib/job.h itself. */
#include "lib/job.h"
