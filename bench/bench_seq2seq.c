/*
 * bench_seq2seq: times an encoder-decoder model (T5) with a SEQ_2_SEQ_LM adapter through the public C
 * API, and prints one JSON line. bench/compare_seq2seq.py runs it next to PEFT on the same model
 * folder, batches, prompts and threads, and prints the ratios.
 *
 *   bench_seq2seq <model> train <method> <batch> <encoder_len> <decoder_len> <virtual_tokens> <steps> <threads>
 *   bench_seq2seq <model> generate <method> <batch> <prompt_len> <new_tokens> <virtual_tokens> <repeats> <threads>
 *
 * method: prompt, prefix, ptuning-mlp or mpt (two tasks, row r takes task r % 2). threads: passed to
 * sp_set_num_threads (0 keeps the library's default). The adapter has seed 0, as PEFT's after
 * torch.manual_seed(0), so both sides start from the same soft prompt.
 *
 * train: batch rows of encoder_len encoder ids and decoder_len decoder targets (no padding, no masks;
 * the decoder reads the targets shifted right behind decoder_start_token_id). One warm-up step, then
 *   train_step_s  mean of `steps` sp_trainer_step calls (forward, backward, AdamW lr 1e-3);
 *   loss          the first (warm-up) step's loss, before any update: PEFT's must be the same.
 * generate: batch prompts of prompt_len ids, greedy, every row running to new_tokens (no
 * end-of-sequence stop: use_model_eos 0, no stop ids). One warm-up call, then
 *   generate_s    the best of `repeats` sp_context_generate calls (the encoder pass included);
 *   ids           each row's tokens from the last call, for the caller to compare with PEFT's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"

static int set_method(sp_adapter_params* params, const char* method) {
  if (strcmp(method, "prompt") == 0) {
    params->method = SP_METHOD_PROMPT_TUNING;
  } else if (strcmp(method, "prefix") == 0) {
    params->method = SP_METHOD_PREFIX_TUNING;
  } else if (strcmp(method, "ptuning-mlp") == 0) {
    params->method = SP_METHOD_P_TUNING;
    params->encoder_type = SP_ENCODER_MLP;
  } else if (strcmp(method, "mpt") == 0) {
    params->method = SP_METHOD_MULTITASK_PROMPT_TUNING;
    params->num_tasks = 2;
  } else {
    return 0;
  }
  return 1;
}

/* The same ids as compare_seq2seq.py: (row * 31 + position * 7 + offset) % (vocab - 3) + 3, so that
 * neither side sees pad (0) or eos (1); the decoder targets take offset 5. */
static int32_t* make_ids(int rows, int length, int64_t vocab_size, int offset) {
  int32_t* ids = malloc((size_t)rows * (size_t)length * sizeof *ids);
  for (int row = 0; row < rows; ++row)
    for (int t = 0; t < length; ++t)
      ids[(size_t)row * length + t] = (int32_t)((row * 31 + t * 7 + offset) % (vocab_size - 3) + 3);
  return ids;
}

static int32_t* make_task_ids(int rows) {
  int32_t* tasks = malloc((size_t)rows * sizeof *tasks);
  for (int row = 0; row < rows; ++row) tasks[row] = row % 2;
  return tasks;
}

static void bench_train(sp_adapter* adapter, const sp_model_info* info, int mpt, int batch_size, int encoder_len,
                        int decoder_len, int steps) {
  int32_t* ids = make_ids(batch_size, encoder_len, info->vocab_size, 0);
  int32_t* labels = make_ids(batch_size, decoder_len, info->vocab_size, 5);
  int32_t* tasks = make_task_ids(batch_size);
  sp_batch batch = sp_batch_init();
  batch.batch_size = batch_size;
  batch.seq_len = encoder_len;
  batch.input_ids = ids;
  batch.num_input_ids = (size_t)batch_size * encoder_len;
  batch.decoder_seq_len = decoder_len;
  batch.labels = labels;
  batch.num_labels = (size_t)batch_size * decoder_len;
  if (mpt) {
    batch.task_ids = tasks;
    batch.num_task_ids = (size_t)batch_size;
  }

  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = 1e-3; /* as compare_seq2seq.py's torch.optim.AdamW */
  sp_trainer* trainer = NULL;
  check(sp_trainer_create(&trainer, adapter, &trainer_params), "sp_trainer_create");
  sp_train_result first = sp_train_result_init();
  check(sp_trainer_step(trainer, &batch, &first), "sp_trainer_step"); /* warm-up */
  const double start = now_seconds();
  for (int i = 0; i < steps; ++i) check(sp_trainer_step(trainer, &batch, NULL), "sp_trainer_step");
  const double train_step_s = (now_seconds() - start) / steps;

  int32_t threads = 0;
  check(sp_get_num_threads(&threads), "sp_get_num_threads");
  printf("{\"train_step_s\": %.6f, \"loss\": %.6f, \"threads\": %d}\n", train_step_s, first.loss, threads);
  sp_trainer_free(trainer);
  free(tasks);
  free(labels);
  free(ids);
}

/* One generation of new_tokens per row; its wall time. Ends the run when a row stopped early: the
 * figure would count tokens never generated. */
static double timed_generate(sp_context* context, const sp_prompts* prompts, int new_tokens, sp_generation* result) {
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = new_tokens;
  params.do_sample = 0;
  params.use_model_eos = 0;
  const double start = now_seconds();
  check(sp_context_generate(context, prompts, &params, result), "sp_context_generate");
  const double seconds = now_seconds() - start;
  for (int32_t row = 0; row < prompts->count; ++row) {
    if (result->counts[row] != new_tokens || result->stop_reasons[row] != SP_STOP_MAX_TOKENS) {
      fprintf(stderr, "row %d stopped after %d of %d tokens (reason %d)\n", row, result->counts[row], new_tokens,
              (int)result->stop_reasons[row]);
      exit(1);
    }
  }
  return seconds;
}

static void bench_generate(sp_model* model, sp_adapter* adapter, const sp_model_info* info, int mpt, int batch_size,
                           int prompt_len, int new_tokens, int repeats) {
  int32_t* ids = make_ids(batch_size, prompt_len, info->vocab_size, 0);
  int32_t* lengths = malloc((size_t)batch_size * sizeof *lengths);
  for (int row = 0; row < batch_size; ++row) lengths[row] = prompt_len;
  int32_t* tasks = make_task_ids(batch_size);
  sp_prompts prompts = sp_prompts_init();
  prompts.count = batch_size;
  prompts.ids = ids;
  prompts.num_ids = (size_t)batch_size * prompt_len;
  prompts.lengths = lengths;
  prompts.num_lengths = (size_t)batch_size;
  if (mpt) {
    prompts.task_ids = tasks;
    prompts.num_task_ids = (size_t)batch_size;
  }

  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = batch_size;
  context_params.max_length = prompt_len + new_tokens;
  sp_context* context = NULL;
  check(sp_context_create(&context, model, adapter, &context_params), "sp_context_create");

  const size_t cells = (size_t)batch_size * (size_t)new_tokens;
  int32_t* out_ids = malloc(cells * sizeof *out_ids);
  int32_t* counts = malloc((size_t)batch_size * sizeof *counts);
  sp_stop_reason* reasons = malloc((size_t)batch_size * sizeof *reasons);
  sp_generation result = sp_generation_init();
  result.ids = out_ids;
  result.ids_capacity = cells;
  result.counts = counts;
  result.stop_reasons = reasons;
  result.rows_capacity = (size_t)batch_size;

  timed_generate(context, &prompts, new_tokens, &result); /* warm-up */
  double generate_s = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const double seconds = timed_generate(context, &prompts, new_tokens, &result);
    if (seconds < generate_s) generate_s = seconds;
  }

  int32_t threads = 0;
  check(sp_get_num_threads(&threads), "sp_get_num_threads");
  printf("{\"generate_s\": %.6f, \"tokens_per_s\": %.1f, \"threads\": %d, \"ids\": [", generate_s,
         (double)cells / generate_s, threads);
  for (int row = 0; row < batch_size; ++row) {
    printf(row ? ", [" : "[");
    for (int t = 0; t < new_tokens; ++t) printf(t ? ", %d" : "%d", out_ids[(size_t)row * new_tokens + t]);
    printf("]");
  }
  printf("]}\n");

  sp_context_free(context);
  free(reasons);
  free(counts);
  free(out_ids);
  free(tasks);
  free(lengths);
  free(ids);
}

int main(int argc, char** argv) {
  if (argc != 10 || (strcmp(argv[2], "train") != 0 && strcmp(argv[2], "generate") != 0)) {
    fprintf(stderr,
            "usage: %s <model> train <method> <batch> <encoder_len> <decoder_len> <virtual_tokens> <steps> <threads>\n"
            "       %s <model> generate <method> <batch> <prompt_len> <new_tokens> <virtual_tokens> <repeats> "
            "<threads>\n",
            argv[0], argv[0]);
    return 2;
  }
  const int train = strcmp(argv[2], "train") == 0;
  const char* method = argv[3];
  const int batch_size = atoi(argv[4]), first_len = atoi(argv[5]), second_len = atoi(argv[6]);
  const int virtual_tokens = atoi(argv[7]), count = atoi(argv[8]), threads = atoi(argv[9]);
  if (batch_size < 1 || first_len < 1 || second_len < 1 || virtual_tokens < 1 || count < 1 || threads < 0) {
    fprintf(stderr, "batch, lengths, virtual_tokens and steps/repeats must be >= 1, threads >= 0\n");
    return 2;
  }

  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.task_type = SP_TASK_SEQ_2_SEQ_LM;
  adapter_params.num_virtual_tokens = virtual_tokens;
  adapter_params.seed = 0;
  if (!set_method(&adapter_params, method)) {
    fprintf(stderr, "unknown method %s\n", method);
    return 2;
  }
  if (threads > 0) check(sp_set_num_threads(threads), "sp_set_num_threads");

  sp_model_info info;
  sp_model* model = bench_load_model(argv[1], 0, 0, &info);
  if (!info.is_encoder_decoder) {
    fprintf(stderr, "%s: not an encoder-decoder model (model_type %s)\n", argv[1], info.model_type);
    return 2;
  }
  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &adapter_params), "sp_adapter_create");
  const int mpt = adapter_params.method == SP_METHOD_MULTITASK_PROMPT_TUNING;
  if (train)
    bench_train(adapter, &info, mpt, batch_size, first_len, second_len, count);
  else
    bench_generate(model, adapter, &info, mpt, batch_size, first_len, second_len, count);

  sp_adapter_free(adapter);
  sp_model_free(model);
  return 0;
}
