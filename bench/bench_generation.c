/*
 * bench_generation: times greedy generation through the public C API (sp_context_generate, a
 * prompt-tuning adapter, every row running to max_new_tokens with no end-of-sequence stopping) and
 * prints one JSON line. bench/compare_generation.py runs it next to PEFT's generate on the same model
 * and prompts and prints the ratios.
 *
 *   bench_generation <model-folder> [batch] [prompt_len] [new_tokens] [virtual_tokens] [repeats]
 *                    [cpu|cuda] [float32|bfloat16] [profile 0|1] [adapter-folder]
 *
 * The model is a folder or a .gguf file. With adapter-folder, the adapter (random virtual tokens) is
 * saved there in PEFT's layout (sp_adapter_save) and the JSON line also holds "ids", each row's
 * tokens from the last timed generate call, so that the caller can load the same adapter into PEFT
 * and compare the greedy tokens.
 *
 * Figures, each the best of `repeats` runs after one warm-up run of each kind:
 *   generate_s  one sp_context_generate call of batch x new_tokens tokens (prefill included);
 *   ttft_s      one sp_context_generate call with max_new_tokens 1: time to first token (the
 *               prompts and the soft prompt run through the model, one token chosen and returned).
 * With profile 1, also one run of the low-level calls (sp_context_prefill, then sp_context_decode
 * per token with the argmax taken here), to see where the time goes:
 *   prefill_s, decode_step_s (mean of the new_tokens - 1 decode calls).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"

/* Runs one generation of max_new_tokens per row and returns its wall time. Every row must reach
 * max_new_tokens (no EOS stops it): otherwise the figure would count tokens never generated. */
static double timed_generate(sp_context* context, const sp_prompts* prompts, int max_new_tokens,
                             sp_generation* result) {
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = max_new_tokens;
  params.do_sample = 0;
  params.use_model_eos = 0;
  const double start = now_seconds();
  check(sp_context_generate(context, prompts, &params, result), "sp_context_generate");
  const double seconds = now_seconds() - start;
  for (int32_t row = 0; row < prompts->count; ++row) {
    if (result->counts[row] != max_new_tokens || result->stop_reasons[row] != SP_STOP_MAX_TOKENS) {
      fprintf(stderr, "row %d stopped after %d of %d tokens (reason %d)\n", row, result->counts[row], max_new_tokens,
              (int)result->stop_reasons[row]);
      exit(1);
    }
  }
  return seconds;
}

static int32_t argmax(const float* logits, int64_t vocab_size) {
  int32_t best = 0;
  for (int64_t i = 1; i < vocab_size; ++i)
    if (logits[i] > logits[best]) best = (int32_t)i;
  return best;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr,
            "usage: %s <model-folder> [batch] [prompt_len] [new_tokens] [virtual_tokens] [repeats] [cpu|cuda] "
            "[float32|bfloat16] [profile 0|1] [adapter-folder]\n",
            argv[0]);
    return 2;
  }
  const int batch_size = argc > 2 ? atoi(argv[2]) : 1;
  const int prompt_len = argc > 3 ? atoi(argv[3]) : 128;
  const int new_tokens = argc > 4 ? atoi(argv[4]) : 128;
  const int virtual_tokens = argc > 5 ? atoi(argv[5]) : 20;
  const int repeats = argc > 6 ? atoi(argv[6]) : 3;
  const int cuda = argc > 7 && strcmp(argv[7], "cuda") == 0;
  const int bf16 = argc > 8 && strcmp(argv[8], "bfloat16") == 0;
  const int profile = argc > 9 && atoi(argv[9]) != 0;
  const char* adapter_folder = argc > 10 ? argv[10] : NULL;
  if (batch_size < 1 || prompt_len < 1 || new_tokens < 2 || virtual_tokens < 1 || repeats < 1) {
    fprintf(stderr, "batch, prompt_len, virtual_tokens and repeats must be >= 1, new_tokens >= 2\n");
    return 2;
  }

  sp_model_info info;
  sp_model* model = bench_load_model(argv[1], cuda, bf16, &info);

  /* The same prompts as compare_generation.py: ids (row * 31 + position * 7) % (vocab - 3) + 3, all
   * of one length, so that PEFT's batch has no padding and both sides do the same work. */
  int32_t* ids = malloc((size_t)batch_size * prompt_len * sizeof(int32_t));
  int32_t* lengths = malloc((size_t)batch_size * sizeof(int32_t));
  for (int row = 0; row < batch_size; ++row) {
    lengths[row] = prompt_len;
    for (int t = 0; t < prompt_len; ++t)
      ids[row * prompt_len + t] = (int32_t)((row * 31 + t * 7) % (info.vocab_size - 3) + 3);
  }
  sp_prompts prompts = sp_prompts_init();
  prompts.count = batch_size;
  prompts.ids = ids;
  prompts.num_ids = (size_t)batch_size * prompt_len;
  prompts.lengths = lengths;
  prompts.num_lengths = (size_t)batch_size;

  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = virtual_tokens;
  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &adapter_params), "sp_adapter_create");
  if (adapter_folder) check(sp_adapter_save(adapter, adapter_folder), "sp_adapter_save");
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = batch_size;
  context_params.max_length = prompt_len + new_tokens;
  sp_context* context = NULL;
  check(sp_context_create(&context, model, adapter, &context_params), "sp_context_create");

  int32_t* out_ids = malloc((size_t)batch_size * new_tokens * sizeof(int32_t));
  int32_t* counts = malloc((size_t)batch_size * sizeof(int32_t));
  sp_stop_reason* reasons = malloc((size_t)batch_size * sizeof(sp_stop_reason));
  sp_generation result = sp_generation_init();
  result.ids = out_ids;
  result.ids_capacity = (size_t)batch_size * new_tokens;
  result.counts = counts;
  result.stop_reasons = reasons;
  result.rows_capacity = (size_t)batch_size;

  timed_generate(context, &prompts, new_tokens, &result); /* warm-up (allocator, kernels) */
  double generate_s = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const double seconds = timed_generate(context, &prompts, new_tokens, &result);
    if (seconds < generate_s) generate_s = seconds;
  }
  /* The ids of the last full-length call, kept before the time-to-first-token calls overwrite them. */
  int32_t* generated_ids = NULL;
  if (adapter_folder) {
    generated_ids = malloc((size_t)batch_size * new_tokens * sizeof(int32_t));
    memcpy(generated_ids, out_ids, (size_t)batch_size * new_tokens * sizeof(int32_t));
  }
  /* max_new_tokens 1 writes one id per row: the result arrays are large enough. */
  timed_generate(context, &prompts, 1, &result);
  double ttft_s = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const double seconds = timed_generate(context, &prompts, 1, &result);
    if (seconds < ttft_s) ttft_s = seconds;
  }

  const double generated = (double)batch_size * new_tokens;
  printf("{\"batch\": %d, \"generate_s\": %.6f, \"ttft_s\": %.6f, \"tokens_per_s\": %.1f", batch_size, generate_s,
         ttft_s, generated / generate_s);

  if (generated_ids) {
    printf(", \"ids\": [");
    for (int row = 0; row < batch_size; ++row) {
      printf(row ? ", [" : "[");
      for (int t = 0; t < new_tokens; ++t) printf(t ? ", %d" : "%d", generated_ids[row * new_tokens + t]);
      printf("]");
    }
    printf("]");
    free(generated_ids);
  }
  if (profile) {
    const size_t logits_count = (size_t)batch_size * (size_t)info.vocab_size;
    float* logits = malloc(logits_count * sizeof(float));
    int32_t* next = malloc((size_t)batch_size * sizeof(int32_t));
    double start = now_seconds();
    check(sp_context_prefill(context, &prompts, logits, logits_count), "sp_context_prefill");
    const double prefill_s = now_seconds() - start;
    start = now_seconds();
    for (int step = 1; step < new_tokens; ++step) {
      for (int row = 0; row < batch_size; ++row)
        next[row] = argmax(logits + (size_t)row * info.vocab_size, info.vocab_size);
      check(sp_context_decode(context, next, (size_t)batch_size, logits, logits_count), "sp_context_decode");
    }
    const double decode_step_s = (now_seconds() - start) / (new_tokens - 1);
    printf(", \"prefill_s\": %.6f, \"decode_step_s\": %.6f", prefill_s, decode_step_s);
    free(next);
    free(logits);
  }
  printf("}\n");

  sp_context_free(context);
  sp_adapter_free(adapter);
  sp_model_free(model);
  free(reasons);
  free(counts);
  free(out_ids);
  free(lengths);
  free(ids);
  return 0;
}
