/*
 * Conformance with transformers and PEFT, through the public C API.
 *
 *   test_conformance <models-folder> <reference-folder>
 *
 * The reference folder is written by tests/reference/peft_reference.py, which runs transformers
 * and PEFT on the same tiny model folders. Every comparison uses the tolerance rule of
 * test_support.h (round-off x reduction length x the reference's magnitude); initial tables are
 * identical on CPU float32.
 */
#include "reference_variant.h"

static const char* models_root;
static const char* reference_root;

typedef reference_variant variant;

static variant variants[4];
static const char* const variant_names[4] = {"llama", "llama-tied", "qwen2", "gpt2"};

static float* reference(const variant* v, const char* name, size_t expected_count) {
  char path[600];
  size_t count = 0;
  float* data = read_raw(test_path(path, sizeof path, v->reference_folder, name), 4, &count);
  if (count != expected_count)
    fail_msg("%s/%s holds %zu floats, expected %zu", v->reference_folder, name, count, expected_count);
  return data;
}

static size_t all_logits_count(const variant* v) { return (size_t)BATCH * SEQ_LEN * (size_t)v->info.vocab_size; }
static size_t table_count(const variant* v, int tokens) { return (size_t)tokens * (size_t)v->info.hidden_size; }

/* Reduction lengths (test_support.h) of the base model's logits and of prompt tuning's. */
static double base_forward(const variant* v) {
  return conformance_forward_length(&v->info, v->intermediate_size, SEQ_LEN, 0);
}
static double prompt_forward(const variant* v) {
  return conformance_forward_length(&v->info, v->intermediate_size, SEQ_LEN + NUM_VIRTUAL_TOKENS, 0);
}

static sp_adapter* load_peft_adapter(variant* v) {
  char folder[600];
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_load(&adapter, v->model, test_path(folder, sizeof folder, v->reference_folder, "pt_init")));
  return adapter;
}

static void base_model_logits_match_transformers(void** state) {
  variant* v = (variant*)*state;
  const size_t count = all_logits_count(v);
  float* expected = reference(v, "base_logits.f32", count);
  float* ours = malloc(count * sizeof(float));
  SP_CHECK(sp_model_logits(v->model, &v->batch, SP_LOGITS_ALL, ours, count));
  ASSERT_CONFORMS("base logits vs transformers", ours, expected, count, base_forward(v));
  free(ours);
  free(expected);
}

static void last_token_logits_are_the_last_real_position(void** state) {
  variant* v = (variant*)*state;
  const size_t V = (size_t)v->info.vocab_size;
  float* expected = reference(v, "base_logits.f32", all_logits_count(v));
  float* ours = malloc(BATCH * V * sizeof(float));
  SP_CHECK(sp_model_logits(v->model, &v->batch, SP_LOGITS_LAST, ours, BATCH * V));
  for (int row = 0; row < BATCH; ++row) {
    int last = 0;
    for (int t = 0; t < SEQ_LEN; ++t)
      if (v->attention_mask[row * SEQ_LEN + t]) last = t;
    ASSERT_CONFORMS("last-token logits vs transformers", ours + row * V, expected + ((size_t)row * SEQ_LEN + last) * V,
                    V, base_forward(v));
  }
  free(ours);
  free(expected);
}

static void peft_saved_adapter_gives_peft_logits(void** state) {
  variant* v = (variant*)*state;
  const size_t count = all_logits_count(v);
  sp_adapter* adapter = load_peft_adapter(v);
  float* expected = reference(v, "pt_logits.f32", count);
  float* ours = malloc(count * sizeof(float));
  SP_CHECK(sp_adapter_logits(adapter, &v->batch, SP_LOGITS_ALL, ours, count));
  ASSERT_CONFORMS("prompt-tuning logits vs PEFT", ours, expected, count, prompt_forward(v));
  free(ours);
  free(expected);
  sp_adapter_free(adapter);
}

static void prompt_tuning_loss_gradient_and_adamw_step_match_peft(void** state) {
  variant* v = (variant*)*state;
  const size_t table = table_count(v, NUM_VIRTUAL_TOKENS);
  sp_adapter* adapter = load_peft_adapter(v);
  float* expected_loss = reference(v, "pt_loss.f32", 1);
  float* expected_grad = reference(v, "pt_grad.f32", table);
  float* expected_after = reference(v, "pt_after_step.f32", table);

  float* expected_rows = reference(v, "pt_row_log_likelihood.f32", BATCH);
  float* table_before = malloc(table * sizeof(float));
  float* table_after_eval = malloc(table * sizeof(float));
  SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", table_before, table));
  float loss = 0, rows[BATCH];
  SP_CHECK(sp_adapter_eval_loss(adapter, &v->batch, &loss, rows));
  const double loss_length = conformance_loss_length(prompt_forward(v), &v->info, BATCH * SEQ_LEN);
  ASSERT_CONFORMS("eval loss vs PEFT", &loss, expected_loss, 1, loss_length);
  ASSERT_CONFORMS("per-row log-likelihood vs PEFT logits", rows, expected_rows, BATCH,
                  conformance_loss_length(prompt_forward(v), &v->info, SEQ_LEN));
  /* Evaluation changes nothing. */
  SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", table_after_eval, table));
  assert_memory_equal(table_before, table_after_eval, table * sizeof(float));
  free(expected_rows);
  free(table_before);
  free(table_after_eval);

  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = LEARNING_RATE;
  params.weight_decay = WEIGHT_DECAY;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  sp_train_result result;
  result.struct_size = sizeof result;
  SP_CHECK(sp_trainer_step(trainer, &v->batch, &result));
  assert_int_equal(result.updated, 1);
  ASSERT_CONFORMS("training-step loss vs PEFT", &result.loss, expected_loss, 1, loss_length);

  float* values = malloc(table * sizeof(float));
  SP_CHECK(sp_trainer_get_gradient(trainer, "embedding.weight", values, table));
  /* The table is read at every position of every row (through attention). */
  const double gradient_length =
      conformance_gradient_length(prompt_forward(v), &v->info, BATCH * (SEQ_LEN + NUM_VIRTUAL_TOKENS));
  ASSERT_CONFORMS("prompt gradient vs PEFT", values, expected_grad, table, gradient_length);
  SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", values, table));
  ASSERT_ADAMW_STEP_CONFORMS("prompt after one AdamW step vs PEFT", values, expected_after, expected_grad, table,
                             conformance_bound(expected_grad, table, gradient_length), LEARNING_RATE, params.eps);

  free(values);
  free(expected_loss);
  free(expected_grad);
  free(expected_after);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
}

static void check_init(variant* v, sp_prompt_init init, int tokens, const char* file, const char* label) {
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = tokens;
  params.init = init;
  params.seed = INIT_SEED;
  params.init_token_ids = TEXT_INIT_IDS;
  params.num_init_token_ids = sizeof TEXT_INIT_IDS / sizeof TEXT_INIT_IDS[0];
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  const size_t count = table_count(v, tokens);
  float* expected = reference(v, file, count);
  float* ours = malloc(count * sizeof(float));
  SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", ours, count));
  if (identical_draws_expected())
    ASSERT_IDENTICAL(label, ours, expected, count);
  else /* drawn or copied rows (converted to the model's dtype): no reduction */
    ASSERT_CONFORMS(label, ours, expected, count, SP_SAMPLER_OPERATIONS);
  free(ours);
  free(expected);
  sp_adapter_free(adapter);
}

static void each_init_mode_gives_what_peft_gives(void** state) {
  variant* v = (variant*)*state;
  check_init(v, SP_INIT_RANDOM, NUM_VIRTUAL_TOKENS, "init_random.f32", "RANDOM init vs PEFT (seed 7)");
  check_init(v, SP_INIT_SAMPLE_VOCAB, NUM_VIRTUAL_TOKENS, "init_sample_vocab.f32",
             "SAMPLE_VOCAB init vs PEFT (seed 7)");
  check_init(v, SP_INIT_TEXT, TEXT_INIT_TOKENS, "init_text.f32", "TEXT init vs PEFT (ids 5 6 7 -> 8 rows)");
}

#define VARIANT_TESTS(index)                                                                                           \
  cmocka_unit_test_prestate_setup_teardown(base_model_logits_match_transformers, reference_variant_setup,              \
                                           reference_variant_teardown, &variants[index]),                              \
      cmocka_unit_test_prestate_setup_teardown(last_token_logits_are_the_last_real_position, reference_variant_setup,  \
                                               reference_variant_teardown, &variants[index]),                          \
      cmocka_unit_test_prestate_setup_teardown(peft_saved_adapter_gives_peft_logits, reference_variant_setup,          \
                                               reference_variant_teardown, &variants[index]),                          \
      cmocka_unit_test_prestate_setup_teardown(prompt_tuning_loss_gradient_and_adamw_step_match_peft,                  \
                                               reference_variant_setup, reference_variant_teardown, &variants[index]), \
      cmocka_unit_test_prestate_setup_teardown(each_init_mode_gives_what_peft_gives, reference_variant_setup,          \
                                               reference_variant_teardown, &variants[index])

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder> <reference-folder>",
                             (const char**[]){&models_root, &reference_root}, 2))
    return 2;
  for (int i = 0; i < 4; ++i) {
    variants[i].name = variant_names[i];
    variants[i].models_root = models_root;
    variants[i].reference_root = reference_root;
  }
  const struct CMUnitTest tests[] = {VARIANT_TESTS(0), VARIANT_TESTS(1), VARIANT_TESTS(2), VARIANT_TESTS(3)};
  const int failed = cmocka_run_group_tests_name("conformance with transformers and PEFT", tests, NULL, NULL);
  report_worst_conformance("conformance");
  return failed;
}
