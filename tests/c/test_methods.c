/*
 * Prefix tuning, P-tuning (MLP and LSTM) and multitask prompt tuning against PEFT, through the C API.
 *
 *   test_methods <models-folder> <reference-folder> <methods-reference-folder> <out-folder>
 *
 * For every base-model variant and every case of tests/reference/methods_reference.py: the initial
 * tensors equal PEFT's for the same seed (exactly, on CPU float32), and logits, loss, the gradient
 * of every trainable tensor and every tensor after one AdamW step agree with PEFT by the tolerance
 * rule of test_support.h, with each case's reduction length (the transformer's chain plus the
 * prompt encoder's; dropout off). PEFT's saved folder loads here with PEFT's logits. Our trained
 * adapter of each case is written to <out>/<variant>/<case>/adapter with our logits, for
 * check_ours_in_peft.py.
 */
#include "reference_variant.h"

#define METHOD_SEED 11
#define METHOD_TOKENS 4
#define ADAMW_EPS 1e-3 /* see methods_reference.py: keeps the first AdamW update well conditioned */

static const char* models_root;
static const char* reference_root;
static const char* methods_root;
static const char* out_root;

typedef struct method_case {
  const char* name;
  sp_method method;
  sp_prompt_init init;
  int prefix_projection, encoder_hidden_size, lstm, num_tasks, source_task;
  int uses_source;
} method_case;

static const method_case cases[] = {
    {"prefix", SP_METHOD_PREFIX_TUNING, SP_INIT_RANDOM, 0, 0, 0, 1, 0, 0},
    {"prefix_projection", SP_METHOD_PREFIX_TUNING, SP_INIT_RANDOM, 1, 32, 0, 1, 0, 0},
    {"ptuning_mlp", SP_METHOD_P_TUNING, SP_INIT_RANDOM, 0, 32, 0, 1, 0, 0},
    {"ptuning_lstm", SP_METHOD_P_TUNING, SP_INIT_RANDOM, 0, 16, 1, 1, 0, 0},
    {"mpt_source", SP_METHOD_MULTITASK_PROMPT_TUNING, SP_INIT_RANDOM, 0, 0, 0, 3, 0, 0},
    {"mpt_average_source_tasks", SP_METHOD_MULTITASK_PROMPT_TUNING, SP_INIT_AVERAGE_SOURCE_TASKS, 0, 0, 0, 1, 0, 1},
    {"mpt_exact_source_task", SP_METHOD_MULTITASK_PROMPT_TUNING, SP_INIT_EXACT_SOURCE_TASK, 0, 0, 0, 1, 1, 1},
    {"mpt_only_source_shared", SP_METHOD_MULTITASK_PROMPT_TUNING, SP_INIT_ONLY_SOURCE_SHARED, 0, 0, 0, 1, 0, 1},
    {"mpt_random", SP_METHOD_MULTITASK_PROMPT_TUNING, SP_INIT_RANDOM, 0, 0, 0, 1, 0, 0},
    {"mpt_text", SP_METHOD_MULTITASK_PROMPT_TUNING, SP_INIT_TEXT, 0, 0, 0, 1, 0, 0},
};
#define NUM_CASES (sizeof cases / sizeof cases[0])

static const char* const variants[] = {"llama", "llama-tied", "qwen2", "gpt2"};

typedef reference_variant state;

/* Reduction length of the case's prompt encoder (PEFT's modules), for the tolerance rule:
 * prefix projection Linear(hidden, e) -> Linear(e, ...); P-tuning MLP Linear(hidden, e) ->
 * Linear(e, e) -> Linear(e, hidden); P-tuning LSTM: two bidirectional layers whose every step
 * depends on the previous ones (steps x (input + e), the second layer's input being 2e), then
 * Linear(2e, 2e) -> Linear(2e, hidden); MPT: the rank product of the task factors. */
static double encoder_length(const method_case* c, const sp_model_info* info) {
  const double h = (double)info->hidden_size, e = c->encoder_hidden_size, steps = METHOD_TOKENS;
  if (c->method == SP_METHOD_PREFIX_TUNING) return c->prefix_projection ? h + e : 0.0;
  if (c->method == SP_METHOD_P_TUNING) return conformance_ptuning_encoder_length(c->lstm, steps, h, e);
  if (c->method == SP_METHOD_MULTITASK_PROMPT_TUNING) return 2.0; /* num_ranks */
  return 0.0;
}

static void run_case(state* s, const method_case* c) {
  char folder[768], path[1024], source[1024];
  snprintf(folder, sizeof folder, "%s/%s/%s", methods_root, s->name, c->name);
  snprintf(source, sizeof source, "%s/%s/mpt_source/peft_trained/adapter_model.safetensors", methods_root, s->name);
  printf("  [%s / %s]\n", s->name, c->name);

  sp_adapter_params params = sp_adapter_default_params();
  params.method = c->method;
  params.init = c->init;
  params.num_virtual_tokens = METHOD_TOKENS;
  params.seed = METHOD_SEED;
  params.prefix_projection = c->prefix_projection;
  params.encoder_hidden_size = c->encoder_hidden_size;
  params.encoder_type = c->lstm ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  params.num_tasks = c->num_tasks;
  params.num_ranks = 2;
  params.source_task = c->source_task;
  params.source_adapter = c->uses_source ? source : NULL;
  params.init_token_ids = TEXT_INIT_IDS;
  params.num_init_token_ids = 3;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, s->model, &params));

  int32_t task_ids[BATCH] = {0, 1, 2};
  if (c->num_tasks == 1) task_ids[1] = task_ids[2] = 0;
  sp_batch batch = sp_batch_init();
  batch.batch_size = BATCH;
  batch.seq_len = SEQ_LEN;
  batch.input_ids = s->input_ids;
  batch.attention_mask = s->attention_mask;
  batch.labels = s->labels;
  batch.num_input_ids = batch.num_attention_mask = batch.num_labels = BATCH * SEQ_LEN;
  batch.task_ids = task_ids;
  batch.num_task_ids = BATCH;

  sp_adapter_info info;
  info.struct_size = sizeof info;
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  for (int i = 0; i < info.num_parameter_tensors; ++i) { /* the same starting point as PEFT */
    const char* name = NULL;
    size_t count = 0;
    SP_CHECK(sp_adapter_parameter_name(adapter, i, &name));
    SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
    float* ours = malloc(count * sizeof(float));
    SP_CHECK(sp_adapter_get_parameter(adapter, name, ours, count));
    snprintf(path, sizeof path, "init__%s.f32", name);
    float* expected = read_floats(folder, path, count);
    char label[128];
    snprintf(label, sizeof label, "init %s", name);
    if (identical_draws_expected())
      ASSERT_IDENTICAL(label, ours, expected, count);
    else /* drawn, copied, or averaged over the source's 3 tasks (converted to the model's dtype) */
      ASSERT_CONFORMS(label, ours, expected, count, SP_SAMPLER_OPERATIONS + 3);
    free(ours);
    free(expected);
  }

  /* Every method adds METHOD_TOKENS attended positions (inputs or key/value prefixes). */
  const double forward =
      conformance_forward_length(&s->info, s->intermediate_size, SEQ_LEN + METHOD_TOKENS, encoder_length(c, &s->info));
  const double gradient_length = conformance_gradient_length(forward, &s->info, BATCH * (SEQ_LEN + METHOD_TOKENS));
  const size_t logits_count = (size_t)BATCH * SEQ_LEN * (size_t)s->info.vocab_size;
  float* logits = malloc(logits_count * sizeof(float));
  float* expected = read_floats(folder, "logits.f32", logits_count);
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, logits, logits_count));
  ASSERT_CONFORMS("logits vs PEFT", logits, expected, logits_count, forward);
  free(expected);
  float loss = 0;
  float* expected_loss = read_floats(folder, "loss.f32", 1);
  SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &loss, NULL));
  ASSERT_CONFORMS("loss vs PEFT", &loss, expected_loss, 1, conformance_loss_length(forward, &s->info, BATCH * SEQ_LEN));
  free(expected_loss);

  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = LEARNING_RATE;
  trainer_params.weight_decay = WEIGHT_DECAY;
  trainer_params.eps = ADAMW_EPS;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &trainer_params));
  SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  assert_step_matches_reference(adapter, trainer, folder, gradient_length, LEARNING_RATE, ADAMW_EPS);

  /* PEFT's saved folder (encoded form for P-tuning and projected prefixes) loads with PEFT's logits. */
  sp_adapter* loaded = NULL;
  SP_CHECK(sp_adapter_load(&loaded, s->model, test_path(path, sizeof path, folder, "peft")));
  expected = read_floats(folder, "peft_loaded_logits.f32", logits_count);
  SP_CHECK(sp_adapter_logits(loaded, &batch, SP_LOGITS_ALL, logits, logits_count));
  ASSERT_CONFORMS("PEFT-saved folder: logits vs PEFT", logits, expected, logits_count, forward);
  free(expected);

  /* Our trained adapter, for PEFT to load (check_ours_in_peft.py). */
  char ours_folder[768];
  snprintf(ours_folder, sizeof ours_folder, "%s/%s/%s", out_root, s->name, c->name);
  make_dirs(ours_folder);
  SP_CHECK(sp_adapter_save(adapter, test_path(path, sizeof path, ours_folder, "adapter")));
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, logits, logits_count));
  write_floats(ours_folder, "our_logits.f32", logits, logits_count);

  free(logits);
  sp_adapter_free(loaded);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
}

static void every_method_matches_peft(void** st) {
  state* s = (state*)*st;
  for (size_t i = 0; i < NUM_CASES; ++i) run_case(s, &cases[i]);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder> <reference-folder> <methods-reference-folder> <out-folder>",
                             (const char**[]){&models_root, &reference_root, &methods_root, &out_root}, 4))
    return 2;
  static state states[4];
  for (int i = 0; i < 4; ++i) {
    states[i].name = variants[i];
    states[i].models_root = models_root;
    states[i].reference_root = reference_root;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate_setup_teardown(every_method_matches_peft, reference_variant_setup,
                                               reference_variant_teardown, &states[0]),
      cmocka_unit_test_prestate_setup_teardown(every_method_matches_peft, reference_variant_setup,
                                               reference_variant_teardown, &states[1]),
      cmocka_unit_test_prestate_setup_teardown(every_method_matches_peft, reference_variant_setup,
                                               reference_variant_teardown, &states[2]),
      cmocka_unit_test_prestate_setup_teardown(every_method_matches_peft, reference_variant_setup,
                                               reference_variant_teardown, &states[3]),
  };
  const int failed = cmocka_run_group_tests_name("prefix tuning, P-tuning and MPT against PEFT", tests, NULL, NULL);
  report_worst_conformance("methods");
  return failed;
}
