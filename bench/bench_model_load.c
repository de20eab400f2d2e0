/*
 * bench_model_load: times sp_model_create (a model folder or a .gguf file, CPU, float32 unless told)
 * and prints one JSON line. bench/compare_gguf.py runs it next to transformers' from_pretrained on
 * the same GGUF file.
 *
 *   bench_model_load <model-path> [repeats] [float32|bfloat16]
 *
 * Figures: load_s, the best of `repeats` sp_model_create calls (each model freed before the next),
 * and first_load_s, the first call's time (the file may not yet be in the page cache then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <model-path> [repeats] [float32|bfloat16]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? atoi(argv[2]) : 3;
  const int bf16 = argc > 3 && strcmp(argv[3], "bfloat16") == 0;
  if (repeats < 1) {
    fprintf(stderr, "repeats must be >= 1\n");
    return 2;
  }
  sp_model_params params = sp_model_default_params();
  params.device = SP_DEVICE_CPU;
  params.dtype = bf16 ? SP_DTYPE_BFLOAT16 : SP_DTYPE_FLOAT32;

  double best = 1e30;
  double first = 0;
  sp_model_info info = sp_model_info_init();
  for (int i = 0; i < repeats; ++i) {
    sp_model* model = NULL;
    const double start = now_seconds();
    check(sp_model_create(&model, argv[1], &params), "sp_model_create");
    const double seconds = now_seconds() - start;
    if (i == 0) {
      first = seconds;
      check(sp_model_get_info(model, &info), "sp_model_get_info");
    }
    if (seconds < best) best = seconds;
    sp_model_free(model);
  }
  printf("{\"load_s\": %.6f, \"first_load_s\": %.6f, \"model_type\": \"%s\", \"layers\": %lld, \"hidden\": %lld}\n",
         best, first, info.model_type, (long long)info.num_layers, (long long)info.hidden_size);
  return 0;
}
