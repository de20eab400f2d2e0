/*
 * bench_call_overhead: the C side of the binding-overhead benchmark. Times two calls through the C
 * API on the tiny llama model; each binding's benchmark (bindings/<lang>/) times the same two calls
 * through its idiomatic layer, and the difference is the binding's overhead per call.
 *   info    sp_adapter_get_info on a prompt-tuning adapter (no tensor work: pure call cost)
 *   logits  sp_adapter_logits, SP_LOGITS_LAST, batch 1 x 8 tokens (ids 1..8), 4 virtual tokens
 *
 *   bench_call_overhead <model-folder> [info-calls] [logits-calls]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "softprompt/softprompt.h"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return 1e9 * (double)t.tv_sec + (double)t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <model-folder> [info-calls] [logits-calls]\n", argv[0]);
    return 2;
  }
  const int info_calls = argc > 2 ? atoi(argv[2]) : 200000;
  const int logits_calls = argc > 3 ? atoi(argv[3]) : 2000;
  sp_model* model = NULL;
  sp_adapter* adapter = NULL;
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 4;
  if (sp_model_create(&model, argv[1], NULL) != SP_OK || sp_adapter_create(&adapter, model, &params) != SP_OK) {
    fprintf(stderr, "%s\n", sp_last_error());
    return 1;
  }
  sp_adapter_info info;
  info.struct_size = sizeof info;
  double start = now_ns();
  for (int i = 0; i < info_calls; ++i) sp_adapter_get_info(adapter, &info);
  const double info_ns = (now_ns() - start) / info_calls;

  int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = 8;
  batch.input_ids = ids;
  batch.num_input_ids = 8;
  sp_model_info model_info;
  model_info.struct_size = sizeof model_info;
  sp_model_get_info(model, &model_info);
  float* logits = malloc((size_t)model_info.vocab_size * sizeof(float));
  for (int i = 0; i < 50; ++i)
    sp_adapter_logits(adapter, &batch, SP_LOGITS_LAST, logits, (size_t)model_info.vocab_size);
  start = now_ns();
  for (int i = 0; i < logits_calls; ++i)
    sp_adapter_logits(adapter, &batch, SP_LOGITS_LAST, logits, (size_t)model_info.vocab_size);
  const double logits_ns = (now_ns() - start) / logits_calls;
  printf("{\"language\": \"c\", \"info_ns\": %.1f, \"logits_ns\": %.1f}\n", info_ns, logits_ns);
  free(logits);
  sp_adapter_free(adapter);
  sp_model_free(model);
  return 0;
}
