/*
 * SEQ_CLS, TOKEN_CLS and FEATURE_EXTRACTION adapters of every method on encoders (BERT, RoBERTa) and
 * decoders (Llama, Qwen2, GPT-2) against transformers and PEFT, through the C API.
 *
 *   test_task_conformance <reference-root> <models-root> <scratch-folder> <variant>...
 *
 * The reference root is written by tests/reference/encoder_reference.py (encoders; its docstring
 * describes every file; the models are then <reference-root>/models) or by
 * tests/reference/decoder_task_reference.py (decoders, the same layout; the models are the suites'
 * tiny models). Each variant's model is <models-root>/<variant>; under <reference-root>/<variant>/ lie
 * the batch, the base model's hidden states and one folder per method case and task, <case>_<task>/.
 * A variant whose folder holds token_type_ids.i32 is an encoder: its batches carry those token types,
 * its batch is right padded. Without that file it is a decoder: no token types, LEFT padding (pads
 * first), and base_hidden.f32 holds zeros at the pads (a left pad query of the plain model attends
 * to nothing), so the base model is compared at the real positions only there.
 * For every variant:
 *   - the base model: hidden states, what sp_model_info reports (token types and no language-modelling
 *     head for an encoder, whose logits and causal-LM losses are refused; none and a head for a
 *     decoder, whose logits and loss work);
 *   - every case x task: the same starting tensors as PEFT for the same seed (exactly, on CPU
 *     float32; heads included), class scores or hidden states, probabilities, the loss and each
 *     row's log-likelihood, the gradient of every trainable tensor and every tensor after one AdamW
 *     step (FEATURE_EXTRACTION: no loss, so no training); PEFT's saved folder loads with PEFT's
 *     outputs and its task; our adapter saved as a folder and as one file loads back bit-identical.
 *     The folder is <scratch-folder>/<variant>/<case>_<task>/folder, beside it our_output.f32 (its
 *     class logits or hidden states on the batch, the shapes of logits.f32 / hidden.f32), which
 *     tests/reference/check_task_adapters_in_peft.py compares with PEFT's outputs from that folder;
 *   - refusals: each gives its status and leaves the objects as they were (token types: out of range
 *     for an encoder, refused altogether for a decoder; CAUSAL_LM adapters and generation: refused on
 *     an encoder, accepted on a decoder, where a FEATURE_EXTRACTION adapter cannot generate).
 * A case whose folder holds SKIPPED and no reference (PEFT itself failed there) is reported as skipped;
 * a SKIPPED beside a complete reference (params.txt) is a leftover of an older run and the reference is
 * compared. MPT has no feature-extraction reference (PEFT's forward there takes no task ids). A folder
 * holding DIRECT_CALL is compared like the others (its files are the spec's direct call where PEFT's
 * forward fails: prefix tuning x SEQ_CLS, TOKEN_CLS).
 * Every numerical comparison uses the tolerance rule of test_support.h, with the reduction lengths
 * stated from the model's sizes below.
 */
#include "peft_cases.h"

/* Shared with tests/reference/encoder_reference.py (decoder_task_reference.py imports them): change both together. */
#define SEED 11
#define NUM_VIRTUAL_TOKENS 4
#define BATCH 3
#define SEQ_LEN 7
#define NUM_LABELS 3
#define ENCODER_HIDDEN_SIZE 16
#define MPT_NUM_TASKS 3
#define MPT_NUM_RANKS 2
#define LEARNING_RATE 0.01
#define WEIGHT_DECAY 0.01
#define ADAMW_EPS 1e-3 /* see methods_reference.py: keeps the first AdamW update well conditioned */
static const int32_t MPT_TASK_IDS[BATCH] = {0, 1, 2};
static const int32_t SEQ_LABELS[BATCH] = {2, 0, 1};

static const char* reference_root;
static const char* models_root;
static const char* scratch_root;

typedef struct task_variant {
  const char* name;
  int encoder; /* the reference has token types (encoder_reference.py); 0: a decoder */
  char model_folder[512];
  char reference_folder[512];
  sp_model* model;
  sp_model_info info;
  int64_t intermediate_size;
  int32_t* input_ids;
  int32_t* attention_mask;
  int32_t* token_type_ids; /* NULL for a decoder */
  int32_t* seq_labels;
  int32_t* token_labels; /* (B, S), -100 at pads; no leading virtual positions */
  double worst_ratio;    /* the largest figure/bound ratio its tests reached */
  char worst_label[160];
} task_variant;

/* encoder_reference.py's cases(). */
static const method_case cases[] = {
    {"prompt", SP_METHOD_PROMPT_TUNING, 0, 0, 0, 1, 1},
    {"prefix", SP_METHOD_PREFIX_TUNING, 0, 0, 0, 1, 1},
    {"prefix_projection", SP_METHOD_PREFIX_TUNING, 1, ENCODER_HIDDEN_SIZE, 0, 1, 1},
    {"ptuning_mlp", SP_METHOD_P_TUNING, 0, ENCODER_HIDDEN_SIZE, 0, 1, 1},
    {"ptuning_lstm", SP_METHOD_P_TUNING, 0, ENCODER_HIDDEN_SIZE, 1, 1, 1},
    {"mpt", SP_METHOD_MULTITASK_PROMPT_TUNING, 0, 0, 0, MPT_NUM_TASKS, MPT_NUM_RANKS},
};
#define NUM_CASES (sizeof cases / sizeof cases[0])

typedef struct task_kind {
  const char* name;
  sp_task_type type;
} task_kind;

static const task_kind tasks[] = {
    {"seq_cls", SP_TASK_SEQ_CLS}, {"token_cls", SP_TASK_TOKEN_CLS}, {"feature", SP_TASK_FEATURE_EXTRACTION}};
#define NUM_TASKS (sizeof tasks / sizeof tasks[0])

#define MAX_VARIANTS 8
static task_variant variants[MAX_VARIANTS];
static int num_variants;

/* One cmocka test per variant x case x task, and three per variant (method and task NULL there). */
typedef struct case_state {
  task_variant* variant;
  const method_case* method;
  const task_kind* task;
  char name[160]; /* "<variant>: <what>" */
} case_state;

/* ---------------------------------------------------------------------------------------------
 * Reduction lengths (the n of the tolerance rule), from the model's sizes
 * ------------------------------------------------------------------------------------------- */

/* The case's prompt encoder, as in test_methods.c: prefix projection Linear(hidden, e) ->
 * Linear(e, ...); P-tuning's MLP or LSTM; MPT: the rank product of the task factors. */
static double prompt_encoder_length(const method_case* c, const sp_model_info* info) {
  const double h = (double)info->hidden_size, e = c->encoder_hidden_size;
  if (c->method == SP_METHOD_PREFIX_TUNING) return c->prefix_projection ? h + e : 0.0;
  if (c->method == SP_METHOD_P_TUNING) return conformance_ptuning_encoder_length(c->lstm, NUM_VIRTUAL_TOKENS, h, e);
  if (c->method == SP_METHOD_MULTITASK_PROMPT_TUNING) return (double)c->num_ranks;
  return 0.0;
}

/* The model's forward over `keys` attended positions (a decoder's query sees at most that many), from
 * its own sizes (intermediate_size from config.json). conformance_forward_length's last term
 * (2 * hidden, "final norm and output layer") stands here for the classifier's product over the
 * hidden size (the hidden states have one product less: the term is then an upper bound). An
 * encoder's SEQ_CLS head first maps the pooled state through one more hidden x hidden product (BERT's
 * pooler, RoBERTa's classifier.dense): + hidden; a decoder's (score) maps the last real token's state
 * directly. */
static double forward_length(const task_variant* v, int64_t keys, double encoder_length, sp_task_type task) {
  double length = conformance_forward_length(&v->info, v->intermediate_size, keys, encoder_length);
  if (v->encoder && task == SP_TASK_SEQ_CLS) length += (double)v->info.hidden_size;
  return length;
}

/* conformance_loss_length over the head's classes instead of a vocabulary: the log-sum-exp over
 * num_labels, then the mean over `targets`. */
static double class_loss_length(double forward, int64_t targets) { return forward + NUM_LABELS + (double)targets; }

/* conformance_gradient_length with the classes in place of the vocabulary: the backward pass
 * doubles the chain, the loss's log-sum-exp and the head's transposed product reduce over the
 * classes, then `uses` contributions and the tensor's own product (hidden). */
static double class_gradient_length(double forward, const sp_model_info* info, int64_t uses) {
  return 2.0 * forward + 2.0 * NUM_LABELS + (double)uses + (double)info->hidden_size;
}

/* ---------------------------------------------------------------------------------------------
 * Files and batches
 * ------------------------------------------------------------------------------------------- */

static int path_exists(const char* path) {
  struct stat info;
  return stat(path, &info) == 0;
}

static int read_ints(const char* folder, const char* name, int32_t** out, size_t expected) {
  char path[1024];
  size_t count = 0;
  if (!path_exists(test_path(path, sizeof path, folder, name))) {
    fprintf(stderr, "missing %s\n", path);
    return 0;
  }
  *out = read_raw(path, 4, &count);
  if (count != expected) {
    fprintf(stderr, "%s holds %zu values, expected %zu\n", path, count, expected);
    return 0;
  }
  return 1;
}

static int load_variant(task_variant* v) {
  char path[1024];
  snprintf(v->model_folder, sizeof v->model_folder, "%s/%s", models_root, v->name);
  snprintf(v->reference_folder, sizeof v->reference_folder, "%s/%s", reference_root, v->name);
  v->encoder = path_exists(test_path(path, sizeof path, v->reference_folder, "token_type_ids.i32"));
  sp_model_params params = test_model_params();
  if (sp_model_create(&v->model, v->model_folder, &params) != SP_OK) {
    fprintf(stderr, "cannot load %s: %s\n", v->model_folder, sp_last_error());
    return 0;
  }
  v->info = sp_model_info_init();
  if (sp_model_get_info(v->model, &v->info) != SP_OK) return 0;
  v->intermediate_size = model_intermediate_size(v->model_folder, &v->info);
  const size_t tokens = BATCH * SEQ_LEN;
  return read_ints(v->reference_folder, "input_ids.i32", &v->input_ids, tokens) &&
         read_ints(v->reference_folder, "attention_mask.i32", &v->attention_mask, tokens) &&
         (!v->encoder || read_ints(v->reference_folder, "token_type_ids.i32", &v->token_type_ids, tokens)) &&
         read_ints(v->reference_folder, "seq_labels.i32", &v->seq_labels, BATCH) &&
         read_ints(v->reference_folder, "token_labels.i32", &v->token_labels, tokens);
}

static int setup_variants(void** state) {
  (void)state;
  for (int i = 0; i < num_variants; ++i)
    if (!load_variant(&variants[i])) return -1;
  return 0;
}

static int teardown_variants(void** state) {
  (void)state;
  for (int i = 0; i < num_variants; ++i) {
    task_variant* v = &variants[i];
    sp_model_free(v->model);
    free(v->input_ids);
    free(v->attention_mask);
    free(v->token_type_ids);
    free(v->seq_labels);
    free(v->token_labels);
  }
  return 0;
}

/* The reference batch, with its token types (encoders; none for decoders); the task's labels (SEQ_CLS: row_labels;
 * TOKEN_CLS: labels (B, S) without leading virtual positions) and MPT's task ids. */
static sp_batch task_batch(const task_variant* v, sp_task_type task, int num_tasks) {
  sp_batch batch = sp_batch_init();
  batch.batch_size = BATCH;
  batch.seq_len = SEQ_LEN;
  batch.input_ids = v->input_ids;
  batch.attention_mask = v->attention_mask;
  batch.num_input_ids = batch.num_attention_mask = BATCH * SEQ_LEN;
  if (v->token_type_ids) {
    batch.token_type_ids = v->token_type_ids;
    batch.num_token_type_ids = BATCH * SEQ_LEN;
  }
  if (task == SP_TASK_SEQ_CLS) {
    batch.row_labels = v->seq_labels;
    batch.num_row_labels = BATCH;
  } else if (task == SP_TASK_TOKEN_CLS) {
    batch.labels = v->token_labels;
    batch.num_labels = BATCH * SEQ_LEN;
  }
  if (num_tasks > 1) {
    batch.task_ids = MPT_TASK_IDS;
    batch.num_task_ids = BATCH;
  }
  return batch;
}

static sp_adapter_params case_params(const method_case* c, sp_task_type task) {
  sp_adapter_params params = method_case_params(c, NUM_VIRTUAL_TOKENS, SEED, task);
  params.num_labels = NUM_LABELS;
  return params;
}

/* Floats of the task's output: SEQ_CLS (B, C), TOKEN_CLS (B, S, C), FEATURE_EXTRACTION (B, S, hidden). */
static size_t output_count(const task_variant* v, sp_task_type task) {
  if (task == SP_TASK_SEQ_CLS) return (size_t)BATCH * NUM_LABELS;
  if (task == SP_TASK_TOKEN_CLS) return (size_t)BATCH * SEQ_LEN * NUM_LABELS;
  return (size_t)BATCH * SEQ_LEN * (size_t)v->info.hidden_size;
}

/* The task's output: class logits (classification) or hidden states (feature extraction). */
static sp_status task_output(const sp_adapter* adapter, sp_task_type task, const sp_batch* batch, float* out,
                             size_t count) {
  if (task == SP_TASK_FEATURE_EXTRACTION) return sp_adapter_hidden_states(adapter, batch, out, count);
  return sp_adapter_classify(adapter, batch, SP_CLASS_LOGITS, out, count);
}

/* Copies the per-position vectors (width floats) of the real (want_real 1) or padded (0) positions
 * of values (B, S, width) into out; returns the number of floats copied. */
static size_t select_positions(const task_variant* v, const float* values, size_t width, int want_real, float* out) {
  size_t copied = 0;
  for (int i = 0; i < BATCH * SEQ_LEN; ++i)
    if ((v->attention_mask[i] != 0) == (want_real != 0)) {
      memcpy(out + copied, values + (size_t)i * width, width * sizeof(float));
      copied += width;
    }
  return copied;
}

/* Per-position outputs (TOKEN_CLS logits, hidden states) compared at the real positions and, unless
 * `pads_not_compared` gives the reason why not, at the padded ones too (each with its own magnitude).
 * The header leaves a TOKEN_CLS score at a padded position without meaning, so there the pads are only
 * reported. */
#define PADS_WITHOUT_MEANING "no meaning there"
static void compare_positions(const task_variant* v, const char* label, const float* ours, const float* reference,
                              size_t width, double length, const char* pads_not_compared) {
  const size_t total = (size_t)BATCH * SEQ_LEN * width;
  float* ours_part = malloc(total * sizeof(float));
  float* reference_part = malloc(total * sizeof(float));
  char name[160];
  size_t count = select_positions(v, ours, width, 1, ours_part);
  select_positions(v, reference, width, 1, reference_part);
  snprintf(name, sizeof name, "%s (real positions)", label);
  ASSERT_CONFORMS(name, ours_part, reference_part, count, length);
  count = select_positions(v, ours, width, 0, ours_part);
  select_positions(v, reference, width, 0, reference_part);
  snprintf(name, sizeof name, "%s (padded positions)", label);
  if (!pads_not_compared) {
    ASSERT_CONFORMS(name, ours_part, reference_part, count, length);
  } else {
    printf("    %-48s max |diff| = %.3g (not compared: %s)\n", name, max_abs_diff(ours_part, reference_part, count),
           pads_not_compared);
  }
  free(ours_part);
  free(reference_part);
}

/* Ours against the reference file for the task's output. */
static void compare_task_output(const task_variant* v, sp_task_type task, const char* label, const float* ours,
                                const float* reference, double length) {
  if (task == SP_TASK_SEQ_CLS)
    ASSERT_CONFORMS(label, ours, reference, output_count(v, task), length);
  else if (task == SP_TASK_TOKEN_CLS)
    compare_positions(v, label, ours, reference, NUM_LABELS, length, PADS_WITHOUT_MEANING);
  else
    compare_positions(v, label, ours, reference, (size_t)v->info.hidden_size, length, NULL);
}

/* Each row's log-likelihood (sum of log p(label) over its targets) from PEFT's logits. */
static void reference_row_log_likelihoods(const task_variant* v, sp_task_type task, const float* logits, float* rows) {
  for (int r = 0; r < BATCH; ++r) {
    double sum = 0.0;
    if (task == SP_TASK_SEQ_CLS) {
      sum = log_probability_of(logits + r * NUM_LABELS, NUM_LABELS, v->seq_labels[r]);
    } else {
      for (int t = 0; t < SEQ_LEN; ++t) {
        const int32_t label = v->token_labels[r * SEQ_LEN + t];
        if (label != -100)
          sum += log_probability_of(logits + ((size_t)r * SEQ_LEN + t) * NUM_LABELS, NUM_LABELS, label);
      }
    }
    rows[r] = (float)sum;
  }
}

/* ---------------------------------------------------------------------------------------------
 * 1. The base model
 * ------------------------------------------------------------------------------------------- */

static void base_model_matches_transformers(void** state) {
  task_variant* v = ((const case_state*)*state)->variant;
  printf("  [%s / base model]\n", v->name);
  assert_string_equal(v->info.model_type, v->name);
  /* BERT and RoBERTa embed two token types and have no language-modelling head; decoders the reverse. */
  assert_int_equal(v->info.type_vocab_size, v->encoder ? 2 : 0);
  assert_int_equal(v->info.has_lm_head, v->encoder ? 0 : 1);

  sp_batch batch = task_batch(v, SP_TASK_FEATURE_EXTRACTION, 1);
  const size_t count = output_count(v, SP_TASK_FEATURE_EXTRACTION);
  float* ours = malloc(count * sizeof(float));
  float* expected = read_floats(v->reference_folder, "base_hidden.f32", count);
  SP_CHECK(sp_model_hidden_states(v->model, &batch, ours, count));
  const double length = forward_length(v, SEQ_LEN, 0.0, SP_TASK_FEATURE_EXTRACTION);
  /* A decoder's left pad query attends to nothing: transformers' paths disagree there, and the
   * reference writes zeros. */
  compare_positions(v, "base hidden states vs transformers", ours, expected, (size_t)v->info.hidden_size, length,
                    v->encoder ? NULL : "a left pad attends to nothing; the reference holds 0");

  const size_t logits_count = (size_t)BATCH * SEQ_LEN * (size_t)v->info.vocab_size;
  float* logits = malloc(logits_count * sizeof(float));
  float loss = 0;
  sp_batch plain = task_batch(v, SP_TASK_FEATURE_EXTRACTION, 1);
  if (v->encoder) {
    /* No language-modelling head: logits and causal-LM losses are refused. */
    SP_EXPECT_ERROR(sp_model_logits(v->model, &plain, SP_LOGITS_ALL, logits, logits_count), SP_ERR_UNSUPPORTED,
                    "encoder");
    SP_EXPECT_ERROR(sp_model_eval_loss(v->model, &plain, &loss, NULL), SP_ERR_UNSUPPORTED, "encoder");
  } else {
    /* A decoder's head answers: finite logits at every position, the last-token mode giving each row's
     * last real (here: last) position of those, and a causal-LM loss. */
    SP_CHECK(sp_model_logits(v->model, &plain, SP_LOGITS_ALL, logits, logits_count));
    for (size_t i = 0; i < logits_count; ++i)
      if (!isfinite(logits[i])) fail_msg("base logit %zu is %g", i, (double)logits[i]);
    const size_t vocab = (size_t)v->info.vocab_size;
    float* last = malloc((size_t)BATCH * vocab * sizeof(float));
    float* last_of_all = malloc((size_t)BATCH * vocab * sizeof(float));
    SP_CHECK(sp_model_logits(v->model, &plain, SP_LOGITS_LAST, last, (size_t)BATCH * vocab));
    for (int r = 0; r < BATCH; ++r) {
      assert_int_equal(v->attention_mask[r * SEQ_LEN + SEQ_LEN - 1], 1); /* left padded */
      memcpy(last_of_all + (size_t)r * vocab, logits + ((size_t)r * SEQ_LEN + SEQ_LEN - 1) * vocab,
             vocab * sizeof(float));
    }
    ASSERT_CONFORMS("base SP_LOGITS_LAST vs SP_LOGITS_ALL (last column)", last, last_of_all, (size_t)BATCH * vocab,
                    length);
    free(last);
    free(last_of_all);
    float rows[BATCH];
    SP_CHECK(sp_model_eval_loss(v->model, &plain, &loss, rows));
    if (!(isfinite(loss) && loss > 0.0f)) fail_msg("base causal-LM loss %g", (double)loss);
    for (int r = 0; r < BATCH; ++r)
      if (!(isfinite(rows[r]) && rows[r] < 0.0f)) fail_msg("row %d's log-likelihood %g", r, (double)rows[r]);
  }
  free(logits);
  free(ours);
  free(expected);
}

/* ---------------------------------------------------------------------------------------------
 * 2. and 3. Every case x task against PEFT; loading and saving
 * ------------------------------------------------------------------------------------------- */

static void run_case(const task_variant* v, const method_case* c, const task_kind* task, const char* folder) {
  char path[1024];
  const sp_task_type type = task->type;
  const int classifies = type != SP_TASK_FEATURE_EXTRACTION;

  sp_adapter_params params = case_params(c, type);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  assert_int_equal(info.task_type, type);
  assert_int_equal(info.num_labels, classifies ? NUM_LABELS : 0);
  assert_int_equal(info.hidden_size, v->info.hidden_size);
  parameters_are_peft_s(adapter, folder);

  /* The same starting point as PEFT: the head as transformers draws it, then the prompt. */
  initial_tensors_are_peft_s(adapter, folder);

  /* Every method adds NUM_VIRTUAL_TOKENS attended positions (inputs or key/value prefixes). */
  const int64_t keys = SEQ_LEN + NUM_VIRTUAL_TOKENS;
  const double forward = forward_length(v, keys, prompt_encoder_length(c, &v->info), type);
  const sp_batch batch = task_batch(v, type, c->num_tasks);
  const size_t count = output_count(v, type);
  float* ours = malloc(count * sizeof(float));
  float* expected = read_floats(folder, classifies ? "logits.f32" : "hidden.f32", count);
  SP_CHECK(task_output(adapter, type, &batch, ours, count));
  compare_task_output(v, type, classifies ? "class logits vs PEFT" : "hidden states vs PEFT", ours, expected, forward);

  if (!classifies) {
    float loss = 0;
    sp_trainer* trainer = NULL;
    sp_trainer_params trainer_params = sp_trainer_default_params();
    SP_EXPECT_ERROR(sp_adapter_eval_loss(adapter, &batch, &loss, NULL), SP_ERR_UNSUPPORTED, "FEATURE_EXTRACTION");
    SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, &trainer_params), SP_ERR_UNSUPPORTED, "FEATURE_EXTRACTION");
    assert_null(trainer);
    float scores[BATCH * NUM_LABELS];
    SP_EXPECT_ERROR(sp_adapter_classify(adapter, &batch, SP_CLASS_LOGITS, scores, BATCH * NUM_LABELS),
                    SP_ERR_UNSUPPORTED, "FEATURE_EXTRACTION");
  } else {
    /* Probabilities: the softmax of PEFT's logits, per row (SEQ_CLS) or position (TOKEN_CLS). */
    float* probabilities = malloc(count * sizeof(float));
    float* expected_probabilities = malloc(count * sizeof(float));
    for (size_t at = 0; at < count; at += NUM_LABELS)
      for (int k = 0; k < NUM_LABELS; ++k) {
        int32_t label = k;
        expected_probabilities[at + k] = (float)exp(log_probability_of(expected + at, NUM_LABELS, label));
      }
    SP_CHECK(sp_adapter_classify(adapter, &batch, SP_CLASS_PROBABILITIES, probabilities, count));
    const double softmax = forward + NUM_LABELS;
    if (type == SP_TASK_SEQ_CLS)
      ASSERT_CONFORMS("probabilities vs softmax of PEFT's logits", probabilities, expected_probabilities, count,
                      softmax);
    else
      compare_positions(v, "probabilities vs softmax of PEFT's logits", probabilities, expected_probabilities,
                        NUM_LABELS, softmax, PADS_WITHOUT_MEANING);
    free(probabilities);
    free(expected_probabilities);

    /* The loss, and each row's log-likelihood of its labels under PEFT's logits. */
    const int64_t targets = type == SP_TASK_SEQ_CLS ? BATCH : BATCH * SEQ_LEN;
    const double loss_length = class_loss_length(forward, targets);
    float loss = 0, rows[BATCH], expected_rows[BATCH];
    float* expected_loss = read_floats(folder, "loss.f32", 1);
    SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &loss, rows));
    ASSERT_CONFORMS("loss vs PEFT", &loss, expected_loss, 1, loss_length);
    reference_row_log_likelihoods(v, type, expected, expected_rows);
    ASSERT_CONFORMS("row log-likelihoods vs PEFT's logits", rows, expected_rows, BATCH,
                    class_loss_length(forward, type == SP_TASK_SEQ_CLS ? 1 : SEQ_LEN));

    /* One AdamW step: the gradient of every trainable tensor (the head's included), then the values. */
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
    free(expected_loss);
    /* A tensor is read at up to every position of every row (through attention). */
    const double gradient_length = class_gradient_length(forward, &v->info, BATCH * keys);
    assert_step_matches_reference(adapter, trainer, folder, gradient_length, LEARNING_RATE, ADAMW_EPS);
    sp_trainer_free(trainer);
  }
  free(expected);

  /* PEFT's saved folder: PEFT's outputs, its task, num_labels from the head's shape. */
  sp_adapter* loaded = NULL;
  SP_CHECK(sp_adapter_load(&loaded, v->model, test_path(path, sizeof path, folder, "peft")));
  sp_adapter_info loaded_info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(loaded, &loaded_info));
  assert_int_equal(loaded_info.task_type, type);
  assert_int_equal(loaded_info.num_labels, classifies ? NUM_LABELS : 0);
  expected = read_floats(folder, classifies ? "peft_loaded_logits.f32" : "peft_loaded_hidden.f32", count);
  SP_CHECK(task_output(loaded, type, &batch, ours, count));
  compare_task_output(v, type, "PEFT-saved folder vs PEFT", ours, expected, forward);
  free(expected);
  sp_adapter_free(loaded);

  /* Ours (after the step), saved as a folder and as one file: both load back bit-identical. Beside the
   * folder, its output on the batch, for tests/reference/check_task_adapters_in_peft.py to compare with
   * what PEFT computes from that folder. */
  char scratch[768];
  snprintf(scratch, sizeof scratch, "%s/%s/%s_%s", scratch_root, v->name, c->name, task->name);
  make_dirs(scratch);
  SP_CHECK(task_output(adapter, type, &batch, ours, count));
  float* reloaded = malloc(count * sizeof(float));
  SP_CHECK(sp_adapter_save(adapter, test_path(path, sizeof path, scratch, "folder")));
  write_floats(scratch, "our_output.f32", ours, count);
  SP_CHECK(sp_adapter_load(&loaded, v->model, path));
  loaded_info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(loaded, &loaded_info));
  assert_int_equal(loaded_info.task_type, type);
  assert_int_equal(loaded_info.num_labels, classifies ? NUM_LABELS : 0);
  SP_CHECK(task_output(loaded, type, &batch, reloaded, count));
  ASSERT_IDENTICAL("saved folder, loaded back", reloaded, ours, count);
  sp_adapter_free(loaded);
  SP_CHECK(sp_adapter_save_file(adapter, test_path(path, sizeof path, scratch, "adapter.sp")));
  SP_CHECK(sp_adapter_load_file(&loaded, v->model, path));
  loaded_info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(loaded, &loaded_info));
  assert_int_equal(loaded_info.task_type, type);
  assert_int_equal(loaded_info.num_labels, classifies ? NUM_LABELS : 0);
  SP_CHECK(task_output(loaded, type, &batch, reloaded, count));
  ASSERT_IDENTICAL("saved file, loaded back", reloaded, ours, count);
  sp_adapter_free(loaded);

  free(reloaded);
  free(ours);
  sp_adapter_free(adapter);
}

static void case_matches_peft(void** state) {
  const case_state* s = (const case_state*)*state;
  char folder[768], path[1024];
  snprintf(folder, sizeof folder, "%s/%s_%s", s->variant->reference_folder, s->method->name, s->task->name);
  printf("  [%s / %s_%s]\n", s->variant->name, s->method->name, s->task->name);
  if (!path_exists(folder)) {
    /* PEFT's feature-extraction forward takes no task ids: the reference has no MPT case there. */
    if (s->method->num_tasks > 1 && s->task->type == SP_TASK_FEATURE_EXTRACTION) {
      printf("    skipped: no reference (PEFT's feature-extraction forward cannot pass task ids)\n");
      skip();
    }
    fail_msg("reference folder %s is missing", folder);
  }
  /* A SKIPPED beside a complete reference (params.txt) is a leftover of an older run of the script, which
   * does not empty the folders it writes: the reference wins. */
  char skipped[1024];
  const int generated = path_exists(test_path(path, sizeof path, folder, "params.txt"));
  if (path_exists(test_path(skipped, sizeof skipped, folder, "SKIPPED"))) {
    if (generated) {
      printf("    note: %s is stale (the folder holds a reference written later); compared\n", skipped);
    } else {
      size_t size = 0;
      char* reason = read_raw(skipped, 1, &size);
      printf("    skipped: the reference could not be made: %.*s", (int)size, reason);
      free(reason);
      skip();
    }
  }
  if (path_exists(test_path(path, sizeof path, folder, "DIRECT_CALL")))
    printf("    reference: the direct call of the spec's 4.3 (PEFT's own forward fails here; see DIRECT_CALL)\n");
  run_case(s->variant, s->method, s->task, folder);
}

/* ---------------------------------------------------------------------------------------------
 * 4. Refusals: each gives its status and changes nothing
 * ------------------------------------------------------------------------------------------- */

static sp_adapter* prompt_adapter(const task_variant* v, sp_task_type task) {
  sp_adapter_params params = case_params(&cases[0], task);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  return adapter;
}

/* Every trainable tensor's values, concatenated (the caller frees them). */
static float* all_parameters(const sp_adapter* adapter, size_t* total) {
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  float* values = malloc((size_t)info.num_trainable_parameters * sizeof(float));
  *total = 0;
  for (int i = 0; i < info.num_parameter_tensors; ++i) {
    const char* name = NULL;
    size_t count = 0;
    SP_CHECK(sp_adapter_parameter_name(adapter, i, &name));
    SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
    SP_CHECK(sp_adapter_get_parameter(adapter, name, values + *total, count));
    *total += count;
  }
  return values;
}

/* The adapter still answers, with exactly its earlier outputs and tensors. */
static void assert_unchanged(const sp_adapter* adapter, sp_task_type task, const sp_batch* batch, const float* output,
                             size_t count, const float* parameters, size_t parameter_count, const char* after) {
  float* now = malloc(count * sizeof(float));
  SP_CHECK(task_output(adapter, task, batch, now, count));
  if (memcmp(now, output, count * sizeof(float)) != 0) fail_msg("the output changed after %s", after);
  size_t total = 0;
  float* values = all_parameters(adapter, &total);
  assert_int_equal(total, parameter_count);
  if (memcmp(values, parameters, total * sizeof(float)) != 0) fail_msg("the tensors changed after %s", after);
  free(values);
  free(now);
}

/* `batch` with `types` as its token types. */
static sp_batch with_token_types(sp_batch batch, const int32_t* types) {
  batch.token_type_ids = types;
  batch.num_token_type_ids = BATCH * SEQ_LEN;
  return batch;
}

static void batch_errors_are_refused_and_change_nothing(void** state) {
  task_variant* v = ((const case_state*)*state)->variant;
  printf("  [%s / refused batches]\n", v->name);
  float loss = 0;
  int32_t bad[BATCH * SEQ_LEN];

  /* Token types the model cannot take, for the base model and an adapter: an encoder's type outside
   * [0, type_vocab_size); on a decoder, which has none, any (all 0, valid on an encoder). */
  sp_status bad_types_status = SP_ERR_INVALID_ARGUMENT;
  const char* bad_types_message = "no token types";
  memset(bad, 0, sizeof bad);
  if (v->encoder) {
    memcpy(bad, v->token_type_ids, sizeof bad);
    bad[4] = 2;
    bad_types_status = SP_ERR_OUT_OF_RANGE;
    bad_types_message = "token type 2";
  }
  const size_t hidden_count = output_count(v, SP_TASK_FEATURE_EXTRACTION);
  float* hidden = malloc(hidden_count * sizeof(float));
  float* hidden_again = malloc(hidden_count * sizeof(float));
  sp_batch plain = task_batch(v, SP_TASK_FEATURE_EXTRACTION, 1);
  SP_CHECK(sp_model_hidden_states(v->model, &plain, hidden, hidden_count));
  const sp_batch bad_types = with_token_types(plain, bad);
  SP_EXPECT_ERROR(sp_model_hidden_states(v->model, &bad_types, hidden_again, hidden_count), bad_types_status,
                  bad_types_message);
  SP_CHECK(sp_model_hidden_states(v->model, &plain, hidden_again, hidden_count));
  assert_memory_equal(hidden, hidden_again, hidden_count * sizeof(float));
  free(hidden);
  free(hidden_again);

  /* SEQ_CLS: a row label outside [0, num_labels), row labels missing, too small a buffer, logits. */
  sp_adapter* seq = prompt_adapter(v, SP_TASK_SEQ_CLS);
  sp_trainer_params trainer_params = sp_trainer_default_params();
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, seq, &trainer_params));
  sp_batch batch = task_batch(v, SP_TASK_SEQ_CLS, 1);
  const size_t seq_count = output_count(v, SP_TASK_SEQ_CLS);
  float* scores = malloc(seq_count * sizeof(float));
  SP_CHECK(sp_adapter_classify(seq, &batch, SP_CLASS_LOGITS, scores, seq_count));
  size_t parameter_count = 0;
  float* parameters = all_parameters(seq, &parameter_count);

  const sp_batch bad_types_seq = with_token_types(batch, bad);
  SP_EXPECT_ERROR(sp_adapter_classify(seq, &bad_types_seq, SP_CLASS_LOGITS, scores, seq_count), bad_types_status,
                  bad_types_message);
  assert_unchanged(seq, SP_TASK_SEQ_CLS, &batch, scores, seq_count, parameters, parameter_count, "a bad token type");

  int32_t bad_rows[BATCH] = {SEQ_LABELS[0], NUM_LABELS, SEQ_LABELS[2]};
  sp_batch bad_row_labels = batch;
  bad_row_labels.row_labels = bad_rows;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(seq, &bad_row_labels, &loss, NULL), SP_ERR_OUT_OF_RANGE, "row label 3");
  SP_EXPECT_ERROR(sp_trainer_step(trainer, &bad_row_labels, NULL), SP_ERR_OUT_OF_RANGE, "row label 3");
  assert_unchanged(seq, SP_TASK_SEQ_CLS, &batch, scores, seq_count, parameters, parameter_count, "a bad row label");

  sp_batch no_row_labels = batch;
  no_row_labels.row_labels = NULL;
  no_row_labels.num_row_labels = 0;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(seq, &no_row_labels, &loss, NULL), SP_ERR_INVALID_ARGUMENT, "row_labels");
  SP_EXPECT_ERROR(sp_trainer_step(trainer, &no_row_labels, NULL), SP_ERR_INVALID_ARGUMENT, "row_labels");
  assert_unchanged(seq, SP_TASK_SEQ_CLS, &batch, scores, seq_count, parameters, parameter_count, "missing row labels");

  float* small = malloc(seq_count * sizeof(float));
  SP_EXPECT_ERROR(sp_adapter_classify(seq, &batch, SP_CLASS_LOGITS, small, seq_count - 1), SP_ERR_BUFFER_TOO_SMALL,
                  "need");
  SP_EXPECT_ERROR(sp_adapter_classify(seq, &batch, SP_CLASS_PROBABILITIES, small, seq_count - 1),
                  SP_ERR_BUFFER_TOO_SMALL, "need");
  free(small);
  const size_t logits_count = (size_t)BATCH * SEQ_LEN * (size_t)v->info.vocab_size;
  float* logits = malloc(logits_count * sizeof(float));
  /* The message points to what applies instead (classification; an encoder's also hidden states). */
  SP_EXPECT_ERROR(sp_adapter_logits(seq, &batch, SP_LOGITS_ALL, logits, logits_count), SP_ERR_UNSUPPORTED, "classif");
  free(logits);
  assert_unchanged(seq, SP_TASK_SEQ_CLS, &batch, scores, seq_count, parameters, parameter_count,
                   "refused output calls");

  /* After the refusals the trainer takes its first update. */
  sp_train_result result = sp_train_result_init();
  SP_CHECK(sp_trainer_step(trainer, &batch, &result));
  assert_int_equal(result.updated, 1);
  assert_int_equal(result.updates_done, 1);
  sp_trainer_free(trainer);
  free(parameters);
  free(scores);
  sp_adapter_free(seq);

  /* TOKEN_CLS: a label outside [0, num_labels), and too small a buffer (one position short). */
  sp_adapter* token = prompt_adapter(v, SP_TASK_TOKEN_CLS);
  SP_CHECK(sp_trainer_create(&trainer, token, &trainer_params));
  batch = task_batch(v, SP_TASK_TOKEN_CLS, 1);
  const size_t token_count = output_count(v, SP_TASK_TOKEN_CLS);
  scores = malloc(token_count * sizeof(float));
  SP_CHECK(sp_adapter_classify(token, &batch, SP_CLASS_LOGITS, scores, token_count));
  parameters = all_parameters(token, &parameter_count);
  memcpy(bad, v->token_labels, sizeof bad);
  bad[1] = NUM_LABELS;
  sp_batch bad_labels = batch;
  bad_labels.labels = bad;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(token, &bad_labels, &loss, NULL), SP_ERR_OUT_OF_RANGE, "label 3");
  SP_EXPECT_ERROR(sp_trainer_step(trainer, &bad_labels, NULL), SP_ERR_OUT_OF_RANGE, "label 3");
  small = malloc(token_count * sizeof(float));
  SP_EXPECT_ERROR(sp_adapter_classify(token, &batch, SP_CLASS_LOGITS, small, token_count - NUM_LABELS),
                  SP_ERR_BUFFER_TOO_SMALL, "need");
  free(small);
  assert_unchanged(token, SP_TASK_TOKEN_CLS, &batch, scores, token_count, parameters, parameter_count,
                   "a bad token label");
  result = sp_train_result_init();
  SP_CHECK(sp_trainer_step(trainer, &batch, &result));
  assert_int_equal(result.updates_done, 1);
  sp_trainer_free(trainer);
  free(parameters);
  free(scores);
  sp_adapter_free(token);
}

static void task_requests_out_of_reach_are_refused(void** state) {
  task_variant* v = ((const case_state*)*state)->variant;
  printf("  [%s / refused tasks]\n", v->name);
  sp_adapter* adapter = NULL;

  /* CAUSAL_LM needs a language-modelling head: refused on an encoder, a decoder's own task. */
  sp_adapter_params params = case_params(&cases[0], SP_TASK_CAUSAL_LM);
  sp_adapter_info info = sp_adapter_info_init();
  if (v->encoder) {
    SP_EXPECT_ERROR(sp_adapter_create(&adapter, v->model, &params), SP_ERR_UNSUPPORTED, "CAUSAL_LM");
    assert_null(adapter);
  } else {
    SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
    SP_CHECK(sp_adapter_get_info(adapter, &info));
    assert_int_equal(info.task_type, SP_TASK_CAUSAL_LM);
    sp_adapter_free(adapter);
    adapter = NULL;
  }
  params = case_params(&cases[0], SP_TASK_SEQ_CLS);
  params.task_type = (sp_task_type)99;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, v->model, &params), SP_ERR_INVALID_ARGUMENT, "task_type");
  assert_null(adapter);
  const int32_t out_of_range[] = {1, 0, -1, (1 << 20) + 1};
  for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; ++i)
    for (sp_task_type task = SP_TASK_SEQ_CLS; task <= SP_TASK_TOKEN_CLS; ++task) {
      params = case_params(&cases[0], task);
      params.num_labels = out_of_range[i];
      SP_EXPECT_ERROR(sp_adapter_create(&adapter, v->model, &params), SP_ERR_INVALID_ARGUMENT, "num_labels");
      assert_null(adapter);
    }
  /* The smallest head is accepted; FEATURE_EXTRACTION ignores num_labels. */
  params = case_params(&cases[0], SP_TASK_SEQ_CLS);
  params.num_labels = 2;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  assert_int_equal(info.num_labels, 2);
  sp_adapter_free(adapter);
  params = case_params(&cases[0], SP_TASK_FEATURE_EXTRACTION);
  params.num_labels = 1;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));

  /* No generation context on an encoder, with or without an adapter; on a decoder one without an adapter,
   * but none with a FEATURE_EXTRACTION adapter. */
  sp_context* context = NULL;
  sp_context_params context_params = sp_context_default_params();
  if (v->encoder) {
    SP_EXPECT_ERROR(sp_context_create(&context, v->model, NULL, &context_params), SP_ERR_UNSUPPORTED, "encoder");
    assert_null(context);
    SP_EXPECT_ERROR(sp_context_create(&context, v->model, adapter, &context_params), SP_ERR_UNSUPPORTED, "encoder");
  } else {
    context_params.max_batch_size = 1;
    context_params.max_length = SEQ_LEN;
    SP_CHECK(sp_context_create(&context, v->model, NULL, &context_params));
    sp_context_free(context);
    context = NULL;
    SP_EXPECT_ERROR(sp_context_create(&context, v->model, adapter, &context_params), SP_ERR_UNSUPPORTED, "CAUSAL_LM");
  }
  assert_null(context);

  /* The model and the adapter still work. */
  const size_t count = output_count(v, SP_TASK_FEATURE_EXTRACTION);
  float* hidden = malloc(count * sizeof(float));
  sp_batch batch = task_batch(v, SP_TASK_FEATURE_EXTRACTION, 1);
  SP_CHECK(sp_adapter_hidden_states(adapter, &batch, hidden, count));
  SP_CHECK(sp_model_hidden_states(v->model, &batch, hidden, count));
  free(hidden);
  sp_adapter_free(adapter);
}

/* Around every test: the suite-wide worst ratio (test_support.h) restarts at 0, and afterwards the
 * test's worst is folded into its variant's and the suite's. */
static double suite_worst_ratio;
static char suite_worst_label[sizeof conformance_worst_label];

static int start_test(void** state) {
  (void)state;
  suite_worst_ratio = conformance_worst_ratio_seen;
  memcpy(suite_worst_label, conformance_worst_label, sizeof suite_worst_label);
  conformance_worst_ratio_seen = 0.0;
  return 0;
}

static int finish_test(void** state) {
  task_variant* v = ((const case_state*)*state)->variant;
  if (conformance_worst_ratio_seen > v->worst_ratio) {
    v->worst_ratio = conformance_worst_ratio_seen;
    memcpy(v->worst_label, conformance_worst_label, sizeof v->worst_label);
  }
  if (suite_worst_ratio > conformance_worst_ratio_seen) {
    conformance_worst_ratio_seen = suite_worst_ratio;
    memcpy(conformance_worst_label, suite_worst_label, sizeof suite_worst_label);
  }
  return 0;
}

#define TESTS_PER_VARIANT (3 + NUM_CASES * NUM_TASKS)
static case_state states[MAX_VARIANTS * TESTS_PER_VARIANT];
static struct CMUnitTest tests[MAX_VARIANTS * TESTS_PER_VARIANT];
static size_t num_tests;

/* Appends the test `function` on `v` (and the case x task, or NULLs), named "<variant>: <what>". */
static void add_test(CMUnitTestFunction function, task_variant* v, const method_case* method, const task_kind* task,
                     const char* what) {
  case_state* state = &states[num_tests];
  state->variant = v;
  state->method = method;
  state->task = task;
  snprintf(state->name, sizeof state->name, "%s: %s", v->name, what);
  tests[num_tests] =
      (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(function, start_test, finish_test, state);
  tests[num_tests++].name = state->name;
}

int main(int argc, char** argv) {
  if (argc < 5 || argc - 4 > MAX_VARIANTS) {
    fprintf(stderr, "usage: %s <reference-root> <models-root> <scratch-folder> <variant>... (at most %d)\n", argv[0],
            MAX_VARIANTS);
    return 2;
  }
  reference_root = argv[1];
  models_root = argv[2];
  scratch_root = argv[3];
  num_variants = argc - 4;
  char group[320], what[96];
  size_t length = (size_t)snprintf(group, sizeof group, "task adapters on");
  for (int i = 0; i < num_variants; ++i) {
    task_variant* v = &variants[i];
    v->name = argv[4 + i];
    if (length < sizeof group) length += (size_t)snprintf(group + length, sizeof group - length, " %s", v->name);
    add_test(base_model_matches_transformers, v, NULL, NULL, "base model matches transformers");
    for (size_t c = 0; c < NUM_CASES; ++c)
      for (size_t t = 0; t < NUM_TASKS; ++t) {
        snprintf(what, sizeof what, "%s_%s matches PEFT", cases[c].name, tasks[t].name);
        add_test(case_matches_peft, v, &cases[c], &tasks[t], what);
      }
    add_test(batch_errors_are_refused_and_change_nothing, v, NULL, NULL, "refused batches change nothing");
    add_test(task_requests_out_of_reach_are_refused, v, NULL, NULL, "tasks out of reach are refused");
  }
  if (length < sizeof group) snprintf(group + length, sizeof group - length, " against transformers and PEFT");
  const int failed = _cmocka_run_group_tests(group, tests, num_tests, setup_variants, teardown_variants);
  for (int i = 0; i < num_variants; ++i)
    printf("%s: worst figure/bound = %.3g (%s)\n", variants[i].name, variants[i].worst_ratio, variants[i].worst_label);
  report_worst_conformance("task_conformance");
  return failed;
}
