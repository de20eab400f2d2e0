/* What every benchmark program needs: a status check that ends the run with the library's message,
 * a monotonic clock, and a model loaded for the run; and what several share: the prompts' ids,
 * greedy generation to a fixed length, a median of timed runs. */
#ifndef SP_BENCH_SUPPORT_H
#define SP_BENCH_SUPPORT_H

#include <stdint.h>
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

/* Ids (row * 31 + position * 7 + offset) % (vocab_size - 3) + 3 for rows x length positions, row after
 * row: never the ids 0..2 (pad, bos and eos in the tiny models), and the same in every bench and in
 * the Python scripts that run PEFT on the same prompts. The caller frees the array. */
static inline int32_t* bench_prompt_ids(int rows, int length, int64_t vocab_size, int offset) {
  int32_t* ids = malloc((size_t)rows * (size_t)length * sizeof *ids);
  for (int row = 0; row < rows; ++row)
    for (int t = 0; t < length; ++t)
      ids[(size_t)row * length + t] = (int32_t)((row * 31 + t * 7 + offset) % (vocab_size - 3) + 3);
  return ids;
}

/* One greedy generation of max_new_tokens per row with no end-of-sequence stop (use_model_eos 0),
 * into `result`; ends the run unless every row reached max_new_tokens, since a throughput figure
 * would otherwise count tokens never generated. */
static inline void bench_generate_greedy(sp_context* context, const sp_prompts* prompts, int max_new_tokens,
                                         sp_generation* result) {
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = max_new_tokens;
  params.do_sample = 0;
  params.use_model_eos = 0;
  check(sp_context_generate(context, prompts, &params, result), "sp_context_generate");
  for (int32_t row = 0; row < prompts->count; ++row) {
    if (result->counts[row] != max_new_tokens || result->stop_reasons[row] != SP_STOP_MAX_TOKENS) {
      fprintf(stderr, "row %d stopped after %d of %d tokens (reason %d)\n", row, result->counts[row], max_new_tokens,
              (int)result->stop_reasons[row]);
      exit(1);
    }
  }
}

/* An sp_generation over newly allocated arrays for `rows` rows of up to max_new_tokens ids; free it
 * with bench_generation_free. */
static inline sp_generation bench_generation_alloc(int rows, int max_new_tokens) {
  sp_generation result = sp_generation_init();
  result.ids = malloc((size_t)rows * (size_t)max_new_tokens * sizeof *result.ids);
  result.ids_capacity = (size_t)rows * (size_t)max_new_tokens;
  result.counts = malloc((size_t)rows * sizeof *result.counts);
  result.stop_reasons = malloc((size_t)rows * sizeof *result.stop_reasons);
  result.rows_capacity = (size_t)rows;
  return result;
}

static inline void bench_generation_free(sp_generation* result) {
  free(result->ids);
  free(result->counts);
  free(result->stop_reasons);
}

static inline int bench_compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Runs run(arg) once to warm up (allocator, kernels, compiled prompts), then `repeats` times (at most
 * 64), and returns the median wall time of those runs in seconds. Every call returns host data, so
 * device work has finished when run returns. */
static inline double bench_median_seconds(void (*run)(void*), void* arg, int repeats) {
  double seconds[64];
  if (repeats > 64) repeats = 64;
  run(arg);
  for (int i = 0; i < repeats; ++i) {
    const double start = now_seconds();
    run(arg);
    seconds[i] = now_seconds() - start;
  }
  qsort(seconds, (size_t)repeats, sizeof seconds[0], bench_compare_doubles);
  return repeats % 2 ? seconds[repeats / 2] : 0.5 * (seconds[repeats / 2 - 1] + seconds[repeats / 2]);
}

#endif
