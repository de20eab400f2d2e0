/*
 * Training through the C API: the loss falls, runs are reproducible bit for bit, gradient
 * accumulation and the schedule behave as documented, and threads share one model safely.
 *
 *   test_training <models-folder>
 */
#include <pthread.h>

#include "test_support.h"

static const char* models_root;

enum { ROWS = 4, SEQ = 10 };

/* A fixed small task: four token sequences to be continued. */
static void task_ids(int32_t* ids) {
  uint32_t state = 99u;
  for (int i = 0; i < ROWS * SEQ; ++i) {
    state = state * 1103515245u + 12345u;
    ids[i] = (int32_t)(3 + (state >> 10) % 250u);
  }
}

static sp_batch make_batch(const int32_t* ids, int rows) {
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.batch_size = rows;
  batch.seq_len = SEQ;
  batch.num_input_ids = (size_t)rows * SEQ;
  return batch;
}

static sp_model* load(const char* variant) { return load_test_model(models_root, variant); }

static sp_adapter* new_adapter(sp_model* model, uint64_t seed) {
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 8;
  params.init = SP_INIT_SAMPLE_VOCAB;
  params.seed = seed;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  return adapter;
}

static float train(sp_adapter* adapter, const sp_batch* batch, int steps, double lr) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = lr;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  sp_train_result result;
  result.struct_size = sizeof result;
  for (int i = 0; i < steps; ++i) SP_CHECK(sp_trainer_step(trainer, batch, &result));
  sp_trainer_free(trainer);
  float loss = 0;
  SP_CHECK(sp_adapter_eval_loss(adapter, batch, &loss, NULL));
  return loss;
}

static void check_learning(const char* variant) {
  sp_model* model = load(variant);
  int32_t ids[ROWS * SEQ];
  task_ids(ids);
  sp_batch batch = make_batch(ids, ROWS);
  sp_adapter* adapter = new_adapter(model, 1);
  float start = 0;
  SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &start, NULL));
  float end = train(adapter, &batch, 200, 0.1);
  printf("    %-10s loss %.4f -> %.4f after 200 steps (%.0f%% of the start)\n", variant, start, end,
         100.0 * end / start);
  assert_true(end < 0.5f * start);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

static void two_hundred_steps_halve_the_loss_on_llama(void** state) {
  (void)state;
  check_learning("llama");
}

static void two_hundred_steps_halve_the_loss_on_gpt2(void** state) {
  (void)state;
  check_learning("gpt2");
}

/* Each method, its settings, and the steps and learning rate it gets to halve the task's loss. */
typedef struct learning_case {
  const char* label;
  sp_method method;
  int prefix_projection, lstm, num_tasks, steps;
  double learning_rate;
} learning_case;

static const learning_case learning_cases[] = {
    {"prefix tuning", SP_METHOD_PREFIX_TUNING, 0, 0, 1, 200, 0.05},
    {"prefix tuning + projection", SP_METHOD_PREFIX_TUNING, 1, 0, 1, 200, 3e-3},
    {"P-tuning (MLP)", SP_METHOD_P_TUNING, 0, 0, 1, 200, 3e-3},
    {"P-tuning (LSTM)", SP_METHOD_P_TUNING, 0, 1, 1, 200, 3e-3},
    {"multitask prompt tuning", SP_METHOD_MULTITASK_PROMPT_TUNING, 0, 0, 2, 200, 0.1},
};

static void every_method_halves_the_loss(void** state) {
  (void)state;
  const char* variants[] = {"llama", "gpt2"};
  int32_t ids[ROWS * SEQ];
  task_ids(ids);
  int32_t tasks[ROWS] = {0, 1, 0, 1};
  for (int v = 0; v < 2; ++v) {
    sp_model* model = load(variants[v]);
    sp_batch batch = make_batch(ids, ROWS);
    batch.task_ids = tasks;
    batch.num_task_ids = ROWS;
    for (size_t c = 0; c < sizeof learning_cases / sizeof learning_cases[0]; ++c) {
      const learning_case* lc = &learning_cases[c];
      sp_adapter_params params = sp_adapter_default_params();
      params.method = lc->method;
      params.num_virtual_tokens = 8;
      params.seed = 1;
      params.prefix_projection = lc->prefix_projection;
      params.encoder_type = lc->lstm ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
      params.num_tasks = lc->num_tasks;
      sp_adapter* adapter = NULL;
      SP_CHECK(sp_adapter_create(&adapter, model, &params));
      float start = 0;
      SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &start, NULL));
      float end = train(adapter, &batch, lc->steps, lc->learning_rate);
      printf("    %-6s %-28s loss %.4f -> %.4f after %d steps at lr %g (%.0f%% of the start)\n", variants[v], lc->label,
             start, end, lc->steps, lc->learning_rate, 100.0 * end / start);
      if (!(end < 0.5f * start))
        fail_msg("%s on %s: loss %.4f did not fall below half of %.4f", lc->label, variants[v], end, start);
      sp_adapter_free(adapter);
    }
    sp_model_free(model);
  }
}

static void same_seed_gives_bit_identical_runs(void** state) {
  (void)state;
  if (!running_on_cpu_float32()) skip(); /* bit-reproducibility is promised for CPU runs */
  sp_model* model = load("qwen2");
  int32_t ids[ROWS * SEQ];
  task_ids(ids);
  sp_batch batch = make_batch(ids, ROWS);
  float* tables[3];
  size_t count = 0;
  for (int run = 0; run < 3; ++run) {
    sp_adapter* adapter = new_adapter(model, run < 2 ? 5 : 6);
    train(adapter, &batch, 20, 0.05);
    SP_CHECK(sp_adapter_parameter_size(adapter, "embedding.weight", &count));
    tables[run] = malloc(count * sizeof(float));
    SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", tables[run], count));
    sp_adapter_free(adapter);
  }
  assert_memory_equal(tables[0], tables[1], count * sizeof(float));
  assert_true(max_abs_diff(tables[0], tables[2], count) > 1e-3); /* another seed, another prompt */
  for (int run = 0; run < 3; ++run) free(tables[run]);
  sp_model_free(model);
}

static void accumulating_two_halves_equals_one_full_batch(void** state) {
  (void)state;
  sp_model* model = load("llama");
  int32_t ids[ROWS * SEQ];
  task_ids(ids);
  sp_batch full = make_batch(ids, ROWS);
  sp_batch first = make_batch(ids, ROWS / 2);
  sp_batch second = make_batch(ids + (ROWS / 2) * SEQ, ROWS / 2);

  sp_adapter* a = new_adapter(model, 3);
  sp_adapter* b = new_adapter(model, 3);
  sp_trainer_params params = sp_trainer_default_params();
  sp_trainer* whole = NULL;
  SP_CHECK(sp_trainer_create(&whole, a, &params));
  params.accumulation_steps = 2;
  sp_trainer* halves = NULL;
  SP_CHECK(sp_trainer_create(&halves, b, &params));

  sp_train_result result;
  result.struct_size = sizeof result;
  SP_CHECK(sp_trainer_step(whole, &full, &result));
  assert_int_equal(result.updated, 1);
  SP_CHECK(sp_trainer_step(halves, &first, &result));
  assert_int_equal(result.updated, 0);
  assert_int_equal(result.updates_done, 0);
  SP_CHECK(sp_trainer_step(halves, &second, &result));
  assert_int_equal(result.updated, 1);
  assert_int_equal(result.updates_done, 1);

  size_t count = 0;
  SP_CHECK(sp_adapter_parameter_size(a, "embedding.weight", &count));
  float* grad_whole = malloc(count * sizeof(float));
  float* grad_halves = malloc(count * sizeof(float));
  SP_CHECK(sp_trainer_get_gradient(whole, "embedding.weight", grad_whole, count));
  SP_CHECK(sp_trainer_get_gradient(halves, "embedding.weight", grad_halves, count));
  /* Two summation orders of one gradient: the tolerance rule with the gradient's reduction length
   * (8 virtual tokens read at every position of the ROWS rows). */
  char folder[1024];
  sp_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  SP_CHECK(sp_model_get_info(model, &info));
  const int64_t intermediate = model_intermediate_size(test_path(folder, sizeof folder, models_root, "llama"), &info);
  const double forward = conformance_forward_length(&info, intermediate, SEQ + 8, 0);
  ASSERT_CONFORMS("accumulated gradient vs full batch", grad_halves, grad_whole, count,
                  conformance_gradient_length(forward, &info, ROWS * (SEQ + 8)));
  free(grad_whole);
  free(grad_halves);
  sp_trainer_free(whole);
  sp_trainer_free(halves);
  sp_adapter_free(a);
  sp_adapter_free(b);
  sp_model_free(model);
}

static void schedule_warms_up_then_decays_and_clipping_reports_the_norm(void** state) {
  (void)state;
  sp_model* model = load("gpt2");
  int32_t ids[ROWS * SEQ];
  task_ids(ids);
  sp_batch batch = make_batch(ids, ROWS);
  sp_adapter* adapter = new_adapter(model, 4);
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = 0.1;
  params.warmup_steps = 2;
  params.total_steps = 6;
  params.max_grad_norm = 1e-3;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  /* transformers' get_linear_schedule_with_warmup(warmup 2, total 6) at updates 0..6 */
  const float expected[7] = {0.0f, 0.05f, 0.1f, 0.075f, 0.05f, 0.025f, 0.0f};
  size_t count = 0;
  SP_CHECK(sp_adapter_parameter_size(adapter, "embedding.weight", &count));
  float* grad = malloc(count * sizeof(float));
  for (int step = 0; step < 7; ++step) {
    sp_train_result result;
    result.struct_size = sizeof result;
    SP_CHECK(sp_trainer_step(trainer, &batch, &result));
    assert_float_equal(result.learning_rate, expected[step], 1e-7);
    SP_CHECK(sp_trainer_get_gradient(trainer, "embedding.weight", grad, count));
    double norm = 0;
    for (size_t i = 0; i < count; ++i) norm += (double)grad[i] * grad[i];
    assert_float_equal(result.grad_norm, sqrt(norm), 1e-4 * sqrt(norm));
    assert_true(result.grad_norm > params.max_grad_norm); /* the unclipped norm is reported */
  }
  free(grad);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

typedef struct worker {
  sp_model* model;
  uint64_t seed;
  float loss;
  float* table;
  size_t count;
} worker;

static void* train_in_thread(void* argument) {
  worker* w = (worker*)argument;
  int32_t ids[ROWS * SEQ];
  task_ids(ids);
  sp_batch batch = make_batch(ids, ROWS);
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 8;
  params.seed = w->seed;
  sp_adapter* adapter = NULL;
  if (sp_adapter_create(&adapter, w->model, &params) != SP_OK) return NULL;
  sp_trainer* trainer = NULL;
  if (sp_trainer_create(&trainer, adapter, NULL) != SP_OK) return NULL;
  for (int i = 0; i < 15; ++i)
    if (sp_trainer_step(trainer, &batch, NULL) != SP_OK) return NULL;
  sp_adapter_eval_loss(adapter, &batch, &w->loss, NULL);
  sp_adapter_parameter_size(adapter, "embedding.weight", &w->count);
  w->table = malloc(w->count * sizeof(float));
  sp_adapter_get_parameter(adapter, "embedding.weight", w->table, w->count);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  return w;
}

static void two_threads_train_their_own_adapters_on_one_model(void** state) {
  (void)state;
  if (!running_on_cpu_float32()) skip(); /* compares bit for bit, which only CPU runs promise */
  sp_model* model = load("llama-tied");
  worker parallel[2] = {{model, 11, 0, NULL, 0}, {model, 12, 0, NULL, 0}};
  worker serial[2] = {{model, 11, 0, NULL, 0}, {model, 12, 0, NULL, 0}};
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, train_in_thread, &parallel[i]);
  void* results[2];
  for (int i = 0; i < 2; ++i) pthread_join(threads[i], &results[i]);
  for (int i = 0; i < 2; ++i) {
    assert_non_null(results[i]);
    assert_non_null(train_in_thread(&serial[i]));
    /* The same as training alone: nothing leaked between the threads. */
    assert_memory_equal(parallel[i].table, serial[i].table, serial[i].count * sizeof(float));
    free(parallel[i].table);
    free(serial[i].table);
  }
  sp_model_free(model);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder>", (const char**[]){&models_root}, 1)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(two_hundred_steps_halve_the_loss_on_llama),
      cmocka_unit_test(two_hundred_steps_halve_the_loss_on_gpt2),
      cmocka_unit_test(every_method_halves_the_loss),
      cmocka_unit_test(same_seed_gives_bit_identical_runs),
      cmocka_unit_test(accumulating_two_halves_equals_one_full_batch),
      cmocka_unit_test(schedule_warms_up_then_decays_and_clipping_reports_the_norm),
      cmocka_unit_test(two_threads_train_their_own_adapters_on_one_model),
  };
  return cmocka_run_group_tests_name("training", tests, NULL, NULL);
}
