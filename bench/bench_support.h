/* What every benchmark program needs: a status check that ends the run with the library's message,
 * and a monotonic clock. */
#ifndef SP_BENCH_SUPPORT_H
#define SP_BENCH_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "softprompt/softprompt.h"

static inline void check(sp_status status, const char* what) {
  if (status != SP_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, sp_status_string(status), sp_last_error());
    exit(1);
  }
}

static inline double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
