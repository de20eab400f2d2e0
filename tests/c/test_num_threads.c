/*
 * The process-wide thread count (sp_set_num_threads, sp_get_num_threads):
 *   - a count comes back as set, and 0 restores the count reported before any setting;
 *   - negative and absurd counts (and a NULL out) are refused with the value named, changing nothing;
 *   - the logits with one thread and with two agree by the tolerance rule;
 *   - calls from other threads (one started before the setting, which had computed with the default,
 *     and one started after) succeed and give the logits of the calling thread's one-thread call;
 *     where LibTorch runs on OpenMP, each calling thread's OpenMP count after its call is the
 *     setting (OpenMP keeps one per thread: the library must apply the setting in every thread).
 *
 *   test_num_threads <models-folder>
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>

#include "test_support.h"

static const char* models_root;
static int32_t count_before_any_setting = -1; /* read in main(), before any test sets anything */

#define ROWS 2
#define SEQ 16

typedef struct logits_call {
  sp_model* model;
  int32_t ids[ROWS * SEQ];
  float* out;
  size_t count;
  sp_status status;
  char message[512];
  int openmp_threads; /* the calling thread's OpenMP count after the call; -1 without OpenMP */
} logits_call;

/* omp_get_max_threads of the OpenMP runtime LibTorch loaded (the calling thread's count), or -1 when
 * none is loaded (a LibTorch built without OpenMP). Looked up, not linked: the test must see the
 * runtime LibTorch uses, not one of its own. */
static int openmp_max_threads(void) {
  int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
  return get ? get() : -1;
}

static logits_call* new_logits_call(sp_model* model) {
  logits_call* call = calloc(1, sizeof *call);
  assert_non_null(call);
  call->model = model;
  for (int i = 0; i < ROWS * SEQ; ++i) call->ids[i] = (11 * i + 5) % 250 + 1;
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  SP_CHECK(sp_logits_count(info.vocab_size, ROWS, SEQ, SP_LOGITS_ALL, &call->count));
  call->out = malloc(call->count * sizeof(float));
  assert_non_null(call->out);
  return call;
}

static void free_logits_call(logits_call* call) {
  free(call->out);
  free(call);
}

/* Runs in whatever thread calls it; records the status and message instead of asserting (cmocka's
 * assertions belong to the test's own thread). */
static void* run_logits_call(void* argument) {
  logits_call* call = argument;
  sp_batch batch = sp_batch_init();
  batch.input_ids = call->ids;
  batch.num_input_ids = ROWS * SEQ;
  batch.batch_size = ROWS;
  batch.seq_len = SEQ;
  call->status = sp_model_logits(call->model, &batch, SP_LOGITS_ALL, call->out, call->count);
  snprintf(call->message, sizeof call->message, "%s", sp_last_error());
  call->openmp_threads = openmp_max_threads();
  return NULL;
}

static void check_call(const logits_call* call, const char* where) {
  if (call->status != SP_OK)
    fail_msg("sp_model_logits %s returned %s: %s", where, sp_status_string(call->status), call->message);
}

static int32_t current_count(void) {
  int32_t count = -1;
  SP_CHECK(sp_get_num_threads(&count));
  return count;
}

/* The tolerance rule's reduction length of one forward pass of the llama model over SEQ keys. */
static double forward_length(sp_model* model) {
  char folder[1024];
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  return conformance_forward_length(
      &info, model_intermediate_size(test_path(folder, sizeof folder, models_root, "llama"), &info), SEQ, 0.0);
}

static void a_count_comes_back_as_set_and_zero_restores_the_default(void** state) {
  (void)state;
  assert_true(count_before_any_setting >= 1);
  SP_CHECK(sp_set_num_threads(1));
  assert_int_equal(current_count(), 1);
  SP_CHECK(sp_set_num_threads(3));
  assert_int_equal(current_count(), 3);
  SP_CHECK(sp_set_num_threads(1024));
  assert_int_equal(current_count(), 1024);
  SP_CHECK(sp_set_num_threads(0));
  assert_int_equal(current_count(), count_before_any_setting);
  SP_EXPECT_ERROR(sp_get_num_threads(NULL), SP_ERR_INVALID_ARGUMENT, "out");
}

static void impossible_counts_are_refused_and_change_nothing(void** state) {
  (void)state;
  SP_CHECK(sp_set_num_threads(2));
  const int32_t refused[] = {-1, 1025, 100000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; ++i) {
    char value[16];
    snprintf(value, sizeof value, "%d", (int)refused[i]);
    SP_EXPECT_ERROR(sp_set_num_threads(refused[i]), SP_ERR_INVALID_ARGUMENT, value);
    assert_true(strlen(sp_last_error()) > strlen(value));
    assert_int_equal(current_count(), 2);
  }
  SP_CHECK(sp_set_num_threads(0));
}

static void one_and_two_threads_give_the_same_logits(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  logits_call* one = new_logits_call(model);
  logits_call* two = new_logits_call(model);
  SP_CHECK(sp_set_num_threads(1));
  run_logits_call(one);
  check_call(one, "with one thread");
  SP_CHECK(sp_set_num_threads(2));
  run_logits_call(two);
  check_call(two, "with two threads");
  ASSERT_CONFORMS("two threads vs one", two->out, one->out, one->count, forward_length(model));
  SP_CHECK(sp_set_num_threads(0));
  free_logits_call(one);
  free_logits_call(two);
  sp_model_free(model);
}

/* A worker started before the setting computes once with the default count, waits, and computes
 * again after the main thread set one thread. */
typedef struct early_worker {
  logits_call* before;
  logits_call* after;
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  int first_call_done;
  int setting_made;
} early_worker;

static void* run_early_worker(void* argument) {
  early_worker* worker = argument;
  run_logits_call(worker->before);
  pthread_mutex_lock(&worker->mutex);
  worker->first_call_done = 1;
  pthread_cond_broadcast(&worker->changed);
  while (!worker->setting_made) pthread_cond_wait(&worker->changed, &worker->mutex);
  pthread_mutex_unlock(&worker->mutex);
  run_logits_call(worker->after);
  return NULL;
}

static void calls_from_other_threads_use_the_setting(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  SP_CHECK(sp_set_num_threads(0));
  early_worker worker = {
      new_logits_call(model), new_logits_call(model), PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  pthread_t early;
  assert_int_equal(pthread_create(&early, NULL, run_early_worker, &worker), 0);

  pthread_mutex_lock(&worker.mutex);
  while (!worker.first_call_done) pthread_cond_wait(&worker.changed, &worker.mutex);
  pthread_mutex_unlock(&worker.mutex);
  SP_CHECK(sp_set_num_threads(1));
  pthread_mutex_lock(&worker.mutex);
  worker.setting_made = 1;
  pthread_cond_broadcast(&worker.changed);
  pthread_mutex_unlock(&worker.mutex);

  logits_call* late = new_logits_call(model);
  pthread_t late_thread;
  assert_int_equal(pthread_create(&late_thread, NULL, run_logits_call, late), 0);
  logits_call* here = new_logits_call(model);
  run_logits_call(here);
  assert_int_equal(pthread_join(early, NULL), 0);
  assert_int_equal(pthread_join(late_thread, NULL), 0);
  SP_CHECK(sp_set_num_threads(0));

  check_call(here, "on the main thread");
  check_call(worker.before, "on a thread before the setting");
  check_call(worker.after, "on a thread started before the setting");
  check_call(late, "on a thread started after the setting");
  /* One thread each: the same kernels in the same order, on any calling thread. */
  if (running_on_cpu_float32()) {
    ASSERT_IDENTICAL("early thread, one thread vs main thread", worker.after->out, here->out, here->count);
    ASSERT_IDENTICAL("late thread, one thread vs main thread", late->out, here->out, here->count);
  } else {
    ASSERT_CONFORMS("early thread, one thread vs main thread", worker.after->out, here->out, here->count,
                    forward_length(model));
    ASSERT_CONFORMS("late thread, one thread vs main thread", late->out, here->out, here->count, forward_length(model));
  }
  ASSERT_CONFORMS("default count vs one thread", worker.before->out, here->out, here->count, forward_length(model));
  if (here->openmp_threads >= 0) {
    printf("    OpenMP threads after the calls: before the setting %d; then main %d, early %d, late %d\n",
           worker.before->openmp_threads, here->openmp_threads, worker.after->openmp_threads, late->openmp_threads);
    assert_int_equal(worker.before->openmp_threads, count_before_any_setting);
    assert_int_equal(here->openmp_threads, 1);
    assert_int_equal(worker.after->openmp_threads, 1);
    assert_int_equal(late->openmp_threads, 1);
  } else {
    printf("    LibTorch runs without OpenMP here: per-thread counts not checked\n");
  }
  free_logits_call(worker.before);
  free_logits_call(worker.after);
  free_logits_call(late);
  free_logits_call(here);
  sp_model_free(model);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder>", (const char**[]){&models_root}, 1)) return 2;
  if (sp_get_num_threads(&count_before_any_setting) != SP_OK) {
    fprintf(stderr, "sp_get_num_threads failed: %s\n", sp_last_error());
    return 1;
  }
  printf("threads before any setting: %d\n", (int)count_before_any_setting);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_count_comes_back_as_set_and_zero_restores_the_default),
      cmocka_unit_test(impossible_counts_are_refused_and_change_nothing),
      cmocka_unit_test(one_and_two_threads_give_the_same_logits),
      cmocka_unit_test(calls_from_other_threads_use_the_setting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
