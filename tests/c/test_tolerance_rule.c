/*
 * The tolerance rule of test_support.h still catches bugs: on real gradients (ours against
 * PEFT's), the rule accepts the gradient as computed and rejects it when one element, the
 * largest, is off by 1e-3 of its value. Same predicate (conformance_ratio -> conformance_bound)
 * and same reduction lengths as tests/c/test_conformance.c and tests/c/test_methods.c.
 *
 *   test_tolerance_rule <models-folder> <reference-folder> <methods-reference-folder>
 *
 * Cases: the prompt-tuning table's gradient (peft_reference.py's pt_grad.f32) and the gradients of
 * both MPT task factors of case mpt_source (methods_reference.py), on every model variant.
 */
#include "reference_variant.h"

#define PERTURBATION 1e-3 /* relative, on the largest element */
#define METHOD_SEED 11    /* as test_methods.c / methods_reference.py */
#define METHOD_TOKENS 4
#define MPT_TASKS 3
#define MPT_RANKS 2
#define ADAMW_EPS 1e-3

static const char* models_root;
static const char* reference_root;
static const char* methods_root;
static const char* const variant_names[] = {"llama", "llama-tied", "qwen2", "gpt2"};

typedef reference_variant variant;

static variant variants[4];

/* The rule accepts `ours` against `reference`, and rejects it once the element where the
 * reference is largest is moved by PERTURBATION of its value. */
static void check_rule_on(const char* label, const float* ours, const float* reference, size_t count, double n) {
  size_t largest = 0;
  for (size_t i = 1; i < count; ++i)
    if (fabs(reference[i]) > fabs(reference[largest])) largest = i;
  assert_true(fabs(reference[largest]) > 0);

  const double as_computed = conformance_ratio(ours, reference, count, n);
  float* perturbed = malloc(count * sizeof(float));
  if (!perturbed) fail_msg("out of memory");
  memcpy(perturbed, ours, count * sizeof(float));
  perturbed[largest] = (float)(perturbed[largest] + PERTURBATION * fabs((double)reference[largest]));
  const double with_bug = conformance_ratio(perturbed, reference, count, n);
  free(perturbed);

  printf(
      "    %-40s bound %.3g (n=%.0f, M=%.3g): as computed ratio %.3g (accepted), element %zu moved by %g "
      "relative: ratio %.3g (rejected)\n",
      label, conformance_bound(reference, count, n), n, max_abs(reference, count), as_computed, largest, PERTURBATION,
      with_bug);
  if (!(as_computed <= 1.0)) fail_msg("%s: the rule rejects the gradient as computed (ratio %.3g)", label, as_computed);
  if (!(with_bug > 1.0))
    fail_msg("%s: the rule accepts a gradient whose largest element is off by %g relative (ratio %.3g)", label,
             PERTURBATION, with_bug);
}

/* One training step on `adapter`, then the gradient of `name` (the caller frees it). */
static float* gradient_after_one_step(sp_adapter* adapter, const sp_batch* batch, double eps, const char* name,
                                      size_t* count) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = LEARNING_RATE;
  params.weight_decay = WEIGHT_DECAY;
  params.eps = eps;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  SP_CHECK(sp_trainer_step(trainer, batch, NULL));
  SP_CHECK(sp_adapter_parameter_size(adapter, name, count));
  float* gradient = malloc(*count * sizeof(float));
  SP_CHECK(sp_trainer_get_gradient(trainer, name, gradient, *count));
  sp_trainer_free(trainer);
  return gradient;
}

static void prompt_tuning_gradient(void** state) {
  variant* v = (variant*)*state;
  char folder[600], path[700];
  sp_adapter* adapter = NULL;
  test_path(folder, sizeof folder, reference_root, v->name);
  SP_CHECK(sp_adapter_load(&adapter, v->model, test_path(path, sizeof path, folder, "pt_init")));
  size_t count = 0;
  float* ours =
      gradient_after_one_step(adapter, &v->batch, sp_trainer_default_params().eps, "embedding.weight", &count);
  float* reference = read_floats(folder, "pt_grad.f32", count);
  /* test_conformance.c's length for this gradient */
  const double forward = conformance_forward_length(&v->info, v->intermediate_size, SEQ_LEN + NUM_VIRTUAL_TOKENS, 0);
  check_rule_on("prompt-tuning gradient", ours, reference, count,
                conformance_gradient_length(forward, &v->info, BATCH * (SEQ_LEN + NUM_VIRTUAL_TOKENS)));
  free(ours);
  free(reference);
  sp_adapter_free(adapter);
}

static void mpt_factor_gradients(void** state) {
  variant* v = (variant*)*state;
  char folder[768];
  sp_adapter_params params = sp_adapter_default_params();
  params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  params.init = SP_INIT_RANDOM;
  params.num_virtual_tokens = METHOD_TOKENS;
  params.seed = METHOD_SEED;
  params.num_tasks = MPT_TASKS;
  params.num_ranks = MPT_RANKS;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, v->model, &params));
  int32_t task_ids[BATCH] = {0, 1, 2};
  sp_batch batch = v->batch;
  batch.task_ids = task_ids;
  batch.num_task_ids = BATCH;
  snprintf(folder, sizeof folder, "%s/%s/mpt_source", methods_root, v->name);
  /* test_methods.c's length: the rank product in front of the transformer */
  const double forward = conformance_forward_length(&v->info, v->intermediate_size, SEQ_LEN + METHOD_TOKENS, MPT_RANKS);
  const double n = conformance_gradient_length(forward, &v->info, BATCH * (SEQ_LEN + METHOD_TOKENS));

  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = LEARNING_RATE;
  trainer_params.weight_decay = WEIGHT_DECAY;
  trainer_params.eps = ADAMW_EPS;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &trainer_params));
  SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  const char* const factors[] = {"prefix_task_cols", "prefix_task_rows"};
  for (int f = 0; f < 2; ++f) {
    char name[64], label[96];
    size_t count = 0;
    SP_CHECK(sp_adapter_parameter_size(adapter, factors[f], &count));
    float* ours = malloc(count * sizeof(float));
    SP_CHECK(sp_trainer_get_gradient(trainer, factors[f], ours, count));
    snprintf(name, sizeof name, "grad__%s.f32", factors[f]);
    float* reference = read_floats(folder, name, count);
    snprintf(label, sizeof label, "MPT gradient of %s", factors[f]);
    check_rule_on(label, ours, reference, count, n);
    free(ours);
    free(reference);
  }
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
}

#define VARIANT_TESTS(index)                                                                  \
  cmocka_unit_test_prestate_setup_teardown(prompt_tuning_gradient, reference_variant_setup,   \
                                           reference_variant_teardown, &variants[index]),     \
      cmocka_unit_test_prestate_setup_teardown(mpt_factor_gradients, reference_variant_setup, \
                                               reference_variant_teardown, &variants[index])

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder> <reference-folder> <methods-reference-folder>",
                             (const char**[]){&models_root, &reference_root, &methods_root}, 3))
    return 2;
  for (int i = 0; i < 4; ++i) {
    variants[i].name = variant_names[i];
    variants[i].models_root = models_root;
    variants[i].reference_root = reference_root;
  }
  const struct CMUnitTest tests[] = {VARIANT_TESTS(0), VARIANT_TESTS(1), VARIANT_TESTS(2), VARIANT_TESTS(3)};
  return cmocka_run_group_tests_name("the tolerance rule rejects a 1e-3 error in one gradient element", tests, NULL,
                                     NULL);
}
