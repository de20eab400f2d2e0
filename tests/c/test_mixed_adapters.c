/* Serving many adapters through the C API (issue 14): mixed-adapter batches (every pair of methods,
 * and all of them at once) give each row what it gets alone, in logits, evaluation, hidden states,
 * scoring and generation; compiled prompts give exactly the logits of prompts recomputed in every
 * call; a trainer step makes a new adapter version that new calls compile while calls already
 * running keep theirs; freeing an adapter under a running call changes nothing for it; bad
 * per-row adapters are statuses. */
#include <pthread.h>

#include "test_support.h"

static const char* model_folder; /* the tiny llama with tokenizer.json */
static const char* models_root;  /* the tiny models */

/* The kinds of row: each method (P-tuning with both encoders), then no soft prompt at all. Every
 * method has its own virtual-token count, so that the rows' prefixes differ in length too. */
enum { PROMPT, PREFIX, PTUNING_MLP, PTUNING_LSTM, MULTITASK, NONE, KINDS };
static const char* const kind_names[KINDS] = {"prompt tuning",   "prefix tuning",           "P-tuning (MLP)",
                                              "P-tuning (LSTM)", "multitask prompt tuning", "no adapter"};
static const int32_t kind_tokens[KINDS] = {3, 5, 4, 2, 6, 0};
enum { TASKS = 3 };

static sp_model* load(const char* folder) {
  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&model, folder, &params));
  return model;
}

static sp_adapter* make_adapter(sp_model* model, int kind, uint64_t seed) {
  if (kind == NONE) return NULL;
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = kind_tokens[kind];
  params.seed = seed;
  switch (kind) {
    case PREFIX:
      params.method = SP_METHOD_PREFIX_TUNING;
      break;
    case PTUNING_MLP:
    case PTUNING_LSTM:
      params.method = SP_METHOD_P_TUNING;
      params.encoder_type = kind == PTUNING_LSTM ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
      params.encoder_hidden_size = 16;
      break;
    case MULTITASK:
      params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
      params.num_tasks = TASKS;
      params.num_ranks = 2;
      break;
    default:
      params.method = SP_METHOD_PROMPT_TUNING;
  }
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  /* Random tables are small (std 1 per element is PEFT's init): scale nothing, but train the
   * multitask factors a step so that tasks differ (they start equal in PEFT: ones). */
  if (kind == MULTITASK) {
    sp_trainer_params trainer_params = sp_trainer_default_params();
    trainer_params.learning_rate = 0.5f;
    sp_trainer* trainer = NULL;
    SP_CHECK(sp_trainer_create(&trainer, adapter, &trainer_params));
    const int32_t ids[TASKS * 4] = {5, 9, 14, 3, 7, 7, 21, 40, 11, 2, 33, 8};
    const int32_t tasks[TASKS] = {0, 1, 2};
    sp_batch batch = sp_batch_init();
    batch.batch_size = TASKS;
    batch.seq_len = 4;
    batch.input_ids = ids;
    batch.num_input_ids = TASKS * 4;
    batch.task_ids = tasks;
    batch.num_task_ids = TASKS;
    sp_train_result result = sp_train_result_init();
    SP_CHECK(sp_trainer_step(trainer, &batch, &result));
    sp_trainer_free(trainer);
  }
  return adapter;
}

/* A model with one adapter of every kind. */
typedef struct {
  sp_model* model;
  sp_model_info info;
  int64_t intermediate_size;
  sp_adapter* adapters[KINDS];
} fixture;

static void open_fixture(fixture* f, const char* folder) {
  f->model = load(folder);
  f->info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(f->model, &f->info));
  f->intermediate_size = model_intermediate_size(folder, &f->info);
  for (int kind = 0; kind < KINDS; ++kind) f->adapters[kind] = make_adapter(f->model, kind, 100 + (uint64_t)kind);
}

static void close_fixture(fixture* f) {
  for (int kind = 0; kind < KINDS; ++kind) sp_adapter_free(f->adapters[kind]);
  sp_model_free(f->model);
}

/* The bound for values reached through one forward pass over `keys` attended positions. */
static double forward_bound(const fixture* f, const float* reference, size_t count, int64_t keys) {
  return conformance_bound(reference, count, conformance_forward_length(&f->info, f->intermediate_size, keys, 0.0));
}

enum { MAX_ROWS = 8, SEQ = 9, MAX_VIRTUAL = 6 };

/* Row r of a batch: its kind, task, tokens and padding. */
typedef struct {
  int kind;
  int32_t task;
  int32_t length;  /* real tokens */
  int left_padded; /* padding before the tokens (else after) */
} row_spec;

typedef struct {
  int32_t ids[MAX_ROWS * SEQ], mask[MAX_ROWS * SEQ], tasks[MAX_ROWS];
  const sp_adapter* adapters[MAX_ROWS];
  sp_batch batch;
} mixed_batch;

static void build_batch(mixed_batch* m, const fixture* f, const row_spec* rows, int count) {
  memset(m, 0, sizeof *m);
  for (int r = 0; r < count; ++r) {
    const int32_t start = rows[r].left_padded ? SEQ - rows[r].length : 0;
    for (int32_t j = 0; j < SEQ; ++j) {
      const int real = j >= start && j < start + rows[r].length;
      m->ids[r * SEQ + j] = real ? (int32_t)((7 * r + 13 * j + 3) % f->info.vocab_size) : 0;
      m->mask[r * SEQ + j] = real;
    }
    m->tasks[r] = rows[r].task;
    m->adapters[r] = f->adapters[rows[r].kind];
  }
  m->batch = sp_batch_init();
  m->batch.batch_size = count;
  m->batch.seq_len = SEQ;
  m->batch.input_ids = m->ids;
  m->batch.num_input_ids = (size_t)count * SEQ;
  m->batch.attention_mask = m->mask;
  m->batch.num_attention_mask = (size_t)count * SEQ;
  m->batch.task_ids = m->tasks;
  m->batch.num_task_ids = (size_t)count;
  m->batch.row_adapters = m->adapters;
  m->batch.num_row_adapters = (size_t)count;
}

/* Row r of `m` as a batch of its own, for its adapter's own calls (same padding, same task). */
static sp_batch row_alone(const mixed_batch* m, int r) {
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = SEQ;
  batch.input_ids = m->ids + r * SEQ;
  batch.num_input_ids = SEQ;
  batch.attention_mask = m->mask + r * SEQ;
  batch.num_attention_mask = SEQ;
  batch.task_ids = m->tasks + r;
  batch.num_task_ids = 1;
  return batch;
}

static sp_status logits_alone(const fixture* f, const mixed_batch* m, int r, int kind, sp_logits_mode mode, float* out,
                              size_t count) {
  const sp_batch batch = row_alone(m, r);
  return kind == NONE ? sp_model_logits(f->model, &batch, mode, out, count)
                      : sp_adapter_logits(f->adapters[kind], &batch, mode, out, count);
}

static sp_status eval_alone(const fixture* f, const mixed_batch* m, int r, int kind, float* loss, float* row) {
  const sp_batch batch = row_alone(m, r);
  return kind == NONE ? sp_model_eval_loss(f->model, &batch, loss, row)
                      : sp_adapter_eval_loss(f->adapters[kind], &batch, loss, row);
}

/* Every row of a mixed batch against itself alone: all logits at its real positions, its last
 * token's logits, its log-likelihood, and its hidden states. */
static void check_rows_alone(const fixture* f, const row_spec* rows, int count, const char* label) {
  mixed_batch m;
  build_batch(&m, f, rows, count);
  const size_t V = (size_t)f->info.vocab_size, H = (size_t)f->info.hidden_size;
  float* all = malloc(sizeof(float) * (size_t)count * SEQ * V);
  float* last = malloc(sizeof(float) * (size_t)count * V);
  float* hidden = malloc(sizeof(float) * (size_t)count * SEQ * H);
  float* alone = malloc(sizeof(float) * SEQ * (V > H ? V : H));
  float mixed_ll[MAX_ROWS], alone_ll[1], loss = 0;
  SP_CHECK(sp_model_logits(f->model, &m.batch, SP_LOGITS_ALL, all, (size_t)count * SEQ * V));
  SP_CHECK(sp_model_logits(f->model, &m.batch, SP_LOGITS_LAST, last, (size_t)count * V));
  SP_CHECK(sp_model_eval_loss(f->model, &m.batch, &loss, mixed_ll));
  SP_CHECK(sp_model_hidden_states(f->model, &m.batch, hidden, (size_t)count * SEQ * H));
  for (int r = 0; r < count; ++r) {
    const int kind = rows[r].kind;
    const int64_t keys = MAX_VIRTUAL + SEQ;
    SP_CHECK(logits_alone(f, &m, r, kind, SP_LOGITS_ALL, alone, SEQ * V));
    for (int32_t j = 0; j < SEQ; ++j) {
      if (!m.mask[r * SEQ + j]) continue; /* padded positions' outputs mean nothing */
      const float* ours = all + ((size_t)r * SEQ + (size_t)j) * V;
      const double bound = forward_bound(f, alone + (size_t)j * V, V, keys);
      const double error = max_abs_diff(ours, alone + (size_t)j * V, V);
      if (!(error <= bound))
        fail_msg("%s, row %d (%s), position %d: logits differ from the row alone by %g (bound %g)", label, r,
                 kind_names[kind], j, error, bound);
    }
    SP_CHECK(logits_alone(f, &m, r, kind, SP_LOGITS_LAST, alone, V));
    const double last_error = max_abs_diff(last + (size_t)r * V, alone, V);
    if (!(last_error <= forward_bound(f, alone, V, keys)))
      fail_msg("%s, row %d (%s): last-token logits differ from the row alone by %g", label, r, kind_names[kind],
               last_error);
    SP_CHECK(eval_alone(f, &m, r, kind, &loss, alone_ll));
    const double ll_bound = conformance_bound(
        alone_ll, 1,
        conformance_loss_length(conformance_forward_length(&f->info, f->intermediate_size, keys, 0.0), &f->info, SEQ));
    if (!(fabs((double)mixed_ll[r] - (double)alone_ll[0]) <= ll_bound))
      fail_msg("%s, row %d (%s): log-likelihood %.7g, alone %.7g (bound %g)", label, r, kind_names[kind],
               (double)mixed_ll[r], (double)alone_ll[0], ll_bound);
    if (kind != NONE) {
      const sp_batch batch = row_alone(&m, r);
      SP_CHECK(sp_adapter_hidden_states(f->adapters[kind], &batch, alone, SEQ * H));
    } else {
      const sp_batch batch = row_alone(&m, r);
      SP_CHECK(sp_model_hidden_states(f->model, &batch, alone, SEQ * H));
    }
    for (int32_t j = 0; j < SEQ; ++j) {
      if (!m.mask[r * SEQ + j]) continue;
      const double error = max_abs_diff(hidden + ((size_t)r * SEQ + (size_t)j) * H, alone + (size_t)j * H, H);
      if (!(error <= forward_bound(f, alone + (size_t)j * H, H, keys)))
        fail_msg("%s, row %d (%s): hidden states differ from the row alone by %g", label, r, kind_names[kind], error);
    }
  }
  free(all);
  free(last);
  free(hidden);
  free(alone);
}

/* Every pair of kinds (each method, both P-tuning encoders, no adapter), in both orders of
 * padding, on a rotary model (llama), one with grouped key/value heads (qwen2) and one with
 * learned positions (gpt2). */
static void every_pair_of_methods_gives_each_row_its_result_alone(void** state) {
  (void)state;
  const char* families[] = {"llama", "qwen2", "gpt2"};
  for (size_t family = 0; family < sizeof families / sizeof families[0]; ++family) {
    char folder[1024];
    fixture f;
    open_fixture(&f, test_path(folder, sizeof folder, models_root, families[family]));
    int pairs = 0;
    for (int a = 0; a < KINDS; ++a)
      for (int b = a; b < KINDS; ++b) {
        const row_spec rows[2] = {{a, 1, SEQ, 0}, {b, 2, 4 + (a + b) % 3, (a + b) % 2}};
        char label[128];
        snprintf(label, sizeof label, "%s: %s with %s", families[family], kind_names[a], kind_names[b]);
        check_rows_alone(&f, rows, 2, label);
        ++pairs;
      }
    assert_int_equal(pairs, KINDS * (KINDS + 1) / 2);
    /* All of them in one batch, with a second multitask row of another task and a second
     * prompt-tuning row (rows sharing an adapter). */
    const row_spec all[MAX_ROWS] = {{PROMPT, 0, 5, 1},       {PREFIX, 0, SEQ, 0},  {PTUNING_MLP, 0, 3, 0},
                                    {PTUNING_LSTM, 0, 6, 1}, {MULTITASK, 0, 7, 0}, {NONE, 0, 2, 1},
                                    {MULTITASK, 2, SEQ, 0},  {PROMPT, 0, 4, 0}};
    check_rows_alone(&f, all, MAX_ROWS, families[family]);
    close_fixture(&f);
  }
}

/* --- contexts */

enum { PROMPTS = KINDS + 1, NEW_TOKENS = 10, LENGTH = 64 };
static const int32_t prompt_ids[] = {72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 200, 201, 202,
                                     33, 65,  66,  67,  68,  69, 70,  71,  90,  91,  92,  93,  94};
static const int32_t prompt_lengths[PROMPTS] = {5, 3, 1, 6, 4, 2, 6};
static const int32_t prompt_tasks[PROMPTS] = {0, 0, 0, 0, 1, 0, 2};
static const int prompt_kinds[PROMPTS] = {PROMPT, PREFIX, PTUNING_MLP, PTUNING_LSTM, MULTITASK, NONE, MULTITASK};

static const int32_t* prompt_start(int p) {
  const int32_t* ids = prompt_ids;
  for (int i = 0; i < p; ++i) ids += prompt_lengths[i];
  return ids;
}

static sp_prompts mixed_prompts(const sp_adapter* const* adapters) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = PROMPTS;
  prompts.ids = prompt_ids;
  prompts.num_ids = sizeof prompt_ids / sizeof prompt_ids[0];
  prompts.lengths = prompt_lengths;
  prompts.num_lengths = PROMPTS;
  prompts.task_ids = prompt_tasks;
  prompts.num_task_ids = PROMPTS;
  prompts.adapters = adapters;
  prompts.num_adapters = PROMPTS;
  return prompts;
}

/* Every kind's prompt with the fixture's adapter of that kind; `adapters` holds them for the call. */
static sp_prompts fixture_prompts(const fixture* f, const sp_adapter* adapters[PROMPTS]) {
  for (int p = 0; p < PROMPTS; ++p) adapters[p] = f->adapters[prompt_kinds[p]];
  return mixed_prompts(adapters);
}

static sp_prompts prompt_alone(int p) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = 1;
  prompts.ids = prompt_start(p);
  prompts.num_ids = (size_t)prompt_lengths[p];
  prompts.lengths = prompt_lengths + p;
  prompts.num_lengths = 1;
  prompts.task_ids = prompt_tasks + p;
  prompts.num_task_ids = 1;
  return prompts;
}

static sp_context* context_on(sp_model* model, sp_adapter* adapter, int32_t rows, int recompute) {
  sp_context_params params = sp_context_default_params();
  params.max_batch_size = rows;
  params.max_length = LENGTH;
  params.recompute_prompts = recompute;
  sp_context* context = NULL;
  SP_CHECK(sp_context_create(&context, model, adapter, &params));
  return context;
}

static sp_generate_params greedy(void) {
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = NEW_TOKENS;
  params.use_model_eos = 0;
  return params;
}

typedef struct {
  int32_t ids[PROMPTS][NEW_TOKENS];
  int32_t counts[PROMPTS];
} tokens;

static sp_generation into(tokens* out) {
  memset(out, 0, sizeof *out);
  sp_generation result = sp_generation_init();
  result.ids = &out->ids[0][0];
  result.ids_capacity = PROMPTS * NEW_TOKENS;
  result.counts = out->counts;
  result.rows_capacity = PROMPTS;
  return result;
}

/* Each prompt's tokens, prefill logits and continuation score alone, on a context with its adapter. */
typedef struct {
  int32_t ids[PROMPTS][NEW_TOKENS];
  float* prefill; /* PROMPTS * V */
  float scores[PROMPTS];
} alone_results;

static const int32_t continuation_ids[] = {44, 45, 46, 47, 48, 49, 50,
                                           51, 52, 53, 54, 55, 56}; /* 13: the lengths' sum */
static const int32_t continuation_lengths[PROMPTS] = {1, 2, 3, 1, 2, 3, 1};

static sp_prompts continuations(int first, int count) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = count;
  prompts.ids = continuation_ids;
  size_t total = 0;
  for (int i = first; i < first + count; ++i) total += (size_t)continuation_lengths[i];
  assert_true(total <= sizeof continuation_ids / sizeof continuation_ids[0]);
  prompts.num_ids = total;
  prompts.lengths = continuation_lengths + first;
  prompts.num_lengths = (size_t)count;
  return prompts;
}

static void compute_alone(const fixture* f, alone_results* out) {
  const size_t V = (size_t)f->info.vocab_size;
  out->prefill = malloc(sizeof(float) * PROMPTS * V);
  for (int p = 0; p < PROMPTS; ++p) {
    sp_context* context = context_on(f->model, f->adapters[prompt_kinds[p]], 1, 0);
    const sp_prompts prompts = prompt_alone(p);
    const sp_generate_params params = greedy();
    tokens generated;
    sp_generation result = into(&generated);
    SP_CHECK(sp_context_generate(context, &prompts, &params, &result));
    memcpy(out->ids[p], generated.ids[0], sizeof out->ids[p]);
    SP_CHECK(sp_context_prefill(context, &prompts, out->prefill + (size_t)p * V, V));
    const sp_prompts continuation = continuations(p, 1);
    /* continuations() starts at ids[0]; alone, the row's own continuation ids are needed */
    sp_prompts own = continuation;
    size_t offset = 0;
    for (int i = 0; i < p; ++i) offset += (size_t)continuation_lengths[i];
    own.ids = continuation_ids + offset;
    SP_CHECK(sp_context_score(context, &prompts, &own, out->scores + p, 1));
    sp_context_free(context);
  }
}

static void rows_of_different_adapters_generate_score_and_prefill_as_alone(void** state) {
  (void)state;
  fixture f;
  open_fixture(&f, model_folder);
  const size_t V = (size_t)f.info.vocab_size;
  alone_results alone;
  compute_alone(&f, &alone);

  const sp_adapter* adapters[PROMPTS];
  const sp_prompts prompts = fixture_prompts(&f, adapters);
  /* A context without an adapter of its own, and one with a prefix-tuning adapter that every row
   * replaces: the context's adapter plays no part. */
  sp_context* contexts[2] = {context_on(f.model, NULL, PROMPTS, 0),
                             context_on(f.model, f.adapters[PREFIX], PROMPTS, 0)};
  float* prefill = malloc(sizeof(float) * PROMPTS * V);
  for (int c = 0; c < 2; ++c) {
    const sp_generate_params params = greedy();
    tokens generated;
    sp_generation result = into(&generated);
    SP_CHECK(sp_context_generate(contexts[c], &prompts, &params, &result));
    for (int p = 0; p < PROMPTS; ++p) {
      assert_int_equal(generated.counts[p], NEW_TOKENS);
      if (memcmp(generated.ids[p], alone.ids[p], sizeof alone.ids[p]) != 0)
        fail_msg("context %d, prompt %d (%s): the mixed batch generated other tokens than the prompt alone", c, p,
                 kind_names[prompt_kinds[p]]);
    }
    SP_CHECK(sp_context_prefill(contexts[c], &prompts, prefill, PROMPTS * V));
    for (int p = 0; p < PROMPTS; ++p) {
      const float* reference = alone.prefill + (size_t)p * V;
      const double bound = forward_bound(&f, reference, V, MAX_VIRTUAL + LENGTH);
      const double error = max_abs_diff(prefill + (size_t)p * V, reference, V);
      if (!(error <= bound))
        fail_msg("prompt %d (%s): prefill logits differ from alone by %g (bound %g)", p, kind_names[prompt_kinds[p]],
                 error, bound);
    }
    float scores[PROMPTS];
    const sp_prompts all_continuations = continuations(0, PROMPTS);
    SP_CHECK(sp_context_score(contexts[c], &prompts, &all_continuations, scores, PROMPTS));
    for (int p = 0; p < PROMPTS; ++p) {
      const double bound = conformance_bound(
          alone.scores + p, 1,
          conformance_loss_length(conformance_forward_length(&f.info, f.intermediate_size, MAX_VIRTUAL + LENGTH, 0.0),
                                  &f.info, 3));
      if (!(fabs((double)scores[p] - (double)alone.scores[p]) <= bound))
        fail_msg("prompt %d (%s): score %.7g, alone %.7g", p, kind_names[prompt_kinds[p]], (double)scores[p],
                 (double)alone.scores[p]);
    }
  }
  sp_context_free(contexts[0]);
  sp_context_free(contexts[1]);
  free(prefill);
  free(alone.prefill);
  close_fixture(&f);
}

/* Compiled prompts are the very values a call would compute: a context that recomputes them in every
 * prefill gives the same logits, bit for bit on the CPU in float32. */
static void compiled_prompts_give_the_logits_of_recomputed_ones(void** state) {
  (void)state;
  fixture f;
  open_fixture(&f, model_folder);
  const size_t V = (size_t)f.info.vocab_size;
  const sp_adapter* adapters[PROMPTS];
  const sp_prompts prompts = fixture_prompts(&f, adapters);
  float* compiled = malloc(sizeof(float) * PROMPTS * V);
  float* recomputed = malloc(sizeof(float) * PROMPTS * V);
  sp_context* reusing = context_on(f.model, NULL, PROMPTS, 0);
  sp_context* recomputing = context_on(f.model, NULL, PROMPTS, 1);
  for (int round = 0; round < 2; ++round) { /* the second round reuses what the first compiled */
    SP_CHECK(sp_context_prefill(reusing, &prompts, compiled, PROMPTS * V));
    SP_CHECK(sp_context_prefill(recomputing, &prompts, recomputed, PROMPTS * V));
    if (running_on_cpu_float32()) {
      assert_memory_equal(compiled, recomputed, sizeof(float) * PROMPTS * V);
    } else {
      for (int p = 0; p < PROMPTS; ++p)
        assert_true(max_abs_diff(compiled + (size_t)p * V, recomputed + (size_t)p * V, V) <=
                    forward_bound(&f, recomputed + (size_t)p * V, V, MAX_VIRTUAL + LENGTH));
    }
  }
  /* One adapter's context, recomputing or not. */
  sp_context* single[2] = {context_on(f.model, f.adapters[PTUNING_LSTM], 1, 0),
                           context_on(f.model, f.adapters[PTUNING_LSTM], 1, 1)};
  const sp_prompts one = prompt_alone(3);
  SP_CHECK(sp_context_prefill(single[0], &one, compiled, V));
  SP_CHECK(sp_context_prefill(single[1], &one, recomputed, V));
  if (running_on_cpu_float32()) assert_memory_equal(compiled, recomputed, sizeof(float) * V);
  sp_context_params bad = sp_context_default_params();
  bad.recompute_prompts = 2;
  sp_context* none = NULL;
  SP_EXPECT_ERROR(sp_context_create(&none, f.model, NULL, &bad), SP_ERR_INVALID_ARGUMENT, "recompute_prompts");
  sp_context_free(single[0]);
  sp_context_free(single[1]);
  sp_context_free(reusing);
  sp_context_free(recomputing);
  free(compiled);
  free(recomputed);
  close_fixture(&f);
}

static uint64_t version_of(const sp_adapter* adapter) {
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  return info.version;
}

/* The tokens of the generation begun on `context` (one row), pulled event by event. */
static int32_t pull_tokens(sp_context* context, int32_t ids[NEW_TOKENS]) {
  sp_token_event event;
  int32_t has_event = 0, count = 0;
  for (;;) {
    SP_CHECK(sp_context_generate_next(context, &event, &has_event));
    if (!has_event) return count;
    assert_true(count < NEW_TOKENS);
    ids[count++] = event.token_id;
  }
}

static void train_once(sp_adapter* adapter) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = 0.5f;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  const int32_t ids[6] = {5, 9, 14, 3, 7, 21};
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = 6;
  batch.input_ids = ids;
  batch.num_input_ids = 6;
  sp_train_result result = sp_train_result_init();
  SP_CHECK(sp_trainer_step(trainer, &batch, &result));
  assert_true(result.updated);
  sp_trainer_free(trainer);
}

/* A trainer step makes a new version: new calls compile it, calls already running and contexts
 * created before keep the version they began with, and freeing the handle under a running call
 * changes nothing for it. */
static void training_makes_a_new_version_and_running_calls_keep_theirs(void** state) {
  (void)state;
  fixture f;
  open_fixture(&f, model_folder);
  const size_t V = (size_t)f.info.vocab_size;
  sp_adapter* adapter = make_adapter(f.model, PROMPT, 7);
  assert_int_equal(version_of(adapter), 1);
  const sp_prompts one = prompt_alone(0);
  const sp_adapter* rows[1] = {adapter};
  sp_prompts named = one;
  named.adapters = rows;
  named.num_adapters = 1;

  sp_context* before = context_on(f.model, adapter, 1, 0);
  sp_context* serving = context_on(f.model, NULL, 1, 0);
  float* old_logits = malloc(sizeof(float) * V);
  float* logits = malloc(sizeof(float) * V);
  SP_CHECK(sp_context_prefill(serving, &named, old_logits, V));
  tokens old_tokens, got;
  const sp_generate_params params = greedy();
  sp_generation result = into(&old_tokens);
  SP_CHECK(sp_context_generate(serving, &named, &params, &result));

  /* A generation begun on version 1, then the adapter trained: the generation goes on with version 1. */
  SP_CHECK(sp_context_generate_begin(serving, &named, &params));
  train_once(adapter);
  assert_int_equal(version_of(adapter), 2);
  assert_int_equal(pull_tokens(serving, got.ids[0]), NEW_TOKENS);
  assert_memory_equal(got.ids[0], old_tokens.ids[0], sizeof got.ids[0]);

  /* New calls use version 2; the context created before keeps version 1. */
  SP_CHECK(sp_context_prefill(serving, &named, logits, V));
  assert_true(max_abs_diff(logits, old_logits, V) > 0);
  sp_context* after = context_on(f.model, adapter, 1, 0);
  float* fresh = malloc(sizeof(float) * V);
  SP_CHECK(sp_context_prefill(after, &one, fresh, V));
  if (running_on_cpu_float32()) assert_memory_equal(fresh, logits, sizeof(float) * V);
  SP_CHECK(sp_context_prefill(before, &one, fresh, V));
  if (running_on_cpu_float32()) assert_memory_equal(fresh, old_logits, sizeof(float) * V);

  /* Freed under a running generation: the generation completes with the values it began with. */
  SP_CHECK(sp_context_generate(serving, &named, &params, (result = into(&old_tokens), &result)));
  SP_CHECK(sp_context_generate_begin(serving, &named, &params));
  sp_adapter_free(adapter);
  assert_int_equal(pull_tokens(serving, got.ids[0]), NEW_TOKENS);
  assert_memory_equal(got.ids[0], old_tokens.ids[0], sizeof got.ids[0]);
  /* ... and a new call naming the freed handle is refused, the context staying usable. */
  SP_EXPECT_ERROR(sp_context_prefill(serving, &named, logits, V), SP_ERR_INVALID_HANDLE, "adapters[0]");
  SP_CHECK(sp_context_prefill(serving, &one, logits, V));

  sp_context_free(before);
  sp_context_free(after);
  sp_context_free(serving);
  free(old_logits);
  free(logits);
  free(fresh);
  close_fixture(&f);
}

/* Several threads serve mixed batches on their own contexts while the main thread loads, trains and
 * frees adapters of the same model: every call succeeds, and rows whose adapters nobody touches get
 * what they get alone. */
typedef struct {
  const fixture* f;
  const alone_results* alone;
  int failures;
} serving_job;

static void* serve(void* argument) {
  serving_job* job = argument;
  const sp_adapter* adapters[PROMPTS];
  const sp_prompts prompts = fixture_prompts(job->f, adapters);
  sp_context* context = NULL;
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = PROMPTS;
  context_params.max_length = LENGTH;
  if (sp_context_create(&context, job->f->model, NULL, &context_params) != SP_OK) {
    job->failures++;
    return NULL;
  }
  const sp_generate_params params = greedy();
  for (int round = 0; round < 3; ++round) {
    tokens generated;
    sp_generation result = into(&generated);
    if (sp_context_generate(context, &prompts, &params, &result) != SP_OK) {
      job->failures++;
      continue;
    }
    for (int p = 0; p < PROMPTS; ++p)
      if (memcmp(generated.ids[p], job->alone->ids[p], sizeof generated.ids[p]) != 0) job->failures++;
  }
  sp_context_free(context);
  return NULL;
}

static void threads_serve_while_adapters_come_and_go(void** state) {
  (void)state;
  fixture f;
  open_fixture(&f, model_folder);
  alone_results alone;
  compute_alone(&f, &alone);
  enum { THREADS = 3 };
  serving_job jobs[THREADS];
  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; ++t) {
    jobs[t] = (serving_job){&f, &alone, 0};
    assert_int_equal(pthread_create(&threads[t], NULL, serve, &jobs[t]), 0);
  }
  for (int i = 0; i < 6; ++i) { /* adapters loaded, trained and freed under the traffic */
    sp_adapter* extra = make_adapter(f.model, i % 2 ? PREFIX : PROMPT, 500 + (uint64_t)i);
    train_once(extra);
    sp_adapter_free(extra);
  }
  for (int t = 0; t < THREADS; ++t) {
    pthread_join(threads[t], NULL);
    assert_int_equal(jobs[t].failures, 0);
  }
  free(alone.prefill);
  close_fixture(&f);
}

/* Bad per-row adapters are statuses naming the problem, and everything stays usable. */
static void bad_row_adapters_are_statuses(void** state) {
  (void)state;
  fixture f;
  open_fixture(&f, model_folder);
  sp_model* other = load(model_folder);
  sp_adapter* foreign = make_adapter(other, PROMPT, 3);
  const size_t V = (size_t)f.info.vocab_size;
  float* out = malloc(sizeof(float) * MAX_ROWS * SEQ * V);
  float loss = 0;
  const row_spec rows[2] = {{PROMPT, 0, 5, 0}, {MULTITASK, 1, 4, 0}};
  mixed_batch m;
  build_batch(&m, &f, rows, 2);

  sp_batch batch = m.batch;
  batch.num_row_adapters = 1;
  SP_EXPECT_ERROR(sp_model_logits(f.model, &batch, SP_LOGITS_LAST, out, 2 * V), SP_ERR_SHAPE_MISMATCH,
                  "num_row_adapters");
  batch = m.batch;
  m.adapters[0] = foreign;
  SP_EXPECT_ERROR(sp_model_logits(f.model, &batch, SP_LOGITS_LAST, out, 2 * V), SP_ERR_INVALID_ARGUMENT,
                  "another model");
  m.adapters[0] = f.adapters[PROMPT];
  batch.task_ids = NULL;
  batch.num_task_ids = 0;
  SP_EXPECT_ERROR(sp_model_eval_loss(f.model, &batch, &loss, NULL), SP_ERR_INVALID_ARGUMENT, "task_ids");
  m.tasks[1] = TASKS;
  batch = m.batch;
  SP_EXPECT_ERROR(sp_model_logits(f.model, &batch, SP_LOGITS_LAST, out, 2 * V), SP_ERR_OUT_OF_RANGE, "task id");
  m.tasks[1] = 1;
  /* An adapter's own calls and training run every row with that adapter. */
  SP_EXPECT_ERROR(sp_adapter_logits(f.adapters[PROMPT], &batch, SP_LOGITS_LAST, out, 2 * V), SP_ERR_INVALID_ARGUMENT,
                  "row_adapters");
  /* A classification adapter has no logits over the vocabulary to give. */
  sp_adapter_params classify = sp_adapter_default_params();
  classify.num_virtual_tokens = 2;
  classify.task_type = SP_TASK_SEQ_CLS;
  sp_adapter* classifier = NULL;
  SP_CHECK(sp_adapter_create(&classifier, f.model, &classify));
  m.adapters[1] = classifier;
  SP_EXPECT_ERROR(sp_model_logits(f.model, &batch, SP_LOGITS_LAST, out, 2 * V), SP_ERR_UNSUPPORTED, "CAUSAL_LM");
  /* A freed handle. */
  sp_adapter_free(classifier);
  SP_EXPECT_ERROR(sp_model_logits(f.model, &batch, SP_LOGITS_LAST, out, 2 * V), SP_ERR_INVALID_HANDLE,
                  "row_adapters[1]");
  m.adapters[1] = f.adapters[MULTITASK];
  SP_CHECK(sp_model_logits(f.model, &batch, SP_LOGITS_LAST, out, 2 * V));

  /* Prompts: a count that disagrees, an adapter of another model, a missing task id. */
  const sp_adapter* adapters[PROMPTS];
  sp_prompts prompts = fixture_prompts(&f, adapters);
  sp_context* context = context_on(f.model, NULL, PROMPTS, 0);
  prompts.num_adapters = 2;
  SP_EXPECT_ERROR(sp_context_prefill(context, &prompts, out, PROMPTS * V), SP_ERR_SHAPE_MISMATCH, "num_");
  prompts.num_adapters = PROMPTS;
  adapters[2] = foreign;
  SP_EXPECT_ERROR(sp_context_prefill(context, &prompts, out, PROMPTS * V), SP_ERR_INVALID_ARGUMENT, "another model");
  adapters[2] = f.adapters[prompt_kinds[2]];
  prompts.task_ids = NULL;
  prompts.num_task_ids = 0;
  SP_EXPECT_ERROR(sp_context_prefill(context, &prompts, out, PROMPTS * V), SP_ERR_INVALID_ARGUMENT, "task id");
  prompts = mixed_prompts(adapters);
  SP_CHECK(sp_context_prefill(context, &prompts, out, PROMPTS * V));

  sp_context_free(context);
  sp_adapter_free(foreign);
  sp_model_free(other);
  free(out);
  close_fixture(&f);
}

int main(int argc, char** argv) {
  const char** folders[] = {&model_folder, &models_root};
  if (!read_folder_arguments(argc, argv, "<model-with-tokenizer> <models-folder>", folders, 2)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_pair_of_methods_gives_each_row_its_result_alone),
      cmocka_unit_test(rows_of_different_adapters_generate_score_and_prefill_as_alone),
      cmocka_unit_test(compiled_prompts_give_the_logits_of_recomputed_ones),
      cmocka_unit_test(training_makes_a_new_version_and_running_calls_keep_theirs),
      cmocka_unit_test(threads_serve_while_adapters_come_and_go),
      cmocka_unit_test(bad_row_adapters_are_statuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
