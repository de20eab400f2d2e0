/*
 * Trainer states through the C API (sp_trainer_save_state, sp_trainer_load_state): a run cut in two
 * by a save, everything freed, and a fresh adapter (another seed) and trainer (other settings)
 * loaded from the state must go on exactly as the uncut run did, bit for bit, for every method,
 * mid-accumulation and with a schedule and clipping; the caller's bytes come back; a state that
 * does not fit, or a damaged file, changes nothing; saves replace files atomically.
 * sp_adapter_describe on folders, adapter files, trainer states and bad inputs.
 *
 *   test_trainer_state <models-folder> <scratch-folder>
 */
#include <dirent.h>
#include <sys/resource.h>

#include "test_support.h"
/* after test_support.h: it uses the API and cmocka */
#include "hostile_files.h"

static const char* models_root;
static const char* scratch_root;

enum { ROWS = 2, SEQ = 6, STEPS = 8 };

/* The methods and variants every resume test runs. */
typedef struct {
  const char* label;
  sp_method method;
  int prefix_projection;
  sp_encoder_type encoder_type;
} method_case;

static const method_case kCases[] = {
    {"prompt tuning", SP_METHOD_PROMPT_TUNING, 0, SP_ENCODER_MLP},
    {"prefix tuning", SP_METHOD_PREFIX_TUNING, 0, SP_ENCODER_MLP},
    {"prefix tuning, projection", SP_METHOD_PREFIX_TUNING, 1, SP_ENCODER_MLP},
    {"P-tuning MLP", SP_METHOD_P_TUNING, 0, SP_ENCODER_MLP},
    {"P-tuning LSTM, dropout", SP_METHOD_P_TUNING, 0, SP_ENCODER_LSTM},
    {"MPT", SP_METHOD_MULTITASK_PROMPT_TUNING, 0, SP_ENCODER_MLP},
};
enum { NUM_CASES = sizeof kCases / sizeof kCases[0] };

static sp_adapter_params case_params(const method_case* c, uint64_t seed, int32_t tokens) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = c->method;
  params.num_virtual_tokens = tokens;
  params.seed = seed;
  params.prefix_projection = c->prefix_projection;
  params.encoder_type = c->encoder_type;
  params.encoder_hidden_size = 16;
  params.encoder_num_layers = 2;
  params.encoder_dropout = 0.25f; /* the LSTM draws a dropout mask between its layers while training */
  params.num_tasks = c->method == SP_METHOD_MULTITASK_PROMPT_TUNING ? 3 : 1;
  params.num_ranks = 2;
  return params;
}

static sp_adapter* new_adapter(sp_model* model, const method_case* c, uint64_t seed) {
  sp_adapter_params params = case_params(c, seed, 5);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  return adapter;
}

/* Micro-batch `step` of the run: other tokens and tasks at every step, so that resuming at the
 * wrong place shows. */
typedef struct {
  int32_t ids[ROWS * SEQ];
  int32_t tasks[ROWS];
  sp_batch batch;
} step_batch;

static void make_step_batch(step_batch* b, int step) {
  uint32_t state = 17u + 31u * (uint32_t)step;
  for (int i = 0; i < ROWS * SEQ; ++i) {
    state = state * 1103515245u + 12345u;
    b->ids[i] = (int32_t)(3 + (state >> 10) % 250u);
  }
  b->tasks[0] = step % 3;
  b->tasks[1] = (step + 1) % 3;
  b->batch = sp_batch_init();
  b->batch.batch_size = ROWS;
  b->batch.seq_len = SEQ;
  b->batch.input_ids = b->ids;
  b->batch.num_input_ids = ROWS * SEQ;
  b->batch.task_ids = b->tasks;
  b->batch.num_task_ids = ROWS;
}

/* The trainer settings of the runs that are saved: a warm-up, a decay, clipping. */
static sp_trainer_params run_params(int accumulation) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = 0.05;
  params.beta1 = 0.8;
  params.weight_decay = 0.02;
  params.max_grad_norm = 0.5;
  params.warmup_steps = 1;
  params.total_steps = STEPS / accumulation + 1;
  params.accumulation_steps = accumulation;
  return params;
}

/* Settings a resumed trainer is created with before its load replaces them: all different. */
static sp_trainer_params other_params(void) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = 1.0;
  params.beta1 = 0.5;
  params.beta2 = 0.9;
  params.eps = 1e-3;
  params.weight_decay = 0.5;
  params.max_grad_norm = 0;
  params.warmup_steps = 0;
  params.total_steps = 0;
  params.accumulation_steps = 3;
  return params;
}

/* Every trainable tensor of an adapter, one after another. */
typedef struct {
  float* values;
  size_t count;
} parameters;

static parameters read_parameters(const sp_adapter* adapter) {
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  parameters p = {malloc((size_t)info.num_trainable_parameters * sizeof(float)), 0};
  for (int i = 0; i < info.num_parameter_tensors; ++i) {
    const char* name = NULL;
    size_t count = 0;
    SP_CHECK(sp_adapter_parameter_name(adapter, i, &name));
    SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
    SP_CHECK(sp_adapter_get_parameter(adapter, name, p.values + p.count, count));
    p.count += count;
  }
  return p;
}

static void assert_same_parameters(const parameters* a, const parameters* b, const char* label) {
  if (a->count != b->count) fail_msg("%s: %zu against %zu parameters", label, a->count, b->count);
  if (memcmp(a->values, b->values, a->count * sizeof(float)) != 0)
    fail_msg("%s: the parameters differ (max |diff| %.3g)", label, max_abs_diff(a->values, b->values, a->count));
}

static void assert_same_step(const sp_train_result* a, const sp_train_result* b, const char* label, int step) {
  if (memcmp(&a->loss, &b->loss, sizeof a->loss) != 0 || a->updated != b->updated ||
      memcmp(&a->grad_norm, &b->grad_norm, sizeof a->grad_norm) != 0 ||
      memcmp(&a->learning_rate, &b->learning_rate, sizeof a->learning_rate) != 0 || a->updates_done != b->updates_done)
    fail_msg(
        "%s, step %d: loss %.9g / %.9g, updated %d / %d, grad norm %.9g / %.9g, rate %.9g / %.9g, updates %lld / "
        "%lld",
        label, step, a->loss, b->loss, a->updated, b->updated, a->grad_norm, b->grad_norm, a->learning_rate,
        b->learning_rate, (long long)a->updates_done, (long long)b->updates_done);
}

static void train_steps(sp_trainer* trainer, int first, int end, sp_train_result* results) {
  for (int step = first; step < end; ++step) {
    step_batch b;
    make_step_batch(&b, step);
    results[step] = sp_train_result_init();
    SP_CHECK(sp_trainer_step(trainer, &b.batch, &results[step]));
  }
}

static const char* scratch(char* buffer, size_t size, const char* name) {
  return test_path(buffer, size, scratch_root, name);
}

/* The uncut run against the run saved at `split`, freed, and resumed in fresh objects. */
static void check_resume(const method_case* c, int accumulation, int split) {
  char label[160], path[600];
  snprintf(label, sizeof label, "%s, accumulation %d, saved after %d", c->label, accumulation, split);
  snprintf(path, sizeof path, "%s/resume-%d-%d.spstate", scratch_root, (int)(c - kCases), accumulation);
  const sp_trainer_params params = run_params(accumulation);
  sp_train_result straight[STEPS], resumed[STEPS];

  sp_model* model = load_test_model(models_root, "llama");
  sp_adapter* adapter = new_adapter(model, c, 3);
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  train_steps(trainer, 0, STEPS, straight);
  parameters expected = read_parameters(adapter);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);

  adapter = new_adapter(model, c, 3);
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  train_steps(trainer, 0, split, resumed);
  const char user[] = "data order: epoch 0, position 17, rng 0x5eed";
  SP_CHECK(sp_trainer_save_state(trainer, path, user, sizeof user));
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);

  model = load_test_model(models_root, "llama");
  adapter = new_adapter(model, c, 99);
  const sp_trainer_params other = other_params();
  SP_CHECK(sp_trainer_create(&trainer, adapter, &other));
  parameters before = read_parameters(adapter);
  char back[128];
  size_t back_size = 0;
  SP_CHECK(sp_trainer_load_state(trainer, path, back, sizeof back, &back_size));
  assert_int_equal(back_size, sizeof user);
  assert_memory_equal(back, user, sizeof user);
  train_steps(trainer, split, STEPS, resumed);
  for (int step = 0; step < STEPS; ++step) assert_same_step(&straight[step], &resumed[step], label, step);
  parameters got = read_parameters(adapter);
  assert_same_parameters(&expected, &got, label);
  /* The comparison can fail: the fresh adapter started elsewhere. */
  assert_true(memcmp(before.values, expected.values, before.count * sizeof(float)) != 0);
  printf("    %-55s %d steps, last loss %.6f: identical\n", label, STEPS, (double)straight[STEPS - 1].loss);
  free(expected.values);
  free(got.values);
  free(before.values);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

static void every_method_resumes_exactly(void** state) {
  (void)state;
  for (int i = 0; i < NUM_CASES; ++i) check_resume(&kCases[i], 1, STEPS / 2);
}

static void every_method_resumes_mid_accumulation(void** state) {
  (void)state;
  for (int i = 0; i < NUM_CASES; ++i) check_resume(&kCases[i], 2, 3);
}

/* A run of `steps` micro-batches on a fresh prompt-tuning adapter (seed 3), saved to `name`. */
static void save_run(sp_model* model, const method_case* c, int32_t tokens, int steps, const char* name,
                     const void* user, size_t user_size) {
  char path[600];
  sp_adapter_params ap = case_params(c, 3, tokens);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &ap));
  const sp_trainer_params params = run_params(2);
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  sp_train_result results[STEPS];
  train_steps(trainer, 0, steps, results);
  SP_CHECK(sp_trainer_save_state(trainer, scratch(path, sizeof path, name), user, user_size));
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
}

static void user_state_round_trips_with_the_size_protocol(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  unsigned char user[3000];
  for (size_t i = 0; i < sizeof user; ++i) user[i] = (unsigned char)(i * 7 + 1);
  save_run(model, &kCases[0], 5, 2, "user.spstate", user, sizeof user);
  save_run(model, &kCases[0], 5, 2, "no-user.spstate", NULL, 0);
  char path[600];
  sp_adapter* adapter = new_adapter(model, &kCases[0], 1);
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));

  size_t size = 0;
  SP_EXPECT_ERROR(sp_trainer_load_state(trainer, scratch(path, sizeof path, "user.spstate"), NULL, 0, &size),
                  SP_ERR_BUFFER_TOO_SMALL, "3000");
  assert_int_equal(size, sizeof user);
  unsigned char back[3000];
  size = 0;
  SP_EXPECT_ERROR(sp_trainer_load_state(trainer, path, back, sizeof back - 1, &size), SP_ERR_BUFFER_TOO_SMALL, "");
  assert_int_equal(size, sizeof user);
  memset(back, 0, sizeof back);
  SP_CHECK(sp_trainer_load_state(trainer, path, back, sizeof back, &size));
  assert_int_equal(size, sizeof user);
  assert_memory_equal(back, user, sizeof user);

  /* No user state: NULL and 0 are enough, and the size reads 0. */
  size = 99;
  SP_CHECK(sp_trainer_load_state(trainer, scratch(path, sizeof path, "no-user.spstate"), NULL, 0, &size));
  assert_int_equal(size, 0);
  SP_CHECK(sp_trainer_load_state(trainer, path, NULL, 0, NULL));

  /* Arguments the ABI refuses. */
  SP_EXPECT_ERROR(sp_trainer_save_state(trainer, path, NULL, 4), SP_ERR_INVALID_ARGUMENT, "user_state");
  SP_EXPECT_ERROR(sp_trainer_save_state(trainer, NULL, NULL, 0), SP_ERR_INVALID_ARGUMENT, "path");
  SP_EXPECT_ERROR(sp_trainer_save_state(trainer, "", NULL, 0), SP_ERR_INVALID_ARGUMENT, "path");
  SP_EXPECT_ERROR(sp_trainer_load_state(trainer, path, NULL, 4, &size), SP_ERR_INVALID_ARGUMENT, "user_state");
  SP_EXPECT_ERROR(sp_trainer_load_state(NULL, path, NULL, 0, &size), SP_ERR_INVALID_ARGUMENT, "trainer");
  SP_EXPECT_ERROR(sp_trainer_load_state(trainer, scratch(path, sizeof path, "missing.spstate"), NULL, 0, &size),
                  SP_ERR_NOT_FOUND, "missing.spstate");
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* Two trainers that must stay identical: `probe`, on which failing loads are tried, and `control`. */
typedef struct {
  sp_adapter* adapter[2];
  sp_trainer* trainer[2];
  int steps;
} twin_trainers;

static twin_trainers make_twins(sp_model* model, const method_case* c) {
  twin_trainers t;
  const sp_trainer_params params = run_params(2);
  for (int i = 0; i < 2; ++i) {
    t.adapter[i] = new_adapter(model, c, 5);
    SP_CHECK(sp_trainer_create(&t.trainer[i], t.adapter[i], &params));
  }
  t.steps = 0;
  return t;
}

/* One step on each (three steps leave the probe mid-accumulation with gradients held). */
static void step_twins(twin_trainers* t, int steps) {
  for (int k = 0; k < steps; ++k, ++t->steps) {
    sp_train_result r[2][STEPS + 8];
    for (int i = 0; i < 2; ++i) train_steps(t->trainer[i], t->steps, t->steps + 1, r[i]);
    assert_same_step(&r[0][t->steps], &r[1][t->steps], "probe against control", t->steps);
  }
}

static void finish_twins(twin_trainers* t, const char* label) {
  step_twins(t, 3); /* goes on exactly as the control: counters, moments, gradients untouched */
  parameters a = read_parameters(t->adapter[0]), b = read_parameters(t->adapter[1]);
  assert_same_parameters(&a, &b, label);
  free(a.values);
  free(b.values);
  for (int i = 0; i < 2; ++i) {
    sp_trainer_free(t->trainer[i]);
    sp_adapter_free(t->adapter[i]);
  }
}

static void states_that_do_not_fit_change_nothing(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  sp_model* other_model = load_test_model(models_root, "qwen2");
  sp_model* gpt2_model = load_test_model(models_root, "gpt2");
  const unsigned char user[10] = {1, 2, 3};
  save_run(model, &kCases[0], 5, 5, "progress.spstate", user, sizeof user); /* valid for the probe */
  save_run(model, &kCases[0], 6, 2, "six-tokens.spstate", NULL, 0);
  save_run(model, &kCases[1], 5, 2, "prefix.spstate", NULL, 0);
  save_run(model, &kCases[3], 5, 2, "ptuning-mlp.spstate", NULL, 0);
  save_run(other_model, &kCases[0], 5, 2, "qwen2.spstate", NULL, 0);
  save_run(gpt2_model, &kCases[0], 5, 2, "gpt2.spstate", NULL, 0);
  char path[600];

  twin_trainers t = make_twins(model, &kCases[0]);
  step_twins(&t, 3);
  size_t size = 0;
  SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], scratch(path, sizeof path, "six-tokens.spstate"), NULL, 0, &size),
                  SP_ERR_SHAPE_MISMATCH, "embedding.weight");
  SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], scratch(path, sizeof path, "prefix.spstate"), NULL, 0, &size),
                  SP_ERR_SHAPE_MISMATCH, "PREFIX_TUNING");
  SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], scratch(path, sizeof path, "qwen2.spstate"), NULL, 0, &size),
                  SP_ERR_MODEL_MISMATCH, "model_type");
  SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], scratch(path, sizeof path, "gpt2.spstate"), NULL, 0, &size),
                  SP_ERR_MODEL_MISMATCH, "gpt2");
  /* A state that would load, refused only because the buffer for the caller's bytes is too small. */
  SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], scratch(path, sizeof path, "progress.spstate"), NULL, 0, &size),
                  SP_ERR_BUFFER_TOO_SMALL, "");
  assert_int_equal(size, sizeof user);
  /* An adapter file is not a trainer state. */
  SP_CHECK(sp_adapter_save_file(t.adapter[0], scratch(path, sizeof path, "adapter.spadapter")));
  SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], path, NULL, 0, &size), SP_ERR_FORMAT, "magic");
  finish_twins(&t, "after refused loads");

  /* P-tuning: a state of its MLP variant does not fit the LSTM (other tensors). */
  t = make_twins(model, &kCases[4]);
  step_twins(&t, 1);
  SP_EXPECT_ERROR(
      sp_trainer_load_state(t.trainer[0], scratch(path, sizeof path, "ptuning-mlp.spstate"), NULL, 0, &size),
      SP_ERR_SHAPE_MISMATCH, "");
  finish_twins(&t, "P-tuning after a refused load");
  sp_model_free(gpt2_model);
  sp_model_free(other_model);
  sp_model_free(model);
}

static size_t peak_rss_kb(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (size_t)usage.ru_maxrss;
}

static int status_is_a_refusal(sp_status status) {
  return status == SP_ERR_FORMAT || status == SP_ERR_SHAPE_MISMATCH || status == SP_ERR_MODEL_MISMATCH ||
         status == SP_ERR_UNSUPPORTED;
}

/* Writes `file` with the trainer-state magic and a checksum that matches, so the mutation reaches
 * the checks behind the framing. */
static void write_repacked(const char* path, buf payload) {
  buf file = pack_single_file(payload, 6);
  file.data[3] = 'T';
  fix_crc(&file);
  assert_true(write_file(path, file.data, file.size));
  buf_free(&file);
}

static void damaged_states_are_refused_and_change_nothing(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  char good[600], bad[600];
  /* LSTM P-tuning: the most tensors and the random state. */
  save_run(model, &kCases[4], 5, 3, "good.spstate", "abc", 3);
  scratch(good, sizeof good, "good.spstate");
  scratch(bad, sizeof bad, "bad.spstate");
  buf file = {NULL, 0};
  assert_true(read_file(good, &file));
  buf payload = {NULL, 0};
  assert_true(unpack_single_file(file, &payload));
  /* The packing here is independent of the library: repacked unchanged, the file loads. */
  write_repacked(bad, payload);

  twin_trainers t = make_twins(model, &kCases[4]);
  step_twins(&t, 1);
  sp_trainer* scratch_trainer = NULL;
  sp_adapter* scratch_adapter = new_adapter(model, &kCases[4], 8);
  SP_CHECK(sp_trainer_create(&scratch_trainer, scratch_adapter, NULL));
  char user[8];
  size_t size = 0;
  SP_CHECK(sp_trainer_load_state(scratch_trainer, bad, user, sizeof user, &size));

  /* Truncations: every length up to the header, then a spread to the end. */
  int refused = 0;
  for (size_t length = 0; length < file.size; length += length < 64 ? 1 : 1 + file.size / 97) {
    assert_true(write_file(bad, file.data, length));
    SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], bad, user, sizeof user, &size), SP_ERR_FORMAT, "");
    ++refused;
  }
  /* Bit flips anywhere: the checksum. */
  rng r = {2024};
  for (int k = 0; k < 40; ++k) {
    buf copy = buf_copy(file);
    copy.data[rng_below(&r, copy.size)] ^= (unsigned char)(1u << rng_below(&r, 8));
    assert_true(write_file(bad, copy.data, copy.size));
    SP_EXPECT_ERROR(sp_trainer_load_state(t.trainer[0], bad, user, sizeof user, &size), SP_ERR_FORMAT, "");
    buf_free(&copy);
    ++refused;
  }
  /* Seeded mutations behind a valid framing: of the payload's bytes and of its header's JSON. */
  const size_t rss_before = peak_rss_kb();
  int loaded = 0, mutants = 0;
  for (int k = 0; k < 300; ++k, ++mutants) {
    buf mutant = buf_copy(payload);
    if (k % 2) {
      mutate_bytes(&mutant, &r);
    } else {
      safetensors_parts parts = {{NULL, 0}, {NULL, 0}};
      if (!split_safetensors(mutant, &parts)) fail_msg("cannot split the payload");
      mutate_json(&parts.header, &r);
      buf_free(&mutant);
      mutant = join_safetensors(parts.header, parts.data);
      buf_free(&parts.header);
      buf_free(&parts.data);
    }
    write_repacked(bad, mutant);
    buf_free(&mutant);
    /* A scratch trainer takes the ones that still load; the probe sees only refusals. */
    const sp_status status = sp_trainer_load_state(scratch_trainer, bad, user, sizeof user, &size);
    if (status == SP_OK) {
      ++loaded;
      continue;
    }
    /* A mutated user-state size may outgrow the buffer: refused too, with nothing restored. */
    if (!status_is_a_refusal(status) && status != SP_ERR_BUFFER_TOO_SMALL)
      fail_msg("mutant %d: %s (%s)", k, sp_status_string(status), sp_last_error());
    const sp_status again = sp_trainer_load_state(t.trainer[0], bad, user, sizeof user, &size);
    if (again != status) fail_msg("mutant %d: %s, then %s", k, sp_status_string(status), sp_status_string(again));
    ++refused;
  }
  const size_t rss_growth_mb = (peak_rss_kb() - rss_before) / 1024;
  printf("    %d damaged files refused; of %d mutants behind a valid framing %d still load; peak memory grew %zu MB\n",
         refused, mutants, loaded, rss_growth_mb);
  assert_true(rss_growth_mb < 256);
  finish_twins(&t, "after damaged files");
  sp_trainer_free(scratch_trainer);
  sp_adapter_free(scratch_adapter);
  buf_free(&payload);
  buf_free(&file);
  sp_model_free(model);
}

static int count_temporaries(const char* folder) {
  DIR* dir = opendir(folder);
  assert_non_null(dir);
  int count = 0;
  for (struct dirent* entry; (entry = readdir(dir)) != NULL;)
    if (strstr(entry->d_name, ".tmp-")) ++count;
  closedir(dir);
  return count;
}

static void saves_replace_files_atomically(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  char folder[600], path[700];
  scratch(folder, sizeof folder, "atomic");
  make_dirs(folder);
  snprintf(path, sizeof path, "%s/state.spstate", folder);
  sp_adapter* adapter = new_adapter(model, &kCases[0], 3);
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
  SP_CHECK(sp_trainer_save_state(trainer, path, "first", 5));
  sp_train_result results[STEPS];
  train_steps(trainer, 0, 2, results);
  SP_CHECK(sp_trainer_save_state(trainer, path, "second!", 7)); /* over the first */
  assert_int_equal(count_temporaries(folder), 0);
  char user[16];
  size_t size = 0;
  SP_CHECK(sp_trainer_load_state(trainer, path, user, sizeof user, &size));
  assert_int_equal(size, 7);
  assert_memory_equal(user, "second!", 7);

  /* A save that cannot be written leaves the file as it was. */
  char blocked[700];
  snprintf(blocked, sizeof blocked, "%s/no-such-folder/state.spstate", folder);
  const sp_status status = sp_trainer_save_state(trainer, blocked, NULL, 0);
  assert_int_not_equal(status, SP_OK);
  SP_CHECK(sp_trainer_load_state(trainer, path, user, sizeof user, &size));
  assert_memory_equal(user, "second!", 7);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* ---- sp_adapter_describe */

/* The description of `path`; fails the test unless it succeeds and keeps the size protocol. */
static char* describe(const char* path) {
  size_t size = 0;
  SP_EXPECT_ERROR(sp_adapter_describe(path, NULL, 0, &size), SP_ERR_BUFFER_TOO_SMALL, "");
  assert_true(size > 2);
  char* json = malloc(size + 1);
  size_t again = 0;
  SP_EXPECT_ERROR(sp_adapter_describe(path, json, size, &again), SP_ERR_BUFFER_TOO_SMALL, ""); /* no room for NUL */
  assert_int_equal(again, size);
  SP_CHECK(sp_adapter_describe(path, json, size + 1, &again));
  assert_int_equal(strlen(json), size);
  return json;
}

static void assert_contains(const char* json, const char* fragment) {
  if (!strstr(json, fragment)) fail_msg("the description lacks %s:\n%s", fragment, json);
}

static void describe_reads_folders_files_and_states(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  char path[600];
  sp_adapter* adapter = new_adapter(model, &kCases[0], 3); /* prompt tuning: 5 x 64 */
  SP_CHECK(sp_adapter_save(adapter, scratch(path, sizeof path, "describe-folder")));
  char* json = describe(path);
  assert_contains(json, "\"format\":\"peft-folder\"");
  assert_contains(json, "\"method\":\"PROMPT_TUNING\"");
  assert_contains(json, "{\"dtype\":\"F32\",\"name\":\"prompt_embeddings\",\"shape\":[5,64]}");
  assert_contains(json, "\"parameter_count\":320");
  assert_contains(json, "\"num_virtual_tokens\":5");
  assert_contains(json, "\"token_dim\":64");
  assert_true(strstr(json, "base_model\":{") == NULL);
  free(json);

  SP_CHECK(sp_adapter_save_file(adapter, scratch(path, sizeof path, "describe.spadapter")));
  json = describe(path);
  assert_contains(json, "\"format\":\"single-file\"");
  assert_contains(json, "\"name\":\"embedding.weight\",\"shape\":[5,64]");
  assert_contains(json, "\"hidden_size\":64");
  assert_contains(json, "\"model_type\":\"llama\"");
  assert_contains(json, "\"seed\":3");
  free(json);
  sp_adapter_free(adapter);

  /* LSTM P-tuning: 2 layers of 2 directions x 4 tensors, a 2-Linear head, the table. */
  adapter = new_adapter(model, &kCases[4], 3);
  SP_CHECK(sp_adapter_save_file(adapter, scratch(path, sizeof path, "describe-lstm.spadapter")));
  json = describe(path);
  assert_contains(json, "\"method\":\"P_TUNING\"");
  assert_contains(json, "\"name\":\"lstm_head.weight_ih_l1_reverse\",\"shape\":[64,32]");
  /* table 5*64; layer 0: 2 * (64*64 + 64*16 + 64 + 64); layer 1: 2 * (64*32 + 64*16 + 64 + 64);
   * head: 32*32 + 32 + 64*32 + 64 */
  const long expected_count =
      5 * 64 + 2 * (64 * 64 + 64 * 16 + 128) + 2 * (64 * 32 + 64 * 16 + 128) + (32 * 32 + 32 + 64 * 32 + 64);
  char fragment[64];
  snprintf(fragment, sizeof fragment, "\"parameter_count\":%ld", expected_count);
  assert_contains(json, fragment);
  free(json);

  const sp_trainer_params params = run_params(2);
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  sp_train_result results[STEPS];
  train_steps(trainer, 0, 5, results);
  SP_CHECK(sp_trainer_save_state(trainer, scratch(path, sizeof path, "describe.spstate"), "0123456789", 10));
  json = describe(path);
  assert_contains(json, "\"format\":\"trainer-state\"");
  assert_contains(json, "\"updates_done\":2");
  assert_contains(json, "\"micro_steps\":5");
  assert_contains(json, "\"accumulation_steps\":2");
  assert_contains(json, "\"learning_rate\":0.05");
  assert_contains(json, "\"user_state_size\":10");
  assert_contains(json, "\"random_state\":true");
  assert_contains(json, fragment); /* the adapter's tensors only, not the optimizer's */
  assert_true(strstr(json, "exp_avg") == NULL);
  free(json);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

static void describe_refuses_bad_inputs(void** state) {
  (void)state;
  char path[600], good[600];
  size_t size = 0;
  char json[64];
  SP_EXPECT_ERROR(sp_adapter_describe(NULL, json, sizeof json, &size), SP_ERR_INVALID_ARGUMENT, "path");
  SP_EXPECT_ERROR(sp_adapter_describe(scratch(path, sizeof path, "nothing-here"), json, sizeof json, &size),
                  SP_ERR_NOT_FOUND, "nothing-here");
  SP_EXPECT_ERROR(sp_adapter_describe(scratch(path, sizeof path, "describe-folder"), json, sizeof json, NULL),
                  SP_ERR_INVALID_ARGUMENT, "size");
  assert_true(write_file(scratch(path, sizeof path, "text.txt"), "hello, adapter", 14));
  SP_EXPECT_ERROR(sp_adapter_describe(path, json, sizeof json, &size), SP_ERR_FORMAT, "neither");
  scratch(path, sizeof path, "empty-folder");
  make_dirs(path);
  SP_EXPECT_ERROR(sp_adapter_describe(path, json, sizeof json, &size), SP_ERR_NOT_FOUND, "adapter_config.json");
  scratch(path, sizeof path, "lora-folder");
  make_dirs(path);
  char config[700];
  snprintf(config, sizeof config, "%s/adapter_config.json", path);
  const char lora[] = "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\"}";
  assert_true(write_file(config, lora, strlen(lora)));
  SP_EXPECT_ERROR(sp_adapter_describe(path, json, sizeof json, &size), SP_ERR_UNSUPPORTED, "LORA");
  assert_true(write_file(config, "{\"peft_type\": ", 14));
  SP_EXPECT_ERROR(sp_adapter_describe(path, json, sizeof json, &size), SP_ERR_FORMAT, "");

  /* Damaged adapter files and trainer states: refused, never described. */
  sp_model* model = load_test_model(models_root, "llama");
  const char* names[] = {"describe-bad.spadapter", "describe-bad.spstate"};
  rng r = {77};
  int refused = 0, described = 0;
  for (int kind = 0; kind < 2; ++kind) {
    sp_adapter* adapter = new_adapter(model, &kCases[5], 3);
    scratch(good, sizeof good, names[kind]);
    if (kind == 0) {
      SP_CHECK(sp_adapter_save_file(adapter, good));
    } else {
      sp_trainer* trainer = NULL;
      SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
      SP_CHECK(sp_trainer_save_state(trainer, good, "x", 1));
      sp_trainer_free(trainer);
    }
    sp_adapter_free(adapter);
    buf file = {NULL, 0};
    assert_true(read_file(good, &file));
    scratch(path, sizeof path, "describe-mutant");
    for (size_t length = 0; length < file.size; length += 1 + file.size / 50) {
      assert_true(write_file(path, file.data, length));
      const sp_status status = sp_adapter_describe(path, json, sizeof json, &size);
      if (status != SP_ERR_FORMAT) fail_msg("truncated to %zu: %s", length, sp_status_string(status));
      ++refused;
    }
    buf payload = {NULL, 0};
    assert_true(unpack_single_file(file, &payload));
    for (int k = 0; k < 150; ++k) {
      buf mutant = buf_copy(payload);
      mutate_bytes(&mutant, &r);
      buf packed = pack_single_file(mutant, 6);
      packed.data[3] = file.data[3]; /* A or T */
      fix_crc(&packed);
      assert_true(write_file(path, packed.data, packed.size));
      const sp_status status = sp_adapter_describe(path, NULL, 0, &size);
      if (status == SP_ERR_BUFFER_TOO_SMALL)
        ++described; /* a mutant that is still a valid file (a changed tensor value, say) */
      else if (status_is_a_refusal(status))
        ++refused;
      else
        fail_msg("mutant %d: %s (%s)", k, sp_status_string(status), sp_last_error());
      buf_free(&mutant);
      buf_free(&packed);
    }
    buf_free(&payload);
    buf_free(&file);
  }
  printf("    describe: %d damaged files refused, %d mutants still valid\n", refused, described);
  sp_model_free(model);
}

int main(int argc, char** argv) {
  const char** folders[] = {&models_root, &scratch_root};
  if (!read_folder_arguments(argc, argv, "<models-folder> <scratch-folder>", folders, 2)) return 2;
  make_dirs(scratch_root);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_method_resumes_exactly),
      cmocka_unit_test(every_method_resumes_mid_accumulation),
      cmocka_unit_test(user_state_round_trips_with_the_size_protocol),
      cmocka_unit_test(states_that_do_not_fit_change_nothing),
      cmocka_unit_test(damaged_states_are_refused_and_change_nothing),
      cmocka_unit_test(saves_replace_files_atomically),
      cmocka_unit_test(describe_reads_folders_files_and_states),
      cmocka_unit_test(describe_refuses_bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
