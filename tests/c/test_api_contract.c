/*
 * The parts of the C ABI contract that concern object lifetimes, struct versions and what an
 * adapter reports about itself:
 *   - a handle freed on one thread while another thread is inside a call on it (no use-after-free:
 *     the call holds its own reference; run under AddressSanitizer in the asan build);
 *   - parameter structs larger than the library knows are refused unless their tail is zero;
 *   - result structs have init functions;
 *   - an adapter reports its model's vocabulary size and the shape of every trainable tensor;
 *   - non-finite trainer parameters are refused;
 *   - the gradient an update used is the mean over its micro-batches;
 *   - an allocation LibTorch cannot make during a forward pass is SP_ERR_OUT_OF_MEMORY;
 *   - sp_logits_count gives exactly the size a logits call needs;
 *   - the function names before 0.4 still work, forwarding to their replacements.
 *
 *   test_api_contract <models-folder>
 */
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

static const char* models_root;

#define SEQ 6

static sp_batch batch_of(int32_t* ids, int32_t rows, int32_t first_id) {
  for (int32_t i = 0; i < rows * SEQ; ++i) ids[i] = (first_id + 7 * i) % 200 + 1;
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.num_input_ids = (size_t)rows * SEQ;
  batch.batch_size = rows;
  batch.seq_len = SEQ;
  return batch;
}

static sp_adapter* make_adapter(sp_model* model, sp_method method, int lstm, int32_t num_tasks) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = method;
  params.num_virtual_tokens = 3;
  params.encoder_hidden_size = 16;
  params.encoder_type = lstm ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  params.num_tasks = num_tasks;
  params.num_ranks = 2;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  return adapter;
}

/* --- logits sizes and the names before 0.4 ------------------------------------------------- */

static void logits_count_sizes_every_logits_buffer(void** state) {
  (void)state;
  size_t count = 0;
  SP_CHECK(sp_logits_count(100, 3, 5, SP_LOGITS_LAST, &count));
  assert_int_equal(count, 3 * 100);
  SP_CHECK(sp_logits_count(100, 3, 5, SP_LOGITS_ALL, &count));
  assert_int_equal(count, 3 * 5 * 100);
  SP_EXPECT_ERROR(sp_logits_count(100, 3, 5, (sp_logits_mode)7, &count), SP_ERR_INVALID_ARGUMENT, "sp_logits_mode");
  SP_EXPECT_ERROR(sp_logits_count(100, 0, 5, SP_LOGITS_LAST, &count), SP_ERR_INVALID_ARGUMENT, "batch_size");
  SP_EXPECT_ERROR(sp_logits_count(100, 3, -1, SP_LOGITS_ALL, &count), SP_ERR_INVALID_ARGUMENT, "seq_len");
  SP_EXPECT_ERROR(sp_logits_count(0, 3, 5, SP_LOGITS_ALL, &count), SP_ERR_INVALID_ARGUMENT, "vocab_size");
  SP_EXPECT_ERROR(sp_logits_count(100, 3, 5, SP_LOGITS_ALL, NULL), SP_ERR_INVALID_ARGUMENT, "count");
  /* 2^62 * 2^31 * 2^31 floats cannot be counted in size_t. */
  SP_EXPECT_ERROR(sp_logits_count(INT64_C(1) << 62, INT32_MAX, INT32_MAX, SP_LOGITS_ALL, &count), SP_ERR_OUT_OF_RANGE,
                  "do not fit");

  /* The count is exactly what a logits call needs: one float less is BUFFER_TOO_SMALL. */
  sp_model* model = load_test_model(models_root, "llama");
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  sp_adapter* adapter = make_adapter(model, SP_METHOD_PROMPT_TUNING, 0, 1);
  int32_t ids[2 * SEQ];
  const sp_batch batch = batch_of(ids, 2, 3);
  SP_CHECK(sp_logits_count(info.vocab_size, 2, SEQ, SP_LOGITS_ALL, &count));
  float* out = malloc(count * sizeof(float));
  assert_non_null(out);
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, out, count));
  SP_EXPECT_ERROR(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, out, count - 1), SP_ERR_BUFFER_TOO_SMALL, "need");
  SP_EXPECT_ERROR(sp_model_logits(model, &batch, SP_LOGITS_ALL, out, count - 1), SP_ERR_BUFFER_TOO_SMALL, "need");
  free(out);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* The names before 0.4 forward to their replacements: same results, same errors. */
static void the_names_before_0_4_still_work(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  sp_adapter* adapter = make_adapter(model, SP_METHOD_PROMPT_TUNING, 0, 1);
  int32_t ids[2 * SEQ];
  const sp_batch batch = batch_of(ids, 2, 5);
  const size_t count = (size_t)(2 * info.vocab_size);
  float* old_out = malloc(count * sizeof(float));
  float* new_out = malloc(count * sizeof(float));
  assert_non_null(old_out);
  assert_non_null(new_out);
  SP_CHECK(sp_logits(adapter, &batch, SP_LOGITS_LAST, old_out, count));
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_LAST, new_out, count));
  assert_memory_equal(old_out, new_out, count * sizeof(float));
  float old_loss = 0, new_loss = 0;
  SP_CHECK(sp_eval_loss(adapter, &batch, &old_loss, NULL));
  SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &new_loss, NULL));
  assert_memory_equal(&old_loss, &new_loss, sizeof(float));
  SP_EXPECT_ERROR(sp_logits(adapter, &batch, SP_LOGITS_LAST, old_out, count - 1), SP_ERR_BUFFER_TOO_SMALL, "need");
  SP_EXPECT_ERROR(sp_save_adapter(adapter, ""), SP_ERR_INVALID_ARGUMENT, "must not be empty");
  SP_EXPECT_ERROR(sp_save_adapter_file(adapter, NULL), SP_ERR_INVALID_ARGUMENT, "path");
  sp_adapter* loaded = NULL;
  SP_EXPECT_ERROR(sp_load_adapter(&loaded, model, "/nonexistent/adapter"), SP_ERR_NOT_FOUND, "/nonexistent/adapter");
  SP_EXPECT_ERROR(sp_load_adapter_file(&loaded, model, "/nonexistent/adapter.spa"), SP_ERR_NOT_FOUND, "adapter.spa");
  assert_null(loaded);
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
  sp_train_result result = sp_train_result_init();
  SP_CHECK(sp_train_step(trainer, &batch, &result));
  assert_int_equal(result.updates_done, 1);
  sp_trainer_free(trainer);
  free(old_out);
  free(new_out);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* --- a free racing a call ----------------------------------------------------------------- */

typedef struct racer {
  sp_adapter* adapter;
  sp_batch batch;
  volatile int started;
  int ok_calls, invalid_handle_calls, other_failures;
} racer;

static void* evaluate_until_freed(void* argument) {
  racer* r = (racer*)argument;
  for (int i = 0; i < 400; ++i) {
    float loss = 0;
    r->started = 1;
    sp_status status = sp_adapter_eval_loss(r->adapter, &r->batch, &loss, NULL);
    if (status == SP_OK)
      ++r->ok_calls;
    else if (status == SP_ERR_INVALID_HANDLE)
      ++r->invalid_handle_calls;
    else
      ++r->other_failures;
    if (status == SP_ERR_INVALID_HANDLE) break;
  }
  return NULL;
}

/* The free lands at a different moment of the other thread's call in each round (a sweep of delays
 * over the argument checks and the forward pass): against the library before calls held their own
 * reference, AddressSanitizer reports a heap-use-after-free within the first rounds. */
#define RACE_ROUNDS 200
#define RACE_ROWS 32

static void freeing_an_adapter_during_a_call_on_another_thread_is_safe(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  static int32_t ids[RACE_ROWS * SEQ];
  int total_ok = 0, total_invalid = 0;
  for (int round = 0; round < RACE_ROUNDS; ++round) {
    racer r;
    memset(&r, 0, sizeof r);
    r.adapter = make_adapter(model, round % 2 ? SP_METHOD_P_TUNING : SP_METHOD_PREFIX_TUNING, round % 4 == 1, 1);
    r.batch = batch_of(ids, RACE_ROWS, round);
    pthread_t thread;
    pthread_create(&thread, NULL, evaluate_until_freed, &r);
    while (!r.started) sched_yield();
    for (volatile int spin = 0; spin < (round * 37) % 3000; ++spin) {
    }
    sp_adapter_free(r.adapter); /* the evaluating thread may be inside sp_adapter_eval_loss right now */
    pthread_join(thread, NULL);
    assert_int_equal(r.other_failures, 0);
    total_ok += r.ok_calls;
    total_invalid += r.invalid_handle_calls;
  }
  printf("    %d frees during calls: %d calls completed, %d later calls saw SP_ERR_INVALID_HANDLE\n", RACE_ROUNDS,
         total_ok, total_invalid);
  assert_int_equal(total_invalid, RACE_ROUNDS); /* every thread learns of the free at its next call */
  sp_model_free(model);
}

/* --- growable structs ---------------------------------------------------------------------- */

typedef struct newer_model_params {
  sp_model_params known;
  int64_t field_from_the_future;
  int64_t another_field;
} newer_model_params;

static void larger_structs_are_refused_unless_their_tail_is_zero(void** state) {
  (void)state;
  char folder[1024];
  test_path(folder, sizeof folder, models_root, "llama");
  newer_model_params params;
  memset(&params, 0, sizeof params);
  params.known = test_model_params();
  params.known.struct_size = sizeof params;
  sp_model* model = NULL;
  SP_CHECK(sp_model_create(&model, folder, (const sp_model_params*)&params));
  sp_model_free(model);

  params.field_from_the_future = 1;
  SP_EXPECT_ERROR(sp_model_create(&model, folder, (const sp_model_params*)&params), SP_ERR_INVALID_ARGUMENT,
                  "beyond the");
  assert_null(model);

  /* The same rule for every input struct: a batch and trainer parameters. */
  model = load_test_model(models_root, "llama");
  sp_adapter* adapter = make_adapter(model, SP_METHOD_PROMPT_TUNING, 0, 1);
  int32_t ids[2 * SEQ];
  struct {
    sp_batch known;
    int32_t future;
  } batch;
  memset(&batch, 0, sizeof batch);
  batch.known = batch_of(ids, 2, 1);
  batch.known.struct_size = sizeof batch;
  float loss = 0;
  SP_CHECK(sp_adapter_eval_loss(adapter, (const sp_batch*)&batch, &loss, NULL));
  batch.future = 7;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(adapter, (const sp_batch*)&batch, &loss, NULL), SP_ERR_INVALID_ARGUMENT,
                  "sp_batch");

  struct {
    sp_trainer_params known;
    double future;
  } trainer_params;
  memset(&trainer_params, 0, sizeof trainer_params);
  trainer_params.known = sp_trainer_default_params();
  trainer_params.known.struct_size = sizeof trainer_params;
  trainer_params.future = 0.5;
  sp_trainer* trainer = NULL;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, (const sp_trainer_params*)&trainer_params),
                  SP_ERR_INVALID_ARGUMENT, "sp_trainer_params");
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* allow_tf32 takes 0 or 1 (on the CPU it changes nothing: the logits are identical). */
static void allow_tf32_takes_zero_or_one(void** state) {
  (void)state;
  char folder[1024];
  test_path(folder, sizeof folder, models_root, "llama");
  sp_model_params params = test_model_params();
  assert_int_equal(params.allow_tf32, 0); /* float32 stays float32 unless asked */
  sp_model* model = NULL;
  params.allow_tf32 = 2;
  SP_EXPECT_ERROR(sp_model_create(&model, folder, &params), SP_ERR_INVALID_ARGUMENT, "allow_tf32");
  params.allow_tf32 = -1;
  SP_EXPECT_ERROR(sp_model_create(&model, folder, &params), SP_ERR_INVALID_ARGUMENT, "allow_tf32");
  assert_null(model);
  params.allow_tf32 = 1;
  SP_CHECK(sp_model_create(&model, folder, &params));
  sp_model_free(model);
}

/* On CUDA, a float32 model computes in float32 unless allow_tf32 is 1: its logits agree with the
 * CPU's by the tolerance rule, and allowing TF32 changes them (so the switch reaches LibTorch, and
 * the default is not TF32: were it, both runs would be the same computation, bit for bit). A
 * 768-wide model so that cuBLAS runs tensor-core kernels, and a P-tuning LSTM for cuDNN. Skipped
 * without a GPU. */
static void float32_on_cuda_is_float32_unless_tf32_is_allowed(void** state) {
  (void)state;
  if (sp_cuda_device_count() == 0) {
    printf("    no CUDA device: skipped\n");
    skip();
    return;
  }
  char folder[1024];
  test_path(folder, sizeof folder, models_root, "gpt2-small-shape");
  enum { ROWS = 2, LENGTH = 16 };
  int32_t ids[ROWS * LENGTH];
  sp_batch batch = batch_of(ids, ROWS, 5);
  batch.seq_len = LENGTH;
  batch.num_input_ids = ROWS * LENGTH;
  for (int i = 0; i < ROWS * LENGTH; ++i) ids[i] = (7 * i + 3) % 200 + 1;
  float* logits[3] = {NULL, NULL, NULL}; /* CPU, CUDA float32, CUDA with TF32 allowed */
  size_t count = 0;
  for (int run = 0; run < 3; ++run) {
    sp_model_params params = sp_model_default_params();
    params.device = run == 0 ? SP_DEVICE_CPU : SP_DEVICE_CUDA;
    params.allow_tf32 = run == 2;
    sp_model* model = NULL;
    SP_CHECK(sp_model_create(&model, folder, &params));
    sp_adapter* adapter = make_adapter(model, SP_METHOD_P_TUNING, 1, 1); /* same seed: the same tables */
    sp_model_info info = sp_model_info_init();
    SP_CHECK(sp_model_get_info(model, &info));
    count = (size_t)ROWS * LENGTH * (size_t)info.vocab_size;
    logits[run] = malloc(count * sizeof(float));
    SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, logits[run], count));
    sp_adapter_free(adapter);
    sp_model_free(model);
  }
  sp_model* model = NULL;
  SP_CHECK(sp_model_create(&model, folder, NULL));
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  const double encoder = conformance_ptuning_encoder_length(1, 3, (double)info.hidden_size, 16);
  const double n = conformance_forward_length(&info, model_intermediate_size(folder, &info), 3 + LENGTH, encoder);
  sp_model_free(model);
  ASSERT_CONFORMS("CUDA float32 logits vs CPU", logits[1], logits[0], count, n);
  const double tf32_change = max_abs_diff(logits[2], logits[1], count);
  printf("    allowing TF32 changes the logits by %.3g\n", tf32_change);
  assert_true(tf32_change > 0);
  for (int run = 0; run < 3; ++run) free(logits[run]);
}

static void result_structs_have_init_functions(void** state) {
  (void)state;
  sp_model_info model_info = sp_model_info_init();
  sp_adapter_info adapter_info = sp_adapter_info_init();
  sp_train_result result = sp_train_result_init();
  assert_int_equal(model_info.struct_size, sizeof model_info);
  assert_int_equal(adapter_info.struct_size, sizeof adapter_info);
  assert_int_equal(result.struct_size, sizeof result);
  assert_int_equal(model_info.vocab_size, 0);
  assert_int_equal(adapter_info.num_virtual_tokens, 0);
  assert_int_equal(result.updates_done, 0);

  sp_model* model = load_test_model(models_root, "llama");
  SP_CHECK(sp_model_get_info(model, &model_info));
  assert_true(model_info.vocab_size > 0);
  sp_model_free(model);
}

/* --- what an adapter reports --------------------------------------------------------------- */

static int64_t product(const int64_t* dims, size_t count) {
  int64_t total = 1;
  for (size_t i = 0; i < count; ++i) total *= dims[i];
  return total;
}

static void expect_shape(sp_adapter* adapter, const char* name, size_t rank, int64_t d0, int64_t d1, int64_t d2) {
  int64_t dims[SP_MAX_PARAMETER_DIMS];
  size_t num_dims = 0;
  SP_CHECK(sp_adapter_parameter_shape(adapter, name, dims, SP_MAX_PARAMETER_DIMS, &num_dims));
  assert_int_equal(num_dims, rank);
  const int64_t expected[3] = {d0, d1, d2};
  for (size_t i = 0; i < rank; ++i)
    if (dims[i] != expected[i])
      fail_msg("%s: dimension %zu is %lld, expected %lld", name, i, (long long)dims[i], (long long)expected[i]);
}

static void adapters_report_vocabulary_and_tensor_shapes(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  sp_model_info model_info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &model_info));
  const int64_t d = model_info.hidden_size;

  const struct {
    sp_method method;
    int lstm;
    int32_t tasks;
  } kinds[] = {{SP_METHOD_PROMPT_TUNING, 0, 1},
               {SP_METHOD_PREFIX_TUNING, 0, 1},
               {SP_METHOD_P_TUNING, 0, 1},
               {SP_METHOD_P_TUNING, 1, 1},
               {SP_METHOD_MULTITASK_PROMPT_TUNING, 0, 3}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
    sp_adapter* adapter = make_adapter(model, kinds[k].method, kinds[k].lstm, kinds[k].tasks);
    sp_adapter_info info = sp_adapter_info_init();
    SP_CHECK(sp_adapter_get_info(adapter, &info));
    assert_int_equal(info.vocab_size, model_info.vocab_size);
    int64_t total = 0;
    for (int32_t i = 0; i < info.num_parameter_tensors; ++i) {
      const char* name = NULL;
      SP_CHECK(sp_adapter_parameter_name(adapter, i, &name));
      int64_t dims[SP_MAX_PARAMETER_DIMS];
      size_t num_dims = 0, count = 0;
      SP_CHECK(sp_adapter_parameter_shape(adapter, name, dims, SP_MAX_PARAMETER_DIMS, &num_dims));
      SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
      assert_true(num_dims >= 1 && num_dims <= SP_MAX_PARAMETER_DIMS);
      assert_int_equal(product(dims, num_dims), (int64_t)count);
      total += (int64_t)count;
    }
    assert_int_equal(total, info.num_trainable_parameters);
    /* The layouts a client must otherwise know from PEFT's sources. */
    if (kinds[k].lstm) {
      expect_shape(adapter, "lstm_head.weight_ih_l0", 2, 4 * 16, d, 0);
      expect_shape(adapter, "lstm_head.weight_ih_l1_reverse", 2, 4 * 16, 2 * 16, 0);
      expect_shape(adapter, "lstm_head.bias_hh_l0", 1, 4 * 16, 0, 0);
    }
    if (kinds[k].method == SP_METHOD_MULTITASK_PROMPT_TUNING) {
      expect_shape(adapter, "prefix_task_cols", 3, 3, 3, 2);
      expect_shape(adapter, "prefix_task_rows", 3, 3, 2, d);
    }
    if (kinds[k].method == SP_METHOD_PROMPT_TUNING) expect_shape(adapter, "embedding.weight", 2, 3, d, 0);

    int64_t small[1];
    size_t num_dims = 0;
    SP_EXPECT_ERROR(sp_adapter_parameter_shape(adapter, "embedding.weight", small, 1, &num_dims),
                    SP_ERR_BUFFER_TOO_SMALL, "dimensions");
    assert_int_equal(num_dims, 2);
    SP_EXPECT_ERROR(sp_adapter_parameter_shape(adapter, "no.such.tensor", small, 1, &num_dims), SP_ERR_NOT_FOUND,
                    "no.such.tensor");
    SP_EXPECT_ERROR(sp_adapter_parameter_shape(adapter, "embedding.weight", NULL, 0, NULL), SP_ERR_INVALID_ARGUMENT,
                    "num_dims");
    sp_adapter_free(adapter);
  }
  sp_model_free(model);
}

/* --- trainers ------------------------------------------------------------------------------ */

static void non_finite_trainer_parameters_are_refused(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  sp_adapter* adapter = make_adapter(model, SP_METHOD_PROMPT_TUNING, 0, 1);
  sp_trainer* trainer = NULL;
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = INFINITY;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, &params), SP_ERR_INVALID_ARGUMENT, "learning_rate");
  params.learning_rate = NAN;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, &params), SP_ERR_INVALID_ARGUMENT, "finite");
  params = sp_trainer_default_params();
  params.weight_decay = INFINITY;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, &params), SP_ERR_INVALID_ARGUMENT, "weight_decay");
  params = sp_trainer_default_params();
  params.max_grad_norm = NAN;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, &params), SP_ERR_INVALID_ARGUMENT, "max_grad_norm");
  params = sp_trainer_default_params();
  params.eps = INFINITY;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, adapter, &params), SP_ERR_INVALID_ARGUMENT, "eps");
  assert_null(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* The gradient of one update over two micro-batches A and B is (g_A + g_B) / 2, where g_A and g_B
 * are the gradients of single-micro-batch updates from the same starting prompt. */
static void the_gradient_of_an_update_is_the_mean_over_its_micro_batches(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  int32_t ids_a[2 * SEQ], ids_b[3 * SEQ];
  sp_batch a = batch_of(ids_a, 2, 3), b = batch_of(ids_b, 3, 50);
  sp_adapter* adapters[3];
  sp_trainer* trainers[3];
  for (int i = 0; i < 3; ++i) {
    adapters[i] = make_adapter(model, SP_METHOD_PROMPT_TUNING, 0, 1); /* seed 0: the same start */
    sp_trainer_params params = sp_trainer_default_params();
    params.accumulation_steps = i == 2 ? 2 : 1;
    SP_CHECK(sp_trainer_create(&trainers[i], adapters[i], &params));
  }
  sp_train_result result = sp_train_result_init();
  SP_CHECK(sp_trainer_step(trainers[0], &a, &result));
  SP_CHECK(sp_trainer_step(trainers[1], &b, &result));
  SP_CHECK(sp_trainer_step(trainers[2], &a, &result));
  assert_int_equal(result.updated, 0);
  SP_CHECK(sp_trainer_step(trainers[2], &b, &result));
  assert_int_equal(result.updated, 1);

  size_t count = 0;
  SP_CHECK(sp_adapter_parameter_size(adapters[0], "embedding.weight", &count));
  float* g[3];
  for (int i = 0; i < 3; ++i) {
    g[i] = malloc(count * sizeof(float));
    SP_CHECK(sp_trainer_get_gradient(trainers[i], "embedding.weight", g[i], count));
  }
  float* mean = malloc(count * sizeof(float));
  float* sum = malloc(count * sizeof(float));
  double squared_norm = 0;
  for (size_t i = 0; i < count; ++i) {
    mean[i] = 0.5f * (g[0][i] + g[1][i]);
    sum[i] = g[0][i] + g[1][i];
    squared_norm += (double)g[2][i] * g[2][i];
  }
  /* Reduction length: the gradient of the prompt table, read once per row of the larger batch. */
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  char folder[1024];
  const double forward = conformance_forward_length(
      &info, model_intermediate_size(test_path(folder, sizeof folder, models_root, "llama"), &info), SEQ + 3, 0.0);
  const double n = conformance_gradient_length(forward, &info, 3);
  ASSERT_CONFORMS("accumulated gradient vs mean of micro-batch gradients", g[2], mean, count, n);
  /* Not the sum: the sum lies |mean| away from the mean, so the accumulated gradient must be much
   * nearer the mean than the sum (a dtype-independent check; in bfloat16 the rule's bound can exceed
   * |mean| itself). */
  assert_true(max_abs_diff(g[2], mean, count) < 0.25 * max_abs_diff(g[2], sum, count));
  printf("    grad_norm reported %.6g, norm of the mean gradient %.6g\n", (double)result.grad_norm, sqrt(squared_norm));
  assert_true(fabs(result.grad_norm - sqrt(squared_norm)) <= 1e-5 * sqrt(squared_norm));
  for (int i = 0; i < 3; ++i) {
    free(g[i]);
    sp_trainer_free(trainers[i]);
    sp_adapter_free(adapters[i]);
  }
  free(mean);
  free(sum);
  sp_model_free(model);
}

/* --- allocation failures ------------------------------------------------------------------ */

/* Bytes of address space this process has mapped (from /proc/self/statm). */
static size_t mapped_bytes(void) {
  FILE* file = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (!file || fscanf(file, "%lu", &pages) != 1) fail_msg("cannot read /proc/self/statm");
  fclose(file);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* A forward pass whose activations do not fit: the process may map only 64 MiB more than it has
 * after loading the model, and a 128 x 256 batch needs far more (attention scores alone are
 * 128 MiB). LibTorch's allocator reports that as a plain c10::Error; the C ABI must say
 * SP_ERR_OUT_OF_MEMORY, not BACKEND. Runs in a fresh process (this program re-executed): a forked
 * copy of a process whose OpenMP pool has started can hang in its first parallel region. */
static int run_out_of_memory_child(void) {
  sp_model* model = NULL;
  char folder[1024];
  /* On the CPU whatever SP_TEST_DEVICE says: this is LibTorch's CPU allocator failing (a CUDA
   * context could not even start under this address-space limit). */
  if (sp_model_create(&model, test_path(folder, sizeof folder, models_root, "llama"), NULL) != SP_OK) return 100;
  enum { ROWS = 128, LENGTH = 256 };
  int32_t* ids = malloc(sizeof(int32_t) * ROWS * LENGTH);
  for (int i = 0; i < ROWS * LENGTH; ++i) ids[i] = i % 200 + 1;
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.num_input_ids = (size_t)ROWS * LENGTH;
  batch.batch_size = ROWS;
  batch.seq_len = LENGTH;
  struct rlimit limit;
  limit.rlim_cur = limit.rlim_max = mapped_bytes() + (64u << 20);
  setrlimit(RLIMIT_AS, &limit);
  float loss = 0;
  sp_status status = sp_model_eval_loss(model, &batch, &loss, NULL);
  fprintf(stderr, "    child: %s: %.160s\n", sp_status_string(status), sp_last_error());
  return (int)status;
}

static void a_failed_allocation_in_a_forward_pass_is_out_of_memory(void** state) {
  (void)state;
#if defined(__SANITIZE_ADDRESS__)
  skip(); /* AddressSanitizer reserves terabytes of shadow memory: an address-space limit breaks it */
#else
  fflush(NULL);
  pid_t child = fork();
  if (child == 0) {
    alarm(120);
    execl("/proc/self/exe", "test_api_contract", "--out-of-memory-child", models_root, (char*)NULL);
    _exit(101);
  }
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  if (!WIFEXITED(wait_status)) fail_msg("the child did not exit normally (signal %d)", WTERMSIG(wait_status));
  assert_int_equal(WEXITSTATUS(wait_status), SP_ERR_OUT_OF_MEMORY);
#endif
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--out-of-memory-child") == 0) {
    models_root = argv[2];
    return run_out_of_memory_child();
  }
  if (!read_folder_arguments(argc, argv, "<models-folder>", (const char**[]){&models_root}, 1)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(freeing_an_adapter_during_a_call_on_another_thread_is_safe),
      cmocka_unit_test(larger_structs_are_refused_unless_their_tail_is_zero),
      cmocka_unit_test(allow_tf32_takes_zero_or_one),
      cmocka_unit_test(float32_on_cuda_is_float32_unless_tf32_is_allowed),
      cmocka_unit_test(result_structs_have_init_functions),
      cmocka_unit_test(adapters_report_vocabulary_and_tensor_shapes),
      cmocka_unit_test(non_finite_trainer_parameters_are_refused),
      cmocka_unit_test(the_gradient_of_an_update_is_the_mean_over_its_micro_batches),
      cmocka_unit_test(a_failed_allocation_in_a_forward_pass_is_out_of_memory),
      cmocka_unit_test(logits_count_sizes_every_logits_buffer),
      cmocka_unit_test(the_names_before_0_4_still_work),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
