/*
 * bench_prompt_tuning: times softprompt's training step and forward pass (prompt tuning) through
 * the public C API and prints one JSON line with tokens per second. bench/compare_with_peft.py
 * runs it next to PEFT on the same model and batch and prints the ratios.
 *
 *   bench_prompt_tuning <model-folder or .gguf file> [batch] [seq_len] [virtual_tokens] [steps] [cpu|cuda]
 *                       [float32|bfloat16]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr,
            "usage: %s <model-folder> [batch] [seq_len] [virtual_tokens] [steps] [cpu|cuda] [float32|bfloat16]\n",
            argv[0]);
    return 2;
  }
  const int batch_size = argc > 2 ? atoi(argv[2]) : 8;
  const int seq_len = argc > 3 ? atoi(argv[3]) : 128;
  const int virtual_tokens = argc > 4 ? atoi(argv[4]) : 20;
  const int steps = argc > 5 ? atoi(argv[5]) : 10;
  const int cuda = argc > 6 && strcmp(argv[6], "cuda") == 0;
  const int bf16 = argc > 7 && strcmp(argv[7], "bfloat16") == 0;
  const int warmup = 3;

  sp_model_params model_params = sp_model_default_params();
  model_params.device = cuda ? SP_DEVICE_CUDA : SP_DEVICE_CPU;
  model_params.dtype = bf16 ? SP_DTYPE_BFLOAT16 : SP_DTYPE_FLOAT32;
  sp_model* model = NULL;
  check(sp_model_create(&model, argv[1], &model_params), "sp_model_create");
  sp_model_info info;
  info.struct_size = sizeof info;
  check(sp_model_get_info(model, &info), "sp_model_get_info");

  /* The same batch as compare_with_peft.py: ids (row * 31 + position * 7) % (vocab - 3) + 3. */
  int32_t* ids = malloc((size_t)batch_size * seq_len * sizeof(int32_t));
  for (int row = 0; row < batch_size; ++row)
    for (int t = 0; t < seq_len; ++t)
      ids[row * seq_len + t] = (int32_t)((row * 31 + t * 7) % (info.vocab_size - 3) + 3);
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.batch_size = batch_size;
  batch.seq_len = seq_len;
  batch.num_input_ids = (size_t)batch_size * seq_len;

  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = virtual_tokens;
  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &adapter_params), "sp_adapter_create");
  sp_trainer* trainer = NULL;
  check(sp_trainer_create(&trainer, adapter, NULL), "sp_trainer_create");

  for (int i = 0; i < warmup; ++i) check(sp_trainer_step(trainer, &batch, NULL), "sp_trainer_step");
  double start = now_seconds();
  for (int i = 0; i < steps; ++i) check(sp_trainer_step(trainer, &batch, NULL), "sp_trainer_step");
  const double train_seconds = (now_seconds() - start) / steps;

  float loss = 0;
  for (int i = 0; i < warmup; ++i) check(sp_adapter_eval_loss(adapter, &batch, &loss, NULL), "sp_adapter_eval_loss");
  start = now_seconds();
  for (int i = 0; i < steps; ++i) check(sp_adapter_eval_loss(adapter, &batch, &loss, NULL), "sp_adapter_eval_loss");
  const double forward_seconds = (now_seconds() - start) / steps;

  const double tokens = (double)batch_size * seq_len;
  printf(
      "{\"train_step_s\": %.6f, \"forward_s\": %.6f, \"train_tokens_per_s\": %.1f, \"forward_tokens_per_s\": %.1f}\n",
      train_seconds, forward_seconds, tokens / train_seconds, tokens / forward_seconds);

  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
  free(ids);
  return 0;
}
