/*
 * T5 and SEQ_2_SEQ_LM adapters of every method against transformers and PEFT, through the C API.
 *
 *   test_seq2seq_conformance <reference-root> <scratch-folder> <variant>[:base]...
 *
 * The reference root is written by tests/reference/t5_reference.py (its docstring describes every
 * file); the models are <reference-root>/models/<variant>. For every variant:
 *   - the base model: what sp_model_info reports (an encoder-decoder, its encoder and decoder layers as
 *     config.json's num_layers and num_decoder_layers state them, its start token), the decoder's
 *     logits and the loss of the batch's targets, the encoder's hidden states, and greedy generation
 *     token for token. Where the reference has no base_generated.i32, which t5_reference.py omits only
 *     for a decoder with another layer count than the encoder (transformers' generate fails there;
 *     t5gelu), the test says so and checks greedy generation against the forward pass instead: the
 *     first token against transformers' logits, every token against our full decoder forward;
 *   - every method case (not for variants named "<name>:base" on the command line: t5_reference.py's
 *     base-only variants, t5gelu and t5silu, which must have no case folders, as every other variant
 *     must have them): the same starting tensors as PEFT for the same
 *     seed (2n-row tables, m = 2), the decoder logits, the loss and each row's log-likelihood, the
 *     gradient of every trainable tensor and every tensor after one AdamW step; PEFT's saved folder
 *     loads with PEFT's logits and generates PEFT's tokens (prefix tuning: the spec's generation, see
 *     the DIRECT_CALL file); our adapter saved as a folder and as one file loads back bit-identical.
 *     The folder is <scratch-folder>/<variant>/<case>/folder, beside it our_output.f32 (its decoder
 *     logits on the batch), which tests/reference/check_seq2seq_adapters_in_peft.py compares with
 *     PEFT's from that folder;
 *   - refusals: each gives its status and leaves the objects as they were.
 * Every numerical comparison uses the tolerance rule of test_support.h. The reduction length of a
 * call is stated as the decoder-only length over every position the call has (encoder input, virtual
 * tokens and decoder positions) for each stack with its own layer count, summed: two stacks, whose
 * attention (self and cross) reads at most that many keys.
 * Greedy tokens must be identical where the reference's choice was clear: the reference records each
 * step's margin (chosen logit minus runner-up); a step closer to a tie than the logits' tolerance
 * could go either way, and the comparison of that row stops there (reported).
 */
#include <sys/stat.h>

#include "peft_cases.h"

/* Shared with tests/reference/t5_reference.py (and the encoder_reference.py constants it imports). */
#define SEED 11
#define NUM_VIRTUAL_TOKENS 4
#define BATCH 3
#define SEQ_LEN 22
#define TARGET_LEN 5
#define GENERATED 6
#define ENCODER_HIDDEN_SIZE 16
#define MPT_NUM_TASKS 2
#define MPT_NUM_RANKS 2
#define LEARNING_RATE 0.01
#define WEIGHT_DECAY 0.01
#define ADAMW_EPS 1e-3
#define EOS_ID 1
#define PAD_ID 0
static const int32_t MPT_TASK_IDS[BATCH] = {1, 0, 1};

static const char* reference_root;
static const char* scratch_root;

typedef struct variant {
  const char* name;
  char model_folder[512];
  char reference_folder[512];
  sp_model* model;
  sp_model_info info;
  int64_t intermediate_size;
  int64_t config_num_layers, config_num_decoder_layers; /* config.json's, see read_config_layers() */
  int32_t* input_ids;
  int32_t* attention_mask;
  int32_t* labels;
} variant;

/* t5_reference.py's cases (encoder_reference.py's cases() with T5's MPT settings). */
static const method_case cases[] = {
    {"prompt", SP_METHOD_PROMPT_TUNING, 0, 0, 0, 1, 1},
    {"prefix", SP_METHOD_PREFIX_TUNING, 0, 0, 0, 1, 1},
    {"prefix_projection", SP_METHOD_PREFIX_TUNING, 1, ENCODER_HIDDEN_SIZE, 0, 1, 1},
    {"ptuning_mlp", SP_METHOD_P_TUNING, 0, ENCODER_HIDDEN_SIZE, 0, 1, 1},
    {"ptuning_lstm", SP_METHOD_P_TUNING, 0, ENCODER_HIDDEN_SIZE, 1, 1, 1},
    {"mpt", SP_METHOD_MULTITASK_PROMPT_TUNING, 0, 0, 0, MPT_NUM_TASKS, MPT_NUM_RANKS},
};
#define NUM_CASES (sizeof cases / sizeof cases[0])

#define MAX_VARIANTS 8
static variant variants[MAX_VARIANTS];
static int num_variants;

typedef struct case_state {
  variant* v;
  const method_case* method; /* NULL for the base model and the refusals */
  char name[160];
} case_state;

/* ---------------------------------------------------------------------------------------------
 * Reduction lengths, files, batches
 * ------------------------------------------------------------------------------------------- */

/* The case's prompt encoder (as test_task_conformance.c). Prompt tables have 2n rows (m = 2). */
static double prompt_encoder_length(const method_case* c, const sp_model_info* info) {
  const double h = (double)info->hidden_size, e = c->encoder_hidden_size;
  if (c->method == SP_METHOD_PREFIX_TUNING) return c->prefix_projection ? h + e : 0.0;
  if (c->method == SP_METHOD_P_TUNING) return conformance_ptuning_encoder_length(c->lstm, 2 * NUM_VIRTUAL_TOKENS, h, e);
  if (c->method == SP_METHOD_MULTITASK_PROMPT_TUNING) return (double)c->num_ranks;
  return 0.0;
}

/* One stack (num_layers blocks) over every position of the call (see the file comment). */
static double stack_length(const variant* v, int64_t num_layers, int64_t virtual_tokens, double encoder_length) {
  sp_model_info stack = v->info;
  stack.num_layers = num_layers;
  return conformance_forward_length(&stack, v->intermediate_size, SEQ_LEN + TARGET_LEN + 2 * virtual_tokens,
                                    encoder_length);
}

/* Both stacks, each with its own layer count. */
static double forward_length(const variant* v, int64_t virtual_tokens, double encoder_length) {
  return stack_length(v, v->info.num_layers, virtual_tokens, encoder_length) +
         stack_length(v, v->info.num_decoder_layers, virtual_tokens, encoder_length);
}

static int path_exists(const char* path) {
  struct stat info;
  return stat(path, &info) == 0;
}

static int read_ints(const char* folder, const char* name, int32_t** out, size_t expected) {
  char path[1024];
  size_t count = 0;
  *out = read_raw(test_path(path, sizeof path, folder, name), 4, &count);
  if (count != expected) {
    fprintf(stderr, "%s holds %zu values, expected %zu\n", path, count, expected);
    return 0;
  }
  return 1;
}

/* The layer counts of <model>/config.json, which the base test holds sp_model_info to:
 * "num_layers" (the encoder's) and "num_decoder_layers" (transformers: num_layers when absent). 0 if
 * "num_layers" cannot be read. */
static void read_config_layers(variant* v) {
  char path[1100];
  size_t count = 0;
  char* text = (char*)read_raw(test_path(path, sizeof path, v->model_folder, "config.json"), 1, &count);
  text = (char*)realloc(text, count + 1);
  text[count] = '\0';
  const char* keys[] = {"\"num_layers\"", "\"num_decoder_layers\""};
  int64_t* values[] = {&v->config_num_layers, &v->config_num_decoder_layers};
  for (int k = 0; k < 2; ++k) {
    *values[k] = 0;
    const char* at = strstr(text, keys[k]);
    if (at) at = strchr(at + strlen(keys[k]), ':');
    long long value = 0;
    if (at && sscanf(at + 1, " %lld", &value) == 1) *values[k] = (int64_t)value;
  }
  if (!strstr(text, keys[1])) v->config_num_decoder_layers = v->config_num_layers;
  free(text);
}

static int setup_variants(void** state) {
  (void)state;
  for (int i = 0; i < num_variants; ++i) {
    variant* v = &variants[i];
    snprintf(v->model_folder, sizeof v->model_folder, "%s/models/%s", reference_root, v->name);
    snprintf(v->reference_folder, sizeof v->reference_folder, "%s/%s", reference_root, v->name);
    sp_model_params params = test_model_params();
    if (sp_model_create(&v->model, v->model_folder, &params) != SP_OK) {
      fprintf(stderr, "cannot load %s: %s\n", v->model_folder, sp_last_error());
      return -1;
    }
    v->info = sp_model_info_init();
    if (sp_model_get_info(v->model, &v->info) != SP_OK) return -1;
    v->intermediate_size = model_intermediate_size(v->model_folder, &v->info);
    read_config_layers(v);
    if (!read_ints(v->reference_folder, "input_ids.i32", &v->input_ids, BATCH * SEQ_LEN) ||
        !read_ints(v->reference_folder, "attention_mask.i32", &v->attention_mask, BATCH * SEQ_LEN) ||
        !read_ints(v->reference_folder, "labels.i32", &v->labels, BATCH * TARGET_LEN))
      return -1;
  }
  return 0;
}

static int teardown_variants(void** state) {
  (void)state;
  for (int i = 0; i < num_variants; ++i) {
    sp_model_free(variants[i].model);
    free(variants[i].input_ids);
    free(variants[i].attention_mask);
    free(variants[i].labels);
  }
  return 0;
}

/* The reference batch: encoder ids and mask, the decoder's targets (its inputs are derived from them). */
static sp_batch seq2seq_batch(const variant* v, int num_tasks) {
  sp_batch batch = sp_batch_init();
  batch.batch_size = BATCH;
  batch.seq_len = SEQ_LEN;
  batch.input_ids = v->input_ids;
  batch.attention_mask = v->attention_mask;
  batch.num_input_ids = batch.num_attention_mask = BATCH * SEQ_LEN;
  batch.decoder_seq_len = TARGET_LEN;
  batch.labels = v->labels;
  batch.num_labels = BATCH * TARGET_LEN;
  if (num_tasks > 1) {
    batch.task_ids = MPT_TASK_IDS;
    batch.num_task_ids = BATCH;
  }
  return batch;
}

/* The batch's real encoder tokens as prompts, one per row. */
typedef struct row_prompts {
  int32_t ids[BATCH * SEQ_LEN];
  int32_t lengths[BATCH];
  sp_prompts prompts;
} row_prompts;

static void make_prompts(const variant* v, int num_tasks, row_prompts* out) {
  size_t total = 0;
  for (int r = 0; r < BATCH; ++r) {
    out->lengths[r] = 0;
    for (int j = 0; j < SEQ_LEN; ++j)
      if (v->attention_mask[r * SEQ_LEN + j]) {
        out->ids[total++] = v->input_ids[r * SEQ_LEN + j];
        ++out->lengths[r];
      }
  }
  out->prompts = sp_prompts_init();
  out->prompts.count = BATCH;
  out->prompts.ids = out->ids;
  out->prompts.num_ids = total;
  out->prompts.lengths = out->lengths;
  out->prompts.num_lengths = BATCH;
  if (num_tasks > 1) {
    out->prompts.task_ids = MPT_TASK_IDS;
    out->prompts.num_task_ids = BATCH;
  }
}

/* Greedy generation of GENERATED tokens (the model's eos ends a row) against <folder>/<name>.i32, whose
 * rows continue with the pad id after an eos, and whose steps' margins are <name>_margin.f32: a step
 * closer to a tie than `tie` ends that row's comparison (reported). */
/* A context for the batch's rows (and GENERATED more tokens each), and its greedy generation of the
 * batch's rows at once into ids (row r at r * GENERATED), counts and reasons; the caller frees it. */
typedef struct batch_generation {
  sp_context* context;
  row_prompts prompts;
  sp_generate_params params;
  int32_t ids[BATCH * GENERATED], counts[BATCH];
  sp_stop_reason reasons[BATCH];
  sp_generation result;
} batch_generation;

static void generate_batch(const variant* v, sp_adapter* adapter, int num_tasks, batch_generation* g) {
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = BATCH;
  context_params.max_length = SEQ_LEN + GENERATED + 1;
  g->context = NULL;
  SP_CHECK(sp_context_create(&g->context, v->model, adapter, &context_params));
  make_prompts(v, num_tasks, &g->prompts);
  g->params = sp_generate_default_params();
  g->params.max_new_tokens = GENERATED;
  g->result = sp_generation_init();
  g->result.ids = g->ids;
  g->result.ids_capacity = BATCH * GENERATED;
  g->result.counts = g->counts;
  g->result.stop_reasons = g->reasons;
  g->result.rows_capacity = BATCH;
  SP_CHECK(sp_context_generate(g->context, &g->prompts.prompts, &g->params, &g->result));
}

/* Row r's generated tokens (count of them, stopped for `reason`) against the reference's row; returns
 * how many were compared (up to a near tie: see generation_matches). */
static int row_matches(int r, const int32_t* ids, int32_t count, sp_stop_reason reason, const int32_t* expected,
                       const float* margins, double tie, const char* how) {
  int compared = 0;
  for (int step = 0; step < GENERATED; ++step) {
    const int32_t want = expected[r * GENERATED + step];
    if (step > 0 && expected[r * GENERATED + step - 1] == EOS_ID) { /* the reference's row ended */
      assert_int_equal(count, step);
      assert_int_equal(reason, SP_STOP_EOS);
      break;
    }
    if (step >= count)
      fail_msg("%s row %d stopped after %d tokens; the reference goes on with %d", how, r, count, want);
    if (ids[step] != want) {
      if (margins[r * GENERATED + step] < tie) {
        printf("    %s row %d step %d: a near tie (margin %.3g < %.3g), compared up to there\n", how, r, step,
               (double)margins[r * GENERATED + step], tie);
        break;
      }
      fail_msg("%s row %d step %d: generated %d, the reference %d (margin %.3g)", how, r, step, ids[step], want,
               (double)margins[r * GENERATED + step]);
    }
    ++compared;
  }
  return compared;
}

/* Greedy generation of GENERATED tokens (the model's eos ends a row) against <folder>/<name>.i32, whose
 * rows continue with the pad id after an eos, and whose steps' margins are <name>_margin.f32: a step
 * closer to a tie than `tie` ends that row's comparison (reported). The rows run as one batch (their
 * encoder inputs padded), then each alone (unpadded: its own call, as transformers' generate of that
 * row alone would be), and both must give the reference's tokens. */
static void generation_matches(const variant* v, sp_adapter* adapter, int num_tasks, const char* folder,
                               const char* name, double tie) {
  char file[128];
  snprintf(file, sizeof file, "%s.i32", name);
  int32_t* expected = NULL;
  if (!read_ints(folder, file, &expected, BATCH * GENERATED)) fail_msg("%s/%s unreadable", folder, file);
  snprintf(file, sizeof file, "%s_margin.f32", name);
  float* margins = read_floats(folder, file, BATCH * GENERATED);
  batch_generation g;
  generate_batch(v, adapter, num_tasks, &g);
  sp_context* context = g.context;
  const row_prompts prompts = g.prompts;
  const sp_generate_params params = g.params;
  int32_t* ids = g.ids;
  const int32_t* counts = g.counts;
  const sp_stop_reason* reasons = g.reasons;
  sp_generation result = g.result;
  int compared = 0, compared_alone = 0;
  for (int r = 0; r < BATCH; ++r)
    compared += row_matches(r, ids + r * GENERATED, counts[r], reasons[r], expected, margins, tie, "batched");
  size_t offset = 0;
  for (int r = 0; r < BATCH; ++r) {
    sp_prompts alone = prompts.prompts;
    alone.count = 1;
    alone.ids = prompts.ids + offset;
    alone.num_ids = (size_t)prompts.lengths[r];
    alone.lengths = prompts.lengths + r;
    alone.num_lengths = 1;
    if (alone.task_ids) {
      alone.task_ids += r;
      alone.num_task_ids = 1;
    }
    offset += (size_t)prompts.lengths[r];
    result.ids_capacity = GENERATED;
    result.rows_capacity = 1;
    SP_CHECK(sp_context_generate(context, &alone, &params, &result));
    compared_alone += row_matches(r, ids, counts[0], reasons[0], expected, margins, tie, "alone");
  }
  printf("    %-48s %d tokens identical batched, %d alone\n", name, compared, compared_alone);
  sp_context_free(context);
  free(expected);
  free(margins);
}

/* The argmax of a row of logits and its lead over the runner-up. */
static int32_t top_of(const float* row, size_t vocab, double* margin) {
  size_t best = row[1] > row[0] ? 1 : 0, second = 1 - best;
  for (size_t i = 2; i < vocab; ++i) {
    if (row[i] > row[best]) {
      second = best;
      best = i;
    } else if (row[i] > row[second]) {
      second = i;
    }
  }
  *margin = (double)row[best] - (double)row[second];
  return (int32_t)best;
}

/* Greedy generation where transformers has none (t5gelu: its generate fails on num_decoder_layers !=
 * num_layers, see t5_reference.py), checked against forward passes instead: step 0 (the start token
 * alone) must choose the argmax of transformers' logits at decoder position 0 (`reference_logits`,
 * base_logits.f32, whose decoder also starts from the start token), and every step the argmax of our
 * own full decoder forward over the start token and the tokens generated before it, the forward the
 * base test holds to transformers; that checks generation's cache through every decoder layer. A step
 * whose top two logits are closer than `tie` ends that row's comparison (reported). */
static void generation_follows_forward(const variant* v, const float* reference_logits, double tie) {
  const size_t vocab = (size_t)v->info.vocab_size;
  batch_generation g;
  generate_batch(v, NULL, 1, &g);
  sp_context_free(g.context);
  const int32_t* ids = g.ids;
  const int32_t* counts = g.counts;

  int from_reference = 0, compared = 0;
  for (int r = 0; r < BATCH; ++r) {
    if (counts[r] < 1) fail_msg("row %d generated nothing", r);
    double margin = 0.0;
    const int32_t want = top_of(reference_logits + (size_t)r * TARGET_LEN * vocab, vocab, &margin);
    if (margin < tie) {
      printf("    row %d step 0: a near tie in transformers' logits (margin %.3g < %.3g), not compared\n", r, margin,
             tie);
      continue;
    }
    if (ids[r * GENERATED] != want)
      fail_msg("row %d step 0: generated %d, transformers' argmax %d (margin %.3g)", r, ids[r * GENERATED], want,
               margin);
    ++from_reference;
  }

  int32_t decoder_ids[BATCH * GENERATED];
  for (int r = 0; r < BATCH; ++r) {
    decoder_ids[r * GENERATED] = (int32_t)v->info.decoder_start_token_id;
    /* After a row's eos (its last token): pad, which changes no earlier position. */
    for (int step = 1; step < GENERATED; ++step)
      decoder_ids[r * GENERATED + step] = step <= counts[r] ? ids[r * GENERATED + step - 1] : PAD_ID;
  }
  sp_batch batch = seq2seq_batch(v, 1);
  batch.labels = NULL;
  batch.num_labels = 0;
  batch.decoder_seq_len = GENERATED;
  batch.decoder_input_ids = decoder_ids;
  batch.num_decoder_input_ids = BATCH * GENERATED;
  const size_t count = (size_t)BATCH * GENERATED * vocab;
  float* logits = malloc(count * sizeof(float));
  SP_CHECK(sp_model_logits(v->model, &batch, SP_LOGITS_ALL, logits, count));
  for (int r = 0; r < BATCH; ++r) {
    for (int step = 0; step < counts[r]; ++step) {
      double margin = 0.0;
      const int32_t want = top_of(logits + ((size_t)r * GENERATED + step) * vocab, vocab, &margin);
      if (margin < tie) {
        printf("    row %d step %d: a near tie (margin %.3g < %.3g), compared up to there\n", r, step, margin, tie);
        break;
      }
      if (ids[r * GENERATED + step] != want)
        fail_msg("row %d step %d: generated %d, the full decoder forward's argmax %d (margin %.3g)", r, step,
                 ids[r * GENERATED + step], want, margin);
      ++compared;
    }
  }
  printf("    %-48s %d of %d first tokens transformers' argmax, %d tokens the forward's\n", "greedy generation",
         from_reference, BATCH, compared);
  free(logits);
}

static void reference_row_log_likelihoods(const variant* v, const float* logits, float* rows) {
  const int64_t vocab = v->info.vocab_size;
  for (int r = 0; r < BATCH; ++r) {
    double total = 0.0;
    for (int t = 0; t < TARGET_LEN; ++t) {
      const int32_t label = v->labels[r * TARGET_LEN + t];
      if (label != -100)
        total += log_probability_of(logits + ((size_t)r * TARGET_LEN + t) * (size_t)vocab, vocab, label);
    }
    rows[r] = (float)total;
  }
}

/* The bound of the logits, as a margin below which a greedy choice is a tie. */
static double tie_margin(const float* logits, size_t count, double length) {
  return 2.0 * conformance_bound(logits, count, length);
}

/* ---------------------------------------------------------------------------------------------
 * 1. The base model
 * ------------------------------------------------------------------------------------------- */

static void base_model_matches_transformers(void** state) {
  variant* v = ((const case_state*)*state)->v;
  printf("  [%s / base model]\n", v->name);
  assert_string_equal(v->info.model_type, "t5");
  assert_int_equal(v->info.is_encoder_decoder, 1);
  /* The stacks as config.json states them (t5gelu: a decoder deeper than the encoder). */
  assert_int_equal(v->info.num_layers, v->config_num_layers);
  assert_int_equal(v->info.num_decoder_layers, v->config_num_decoder_layers);
  assert_int_equal(v->info.decoder_start_token_id, 0);
  assert_int_equal(v->info.has_lm_head, 1);
  assert_int_equal(v->info.type_vocab_size, 0);

  const double length = forward_length(v, 0, 0.0);
  const size_t vocab = (size_t)v->info.vocab_size, count = (size_t)BATCH * TARGET_LEN * vocab;
  sp_batch batch = seq2seq_batch(v, 1);
  size_t counted = 0;
  SP_CHECK(sp_logits_count(v->info.vocab_size, BATCH, TARGET_LEN, SP_LOGITS_ALL, &counted));
  assert_int_equal(counted, count);
  float* logits = malloc(count * sizeof(float));
  float* expected = read_floats(v->reference_folder, "base_logits.f32", count);
  SP_CHECK(sp_model_logits(v->model, &batch, SP_LOGITS_ALL, logits, count));
  ASSERT_CONFORMS("base decoder logits vs transformers", logits, expected, count, length);
  /* The last decoder position of each row. */
  float* last = malloc((size_t)BATCH * vocab * sizeof(float));
  SP_CHECK(sp_model_logits(v->model, &batch, SP_LOGITS_LAST, last, (size_t)BATCH * vocab));
  for (int r = 0; r < BATCH; ++r)
    ASSERT_CONFORMS("base SP_LOGITS_LAST vs the last decoder position", last + (size_t)r * vocab,
                    expected + ((size_t)r * TARGET_LEN + TARGET_LEN - 1) * vocab, vocab, length);
  /* The same decoder inputs given explicitly give the same logits. */
  int32_t* decoder_input_ids = NULL;
  if (!read_ints(v->reference_folder, "decoder_input_ids.i32", &decoder_input_ids, BATCH * TARGET_LEN))
    fail_msg("decoder_input_ids.i32 unreadable");
  sp_batch explicit_inputs = batch;
  explicit_inputs.labels = NULL;
  explicit_inputs.num_labels = 0;
  explicit_inputs.decoder_input_ids = decoder_input_ids;
  explicit_inputs.num_decoder_input_ids = BATCH * TARGET_LEN;
  float* again = malloc(count * sizeof(float));
  SP_CHECK(sp_model_logits(v->model, &explicit_inputs, SP_LOGITS_ALL, again, count));
  ASSERT_IDENTICAL("decoder_input_ids = the shifted labels", again, logits, count);

  float loss = 0, rows[BATCH], expected_rows[BATCH];
  float* expected_loss = read_floats(v->reference_folder, "base_loss.f32", 1);
  SP_CHECK(sp_model_eval_loss(v->model, &batch, &loss, rows));
  const double loss_length = conformance_loss_length(length, &v->info, BATCH * TARGET_LEN);
  ASSERT_CONFORMS("base loss vs transformers", &loss, expected_loss, 1, loss_length);
  reference_row_log_likelihoods(v, expected, expected_rows);
  ASSERT_CONFORMS("base row log-likelihoods vs its logits", rows, expected_rows, BATCH, loss_length);

  /* The encoder's hidden states (sp_model_hidden_states of an encoder-decoder model). */
  const size_t hidden_count = (size_t)BATCH * SEQ_LEN * (size_t)v->info.hidden_size;
  float* hidden = malloc(hidden_count * sizeof(float));
  float* expected_hidden = read_floats(v->reference_folder, "base_encoder_hidden.f32", hidden_count);
  sp_batch encoder_only = batch;
  encoder_only.labels = NULL;
  encoder_only.num_labels = 0;
  encoder_only.decoder_seq_len = 0;
  SP_CHECK(sp_model_hidden_states(v->model, &encoder_only, hidden, hidden_count));
  ASSERT_CONFORMS("base encoder hidden states vs transformers", hidden, expected_hidden, hidden_count,
                  stack_length(v, v->info.num_layers, 0, 0.0));

  char path[1024];
  if (path_exists(test_path(path, sizeof path, v->reference_folder, "base_generated.i32"))) {
    generation_matches(v, NULL, 1, v->reference_folder, "base_generated", tie_margin(expected, count, length));
  } else if (v->info.num_decoder_layers != v->info.num_layers) {
    printf(
        "    no generation reference: transformers' generate fails on num_decoder_layers != num_layers "
        "(t5_reference.py); greedy tokens checked against the forward instead\n");
    generation_follows_forward(v, expected, tie_margin(expected, count, length));
  } else {
    fail_msg("%s is missing (t5_reference.py omits it only where num_decoder_layers != num_layers)", path);
  }
  free(decoder_input_ids);
  free(again);
  free(hidden);
  free(expected_hidden);
  free(expected_loss);
  free(last);
  free(logits);
  free(expected);
}

/* ---------------------------------------------------------------------------------------------
 * 2. Every method case against PEFT; loading and saving
 * ------------------------------------------------------------------------------------------- */

static void case_matches_peft(void** state) {
  const case_state* s = (const case_state*)*state;
  const variant* v = s->v;
  const method_case* c = s->method;
  char folder[768], path[1024];
  snprintf(folder, sizeof folder, "%s/%s", v->reference_folder, c->name);
  printf("  [%s / %s]\n", v->name, c->name);
  if (!path_exists(test_path(path, sizeof path, folder, "params.txt"))) fail_msg("reference %s is missing", path);
  if (path_exists(test_path(path, sizeof path, folder, "DIRECT_CALL")))
    printf("    generation reference: PEFT's rules with the cache passed under the name PEFT reads (DIRECT_CALL)\n");

  sp_adapter_params params = method_case_params(c, NUM_VIRTUAL_TOKENS, SEED, SP_TASK_SEQ_2_SEQ_LM);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  assert_int_equal(info.task_type, SP_TASK_SEQ_2_SEQ_LM);
  parameters_are_peft_s(adapter, folder);
  initial_tensors_are_peft_s(adapter, folder);

  const double length = forward_length(v, NUM_VIRTUAL_TOKENS, prompt_encoder_length(c, &v->info));
  const size_t vocab = (size_t)v->info.vocab_size, count = (size_t)BATCH * TARGET_LEN * vocab;
  const sp_batch batch = seq2seq_batch(v, c->num_tasks);
  float* logits = malloc(count * sizeof(float));
  float* expected = read_floats(folder, "logits.f32", count);
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, logits, count));
  ASSERT_CONFORMS("decoder logits vs PEFT", logits, expected, count, length);

  const double loss_length = conformance_loss_length(length, &v->info, BATCH * TARGET_LEN);
  float loss = 0, rows[BATCH], expected_rows[BATCH];
  float* expected_loss = read_floats(folder, "loss.f32", 1);
  SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &loss, rows));
  ASSERT_CONFORMS("loss vs PEFT", &loss, expected_loss, 1, loss_length);
  reference_row_log_likelihoods(v, expected, expected_rows);
  ASSERT_CONFORMS("row log-likelihoods vs PEFT's logits", rows, expected_rows, BATCH, loss_length);

  /* PEFT's saved folder: PEFT's logits and PEFT's generation. */
  sp_adapter* loaded = NULL;
  SP_CHECK(sp_adapter_load(&loaded, v->model, test_path(path, sizeof path, folder, "peft")));
  sp_adapter_info loaded_info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(loaded, &loaded_info));
  assert_int_equal(loaded_info.task_type, SP_TASK_SEQ_2_SEQ_LM);
  float* loaded_expected = read_floats(folder, "peft_loaded_logits.f32", count);
  SP_CHECK(sp_adapter_logits(loaded, &batch, SP_LOGITS_ALL, logits, count));
  ASSERT_CONFORMS("PEFT-saved folder vs PEFT", logits, loaded_expected, count, length);
  generation_matches(v, loaded, c->num_tasks, folder, "generated", tie_margin(loaded_expected, count, length));
  sp_adapter_free(loaded);
  free(loaded_expected);

  /* One AdamW step: the gradient of every trainable tensor, then the values. */
  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = LEARNING_RATE;
  trainer_params.weight_decay = WEIGHT_DECAY;
  trainer_params.eps = ADAMW_EPS;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &trainer_params));
  sp_train_result result = sp_train_result_init();
  SP_CHECK(sp_trainer_step(trainer, &batch, &result));
  assert_int_equal(result.updated, 1);
  ASSERT_CONFORMS("training-step loss vs PEFT", &result.loss, expected_loss, 1, loss_length);
  /* A tensor is read at up to every position of every row (through attention). */
  const double gradient_length =
      conformance_gradient_length(length, &v->info, BATCH * (SEQ_LEN + TARGET_LEN + 2 * NUM_VIRTUAL_TOKENS));
  assert_step_matches_reference(adapter, trainer, folder, gradient_length, LEARNING_RATE, ADAMW_EPS);
  sp_trainer_free(trainer);

  /* Ours (after the step), saved as a folder and as one file: both load back bit-identical. */
  char scratch[768];
  snprintf(scratch, sizeof scratch, "%s/%s/%s", scratch_root, v->name, c->name);
  make_dirs(scratch);
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, logits, count));
  float* reloaded = malloc(count * sizeof(float));
  SP_CHECK(sp_adapter_save(adapter, test_path(path, sizeof path, scratch, "folder")));
  write_floats(scratch, "our_output.f32", logits, count);
  SP_CHECK(sp_adapter_load(&loaded, v->model, path));
  SP_CHECK(sp_adapter_logits(loaded, &batch, SP_LOGITS_ALL, reloaded, count));
  ASSERT_IDENTICAL("saved folder, loaded back", reloaded, logits, count);
  sp_adapter_free(loaded);
  SP_CHECK(sp_adapter_save_file(adapter, test_path(path, sizeof path, scratch, "adapter.sp")));
  SP_CHECK(sp_adapter_load_file(&loaded, v->model, path));
  SP_CHECK(sp_adapter_logits(loaded, &batch, SP_LOGITS_ALL, reloaded, count));
  ASSERT_IDENTICAL("saved file, loaded back", reloaded, logits, count);
  sp_adapter_free(loaded);

  free(reloaded);
  free(expected_loss);
  free(expected);
  free(logits);
  sp_adapter_free(adapter);
}

/* ---------------------------------------------------------------------------------------------
 * 3. Refusals: each gives its status and changes nothing
 * ------------------------------------------------------------------------------------------- */

static void requests_out_of_reach_are_refused(void** state) {
  variant* v = ((const case_state*)*state)->v;
  const size_t vocab = (size_t)v->info.vocab_size, count = (size_t)BATCH * TARGET_LEN * vocab;
  const sp_batch batch = seq2seq_batch(v, 1);
  float* before = malloc(count * sizeof(float));
  float* after = malloc(count * sizeof(float));
  SP_CHECK(sp_model_logits(v->model, &batch, SP_LOGITS_ALL, before, count));

  /* Other tasks on an encoder-decoder model, and SEQ_2_SEQ_LM's own limits. */
  sp_adapter_params params = method_case_params(&cases[0], NUM_VIRTUAL_TOKENS, SEED, SP_TASK_SEQ_2_SEQ_LM);
  sp_adapter* adapter = NULL;
  const sp_task_type others[] = {SP_TASK_CAUSAL_LM, SP_TASK_SEQ_CLS, SP_TASK_TOKEN_CLS, SP_TASK_FEATURE_EXTRACTION};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; ++i) {
    params.task_type = others[i];
    SP_EXPECT_ERROR(sp_adapter_create(&adapter, v->model, &params), SP_ERR_UNSUPPORTED, "SEQ_2_SEQ_LM");
    assert_null(adapter);
  }
  params = method_case_params(&cases[0], NUM_VIRTUAL_TOKENS, SEED, SP_TASK_SEQ_2_SEQ_LM);
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  float hidden[16];
  SP_EXPECT_ERROR(sp_adapter_hidden_states(adapter, &batch, hidden, 16), SP_ERR_UNSUPPORTED, "SEQ_2_SEQ_LM");
  float scores[BATCH * 2];
  SP_EXPECT_ERROR(sp_adapter_classify(adapter, &batch, SP_CLASS_LOGITS, scores, BATCH * 2), SP_ERR_UNSUPPORTED,
                  "SEQ_2_SEQ_LM");

  /* Batches: no decoder side, a decoder side of no length, wrong counts, ids out of the vocabulary. */
  float loss = 0;
  sp_batch no_decoder = batch;
  no_decoder.labels = NULL;
  no_decoder.num_labels = 0;
  SP_EXPECT_ERROR(sp_adapter_logits(adapter, &no_decoder, SP_LOGITS_ALL, after, count), SP_ERR_INVALID_ARGUMENT,
                  "decoder");
  SP_EXPECT_ERROR(sp_adapter_eval_loss(adapter, &no_decoder, &loss, NULL), SP_ERR_INVALID_ARGUMENT, "labels");
  sp_batch no_length = batch;
  no_length.decoder_seq_len = 0;
  SP_EXPECT_ERROR(sp_model_logits(v->model, &no_length, SP_LOGITS_ALL, after, count), SP_ERR_INVALID_ARGUMENT,
                  "decoder_seq_len");
  sp_batch wrong_count = batch;
  wrong_count.num_labels = BATCH * TARGET_LEN - 1;
  SP_EXPECT_ERROR(sp_model_logits(v->model, &wrong_count, SP_LOGITS_ALL, after, count), SP_ERR_SHAPE_MISMATCH,
                  "decoder_seq_len");
  int32_t bad_decoder_ids[BATCH * TARGET_LEN] = {0};
  bad_decoder_ids[7] = (int32_t)v->info.vocab_size;
  sp_batch bad_ids = batch;
  bad_ids.decoder_input_ids = bad_decoder_ids;
  bad_ids.num_decoder_input_ids = BATCH * TARGET_LEN;
  SP_EXPECT_ERROR(sp_model_logits(v->model, &bad_ids, SP_LOGITS_ALL, after, count), SP_ERR_OUT_OF_RANGE,
                  "decoder input id");
  SP_EXPECT_ERROR(sp_model_logits(v->model, &batch, SP_LOGITS_ALL, after, count - 1), SP_ERR_BUFFER_TOO_SMALL,
                  "logits");
  /* Scoring continuations is for decoder-only models. */
  sp_context* context = NULL;
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = BATCH;
  context_params.max_length = SEQ_LEN + GENERATED + 1;
  SP_CHECK(sp_context_create(&context, v->model, adapter, &context_params));
  row_prompts prompts;
  make_prompts(v, 1, &prompts);
  float scored[BATCH];
  SP_EXPECT_ERROR(sp_context_score(context, &prompts.prompts, &prompts.prompts, scored, BATCH), SP_ERR_UNSUPPORTED,
                  "decoder-only");
  sp_context_free(context);

  /* Nothing changed: the model's logits are the same. */
  SP_CHECK(sp_model_logits(v->model, &batch, SP_LOGITS_ALL, after, count));
  ASSERT_IDENTICAL("base logits after the refusals", after, before, count);
  sp_adapter_free(adapter);
  free(before);
  free(after);
}

/* ---------------------------------------------------------------------------------------------
 * The suite
 * ------------------------------------------------------------------------------------------- */

#define TESTS_PER_VARIANT (2 + NUM_CASES)
static case_state states[MAX_VARIANTS * TESTS_PER_VARIANT];
static struct CMUnitTest tests[MAX_VARIANTS * TESTS_PER_VARIANT];
static size_t num_tests;

static void add_test(CMUnitTestFunction function, variant* v, const method_case* method, const char* what) {
  case_state* state = &states[num_tests];
  state->v = v;
  state->method = method;
  snprintf(state->name, sizeof state->name, "%s: %s", v->name, what);
  tests[num_tests] = (struct CMUnitTest)cmocka_unit_test_prestate(function, state);
  tests[num_tests++].name = state->name;
}

/* Whether the reference has any of the variant's method cases. */
static int variant_has_cases(const char* name) {
  char folder[768], path[1024];
  for (size_t c = 0; c < NUM_CASES; ++c) {
    snprintf(folder, sizeof folder, "%s/%s/%s", reference_root, name, cases[c].name);
    if (path_exists(test_path(path, sizeof path, folder, "params.txt"))) return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc - 3 > MAX_VARIANTS) {
    fprintf(stderr, "usage: %s <reference-root> <scratch-folder> <variant>[:base]... (at most %d)\n", argv[0],
            MAX_VARIANTS);
    return 2;
  }
  reference_root = argv[1];
  scratch_root = argv[2];
  num_variants = argc - 3;
  char what[96];
  static char names[MAX_VARIANTS][64];
  for (int i = 0; i < num_variants; ++i) {
    variant* v = &variants[i];
    /* "<name>:base" marks a base-only variant (t5_reference.py writes no adapter cases for it); every
     * other variant must have all of them. */
    snprintf(names[i], sizeof names[i], "%s", argv[3 + i]);
    char* marker = strchr(names[i], ':');
    const int base_only = marker && strcmp(marker, ":base") == 0;
    if (marker) *marker = '\0';
    v->name = names[i];
    if (base_only == variant_has_cases(v->name)) {
      fprintf(stderr, "%s: the reference %s adapter cases, but the command line says it %s\n", v->name,
              base_only ? "has" : "has no", base_only ? "is base-only" : "has them");
      return 1;
    }
    add_test(base_model_matches_transformers, v, NULL, "base model matches transformers");
    if (base_only) {
      printf("%s: base-only variant (t5_reference.py writes no adapter cases for it): no case tests\n", v->name);
    } else {
      for (size_t c = 0; c < NUM_CASES; ++c) {
        snprintf(what, sizeof what, "%s matches PEFT", cases[c].name);
        add_test(case_matches_peft, v, &cases[c], what);
      }
    }
    add_test(requests_out_of_reach_are_refused, v, NULL, "requests out of reach are refused");
  }
  const int failed = _cmocka_run_group_tests("T5 and SEQ_2_SEQ_LM adapters against transformers and PEFT", tests,
                                             num_tests, setup_variants, teardown_variants);
  report_worst_conformance("seq2seq_conformance");
  return failed;
}
