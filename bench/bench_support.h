/* What every benchmark program needs: a status check that ends the run with the library's message,
 * a monotonic clock, and a model loaded for the run. */
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

/* Loads a model for a benchmark (CPU or CUDA, float32 or bfloat16) and fills `info`; ends the run
 * with the library's message when it cannot. */
static inline sp_model* bench_load_model(const char* path, int cuda, int bf16, sp_model_info* info) {
  sp_model_params model_params = sp_model_default_params();
  model_params.device = cuda ? SP_DEVICE_CUDA : SP_DEVICE_CPU;
  model_params.dtype = bf16 ? SP_DTYPE_BFLOAT16 : SP_DTYPE_FLOAT32;
  sp_model* model = NULL;
  check(sp_model_create(&model, path, &model_params), "sp_model_create");
  *info = sp_model_info_init();
  check(sp_model_get_info(model, info), "sp_model_get_info");
  return model;
}

#endif
