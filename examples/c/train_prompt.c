/*
 * train_prompt: the whole life of a soft prompt through the public C API only.
 *
 *   train_prompt <model-folder> <adapter-folder> [steps] [--method NAME]
 *
 * Loads a frozen model, creates an adapter of one soft-prompt method, trains it for `steps`
 * updates (default 300) on a small fixed task, prints the loss as it falls, saves the adapter in
 * PEFT's folder layout and in softprompt's single-file format, loads both back and checks that
 * each reloaded adapter gives the same evaluation loss.
 *
 * Methods (--method): prompt (default), prefix, prefix-projection, ptuning-mlp, ptuning-lstm, mpt.
 *
 * The task: four fixed token sequences that the frozen model should learn to continue (for mpt,
 * rows alternate between two tasks). Only the soft prompt is trained; the model never changes.
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

/* Adapter settings and a learning rate that suits each method on this task. */
static int configure(const char* method, sp_adapter_params* params, double* learning_rate) {
  *params = sp_adapter_default_params();
  params->num_virtual_tokens = 16;
  params->seed = 42;
  *learning_rate = 0.1;
  if (strcmp(method, "prompt") == 0) {
    params->init = SP_INIT_SAMPLE_VOCAB;
  } else if (strcmp(method, "prefix") == 0) {
    params->method = SP_METHOD_PREFIX_TUNING;
    *learning_rate = 0.05;
  } else if (strcmp(method, "prefix-projection") == 0) {
    params->method = SP_METHOD_PREFIX_TUNING;
    params->prefix_projection = 1;
    *learning_rate = 3e-3;
  } else if (strcmp(method, "ptuning-mlp") == 0 || strcmp(method, "ptuning-lstm") == 0) {
    params->method = SP_METHOD_P_TUNING;
    params->encoder_type = strcmp(method, "ptuning-lstm") == 0 ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
    *learning_rate = 3e-3;
  } else if (strcmp(method, "mpt") == 0) {
    params->method = SP_METHOD_MULTITASK_PROMPT_TUNING;
    params->num_tasks = 2;
  } else {
    return 0;
  }
  return 1;
}

int main(int argc, char** argv) {
  const char* method = "prompt";
  const char* positional[3] = {NULL, NULL, NULL};
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--method") == 0 && i + 1 < argc) {
      method = argv[++i];
    } else if (count < 3) {
      positional[count++] = argv[i];
    }
  }
  sp_adapter_params adapter_params;
  double learning_rate = 0;
  if (count < 2 || !configure(method, &adapter_params, &learning_rate)) {
    fprintf(stderr,
            "usage: %s <model-folder> <adapter-folder> [steps] "
            "[--method prompt|prefix|prefix-projection|ptuning-mlp|ptuning-lstm|mpt]\n",
            argv[0]);
    return 2;
  }
  const char* model_folder = positional[0];
  const char* adapter_folder = positional[1];
  const int steps = positional[2] ? atoi(positional[2]) : 300;
  printf("softprompt %s, method %s\n", sp_version(), method);

  sp_model* model = NULL;
  check(sp_model_create(&model, model_folder, NULL), "sp_model_create");
  sp_model_info info;
  info.struct_size = sizeof info;
  check(sp_model_get_info(model, &info), "sp_model_get_info");
  printf("model: %s, %lld layers, hidden %lld, vocabulary %lld\n", info.model_type, (long long)info.num_layers,
         (long long)info.hidden_size, (long long)info.vocab_size);

  int32_t ids[ROWS * SEQ_LEN];
  make_task(ids, info.vocab_size);
  int32_t tasks[ROWS] = {0, 1, 0, 1}; /* used by multitask prompt tuning only */
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.batch_size = ROWS;
  batch.seq_len = SEQ_LEN;
  batch.num_input_ids = ROWS * SEQ_LEN;
  batch.task_ids = tasks;
  batch.num_task_ids = ROWS;

  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &adapter_params), "sp_adapter_create");

  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = learning_rate;
  trainer_params.warmup_steps = 10;
  trainer_params.total_steps = steps;
  trainer_params.max_grad_norm = 1.0;
  sp_trainer* trainer = NULL;
  check(sp_trainer_create(&trainer, adapter, &trainer_params), "sp_trainer_create");

  float start_loss = 0.0f;
  check(sp_adapter_eval_loss(adapter, &batch, &start_loss, NULL), "sp_adapter_eval_loss");
  printf("step %4d  loss %.4f\n", 0, start_loss);
  for (int step = 1; step <= steps; ++step) {
    sp_train_result result;
    result.struct_size = sizeof result;
    check(sp_trainer_step(trainer, &batch, &result), "sp_trainer_step");
    if (step % 25 == 0 || step == steps)
      printf("step %4d  loss %.4f  lr %.4f  grad-norm %.3f\n", step, result.loss, result.learning_rate,
             result.grad_norm);
  }

  float trained_loss = 0.0f;
  check(sp_adapter_eval_loss(adapter, &batch, &trained_loss, NULL), "sp_adapter_eval_loss");
  check(sp_adapter_save(adapter, adapter_folder), "sp_adapter_save");
  printf("saved adapter to %s\n", adapter_folder);

  char single_file[4096];
  snprintf(single_file, sizeof single_file, "%s.spadapter", adapter_folder);
  check(sp_adapter_save_file(adapter, single_file), "sp_adapter_save_file");
  printf("saved adapter to %s\n", single_file);

  sp_adapter* reloaded = NULL;
  check(sp_adapter_load(&reloaded, model, adapter_folder), "sp_adapter_load");
  float reloaded_loss = 0.0f;
  check(sp_adapter_eval_loss(reloaded, &batch, &reloaded_loss, NULL), "sp_adapter_eval_loss");
  sp_adapter* from_file = NULL;
  check(sp_adapter_load_file(&from_file, model, single_file), "sp_adapter_load_file");
  float file_loss = 0.0f;
  check(sp_adapter_eval_loss(from_file, &batch, &file_loss, NULL), "sp_adapter_eval_loss");
  printf("evaluation loss: start %.4f, trained %.4f, reloaded from the folder %.4f, from the file %.4f\n", start_loss,
         trained_loss, reloaded_loss, file_loss);

  sp_trainer_free(trainer);
  sp_adapter_free(from_file);
  sp_adapter_free(reloaded);
  sp_adapter_free(adapter);
  sp_model_free(model);

  if (fabsf(trained_loss - reloaded_loss) > 1e-5f || fabsf(trained_loss - file_loss) > 1e-5f) {
    fprintf(stderr, "a reloaded adapter gives a different loss\n");
    return 1;
  }
  if (!(trained_loss < start_loss)) {
    fprintf(stderr, "the loss did not fall\n");
    return 1;
  }
  return 0;
}
