/*
 * train_prompt: the whole life of a soft prompt through the public C API only.
 *
 *   train_prompt <model-folder> <adapter-folder> [steps]
 *
 * Loads a frozen model, creates a prompt-tuning adapter, trains it for `steps` updates (default
 * 300) on a small fixed task, prints the loss as it falls, saves the adapter in PEFT's layout,
 * loads it back and checks that the reloaded adapter gives the same evaluation loss.
 *
 * The task: four fixed token sequences that the frozen model should learn to continue. Only the
 * soft prompt (16 vectors) is trained; the model never changes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softprompt/softprompt.h"

#define ROWS 4
#define SEQ_LEN 12

/* Prints the failed call and the library's message, then exits. */
static void check(sp_status status, const char* what) {
  if (status != SP_OK) {
    fprintf(stderr, "%s failed: %s: %s\n", what, sp_status_string(status), sp_last_error());
    exit(1);
  }
}

/* Four sequences of ids in [3, vocab_size): a fixed pseudo-random "corpus". */
static void make_task(int32_t* ids, int64_t vocab_size) {
  uint32_t state = 12345u;
  for (int i = 0; i < ROWS * SEQ_LEN; ++i) {
    state = state * 1664525u + 1013904223u;
    ids[i] = (int32_t)(3 + (state >> 8) % (uint32_t)(vocab_size - 3));
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <model-folder> <adapter-folder> [steps]\n", argv[0]);
    return 2;
  }
  const char* model_folder = argv[1];
  const char* adapter_folder = argv[2];
  const int steps = argc > 3 ? atoi(argv[3]) : 300;
  printf("softprompt %s\n", sp_version());

  sp_model* model = NULL;
  check(sp_model_create(&model, model_folder, NULL), "sp_model_create");
  sp_model_info info;
  info.struct_size = sizeof info;
  check(sp_model_get_info(model, &info), "sp_model_get_info");
  printf("model: %s, %lld layers, hidden %lld, vocabulary %lld\n", info.model_type, (long long)info.num_layers,
         (long long)info.hidden_size, (long long)info.vocab_size);

  int32_t ids[ROWS * SEQ_LEN];
  make_task(ids, info.vocab_size);
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.batch_size = ROWS;
  batch.seq_len = SEQ_LEN;
  batch.num_input_ids = ROWS * SEQ_LEN;

  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = 16;
  adapter_params.init = SP_INIT_SAMPLE_VOCAB;
  adapter_params.seed = 42;
  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &adapter_params), "sp_adapter_create");

  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = 0.1;
  trainer_params.warmup_steps = 10;
  trainer_params.total_steps = steps;
  trainer_params.max_grad_norm = 1.0;
  sp_trainer* trainer = NULL;
  check(sp_trainer_create(&trainer, adapter, &trainer_params), "sp_trainer_create");

  float start_loss = 0.0f;
  check(sp_eval_loss(adapter, &batch, &start_loss, NULL), "sp_eval_loss");
  printf("step %4d  loss %.4f\n", 0, start_loss);
  for (int step = 1; step <= steps; ++step) {
    sp_train_result result;
    result.struct_size = sizeof result;
    check(sp_train_step(trainer, &batch, &result), "sp_train_step");
    if (step % 25 == 0 || step == steps)
      printf("step %4d  loss %.4f  lr %.4f  grad-norm %.3f\n", step, result.loss, result.learning_rate, result.grad_norm);
  }

  float trained_loss = 0.0f;
  check(sp_eval_loss(adapter, &batch, &trained_loss, NULL), "sp_eval_loss");
  check(sp_save_adapter(adapter, adapter_folder), "sp_save_adapter");
  printf("saved adapter to %s\n", adapter_folder);

  sp_adapter* reloaded = NULL;
  check(sp_load_adapter(&reloaded, model, adapter_folder), "sp_load_adapter");
  float reloaded_loss = 0.0f;
  check(sp_eval_loss(reloaded, &batch, &reloaded_loss, NULL), "sp_eval_loss");
  printf("evaluation loss: start %.4f, trained %.4f, reloaded %.4f\n", start_loss, trained_loss, reloaded_loss);

  sp_trainer_free(trainer);
  sp_adapter_free(reloaded);
  sp_adapter_free(adapter);
  sp_model_free(model);

  if (fabsf(trained_loss - reloaded_loss) > 1e-5f) {
    fprintf(stderr, "reloaded adapter gives a different loss\n");
    return 1;
  }
  if (!(trained_loss < start_loss)) {
    fprintf(stderr, "the loss did not fall\n");
    return 1;
  }
  return 0;
}
