/*
 * The handle checks (capi/src/handles.*), through the public API:
 *   - pointers that are not handles (on the stack, malloc'd, a copy of a handle's bytes, inside a
 *     real handle) are refused with SP_ERR_INVALID_HANDLE and freeing them does nothing;
 *   - a handle of one kind passed as another is refused, and freeing it as the other kind does
 *     nothing;
 *   - a freed handle is refused, and a second free does nothing;
 *   - calls hammering a handle on several threads while another thread frees it each return SP_OK
 *     (with the same result as an uncontended call) or SP_ERR_INVALID_HANDLE, and every thread sees
 *     the free (run under AddressSanitizer in the asan build);
 *   - thousands of live handles (the pool grows by slabs) are each valid until freed and refused
 *     after, and handles created and freed on several threads at once stay their own.
 *
 *   test_handle_registry <model-folder-with-tokenizer>
 */
#include <pthread.h>
#include <sched.h>

#include "test_support.h"

static const char* model_folder;

static sp_model* load_model(void) {
  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&model, model_folder, &params));
  return model;
}

static sp_tokenizer* load_tokenizer(void) {
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_tokenizer_load(&tokenizer, model_folder));
  return tokenizer;
}

static int64_t vocab_size_of(const sp_tokenizer* tokenizer) {
  sp_tokenizer_info info = sp_tokenizer_info_init();
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &info));
  return info.vocab_size;
}

#define NOT_A_MODEL "is not a live sp_model (freed, or never created)"
#define NOT_A_TOKENIZER "is not a live sp_tokenizer (freed, or never created)"

/* --- pointers that are not handles ----------------------------------------------------------- */

static void foreign_pointers_are_refused_and_not_freed(void** state) {
  (void)state;
  sp_tokenizer* tokenizer = load_tokenizer();
  const int64_t vocab_size = vocab_size_of(tokenizer);
  sp_model_info model_info = sp_model_info_init();
  sp_tokenizer_info info = sp_tokenizer_info_init();

  unsigned char on_stack[256];
  memset(on_stack, 0xab, sizeof on_stack);
  SP_EXPECT_ERROR(sp_model_get_info((const sp_model*)on_stack, &model_info), SP_ERR_INVALID_HANDLE, NOT_A_MODEL);
  SP_EXPECT_ERROR(sp_tokenizer_get_info((const sp_tokenizer*)on_stack, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);

  unsigned char* zeroed = calloc(1, 256);
  assert_non_null(zeroed);
  SP_EXPECT_ERROR(sp_tokenizer_get_info((const sp_tokenizer*)zeroed, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  /* The first bytes of a live handle, copied elsewhere: a check that trusted what the memory holds
   * would take the copy for the handle. (16 bytes: every handle is at least that large.) */
  unsigned char* copy = calloc(1, 256);
  assert_non_null(copy);
  memcpy(copy, tokenizer, 16);
  SP_EXPECT_ERROR(sp_tokenizer_get_info((const sp_tokenizer*)copy, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);

  /* Pointers into a real handle, past its start. */
  const sp_tokenizer* one_byte_in = (const sp_tokenizer*)((const char*)tokenizer + 1);
  const sp_tokenizer* eight_bytes_in = (const sp_tokenizer*)((const char*)tokenizer + 8);
  SP_EXPECT_ERROR(sp_tokenizer_get_info(one_byte_in, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  SP_EXPECT_ERROR(sp_tokenizer_get_info(eight_bytes_in, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  int32_t ids[16];
  size_t count = 0;
  SP_EXPECT_ERROR(sp_tokenizer_encode(one_byte_in, "hi", 2, 0, ids, 16, &count), SP_ERR_INVALID_HANDLE,
                  NOT_A_TOKENIZER);

  /* Freeing any of them does nothing: the real handle stays usable, the memory stays as it was. */
  sp_tokenizer_free((sp_tokenizer*)on_stack);
  sp_tokenizer_free((sp_tokenizer*)zeroed);
  sp_tokenizer_free((sp_tokenizer*)copy);
  sp_tokenizer_free((sp_tokenizer*)one_byte_in);
  sp_tokenizer_free((sp_tokenizer*)eight_bytes_in);
  sp_model_free((sp_model*)on_stack);
  for (size_t i = 0; i < sizeof on_stack; ++i) assert_int_equal(on_stack[i], 0xab);
  for (size_t i = 0; i < 256; ++i) assert_int_equal(zeroed[i], 0);
  assert_int_equal(vocab_size_of(tokenizer), vocab_size);

  SP_EXPECT_ERROR(sp_tokenizer_get_info(NULL, &info), SP_ERR_INVALID_ARGUMENT, "must not be NULL");
  free(zeroed);
  free(copy);
  sp_tokenizer_free(tokenizer);
}

/* --- kinds ----------------------------------------------------------------------------------- */

static void a_handle_of_another_kind_is_refused_and_not_freed(void** state) {
  (void)state;
  sp_model* model = load_model();
  sp_tokenizer* tokenizer = load_tokenizer();
  sp_tokenizer* model_tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&model_tokenizer, model));
  sp_model_info model_info = sp_model_info_init();
  sp_tokenizer_info info = sp_tokenizer_info_init();

  SP_EXPECT_ERROR(sp_model_get_info((const sp_model*)tokenizer, &model_info), SP_ERR_INVALID_HANDLE, NOT_A_MODEL);
  SP_EXPECT_ERROR(sp_model_get_info((const sp_model*)model_tokenizer, &model_info), SP_ERR_INVALID_HANDLE, NOT_A_MODEL);
  SP_EXPECT_ERROR(sp_tokenizer_get_info((const sp_tokenizer*)model, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  sp_tokenizer* from_a_tokenizer = NULL;
  SP_EXPECT_ERROR(sp_model_tokenizer(&from_a_tokenizer, (const sp_model*)tokenizer), SP_ERR_INVALID_HANDLE,
                  NOT_A_MODEL);
  assert_null(from_a_tokenizer);

  /* A free through the wrong function leaves both handles live. */
  sp_model_free((sp_model*)tokenizer);
  sp_model_free((sp_model*)model_tokenizer);
  sp_tokenizer_free((sp_tokenizer*)model);
  SP_CHECK(sp_model_get_info(model, &model_info));
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &info));
  SP_CHECK(sp_tokenizer_get_info(model_tokenizer, &info));

  sp_tokenizer_free(model_tokenizer);
  sp_tokenizer_free(tokenizer);
  sp_model_free(model);
}

/* --- freed handles --------------------------------------------------------------------------- */

static void a_freed_handle_is_refused_and_a_second_free_does_nothing(void** state) {
  (void)state;
  sp_model* model = load_model();
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  sp_model_info model_info = sp_model_info_init();
  sp_tokenizer_info info = sp_tokenizer_info_init();

  sp_model_free(model);
  SP_EXPECT_ERROR(sp_model_get_info(model, &model_info), SP_ERR_INVALID_HANDLE, NOT_A_MODEL);
  sp_model_free(model);
  SP_EXPECT_ERROR(sp_model_get_info(model, &model_info), SP_ERR_INVALID_HANDLE, NOT_A_MODEL);
  /* The tokenizer taken from the model is a handle of its own and outlives the model's. */
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &info));

  sp_tokenizer_free(tokenizer);
  SP_EXPECT_ERROR(sp_tokenizer_get_info(tokenizer, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  int32_t ids[16];
  size_t count = 0;
  SP_EXPECT_ERROR(sp_tokenizer_encode(tokenizer, "hi", 2, 0, ids, 16, &count), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  sp_tokenizer_free(tokenizer);
  sp_tokenizer_free(tokenizer);
  SP_EXPECT_ERROR(sp_tokenizer_get_info(tokenizer, &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
}

/* --- a free racing calls --------------------------------------------------------------------- */

#define WORKERS 4
#define RACE_ROUNDS 40
#define MAX_CALLS_PER_WORKER 2000000 /* far more than the calls before the free: reaching it fails */
static const char race_text[] = "Hello world, handles and frees";
#define MAX_IDS 64

typedef struct race {
  const sp_tokenizer* tokenizer; /* hammered when set */
  const sp_model* model;         /* else this */
  const int32_t* expected_ids;   /* the uncontended encoding, for the tokenizer */
  size_t expected_count;
  int64_t expected_vocab_size; /* the uncontended info, for the model */
  int calls;                   /* all workers' calls so far (__atomic) */
  int finished;                /* workers that have returned (__atomic) */
} race;

typedef struct worker {
  race* shared;
  int ok_calls, invalid_handle_calls, other_failures, wrong_results;
} worker;

static void* call_until_freed(void* argument) {
  worker* w = (worker*)argument;
  const race* r = w->shared;
  for (int i = 0; i < MAX_CALLS_PER_WORKER; ++i) {
    sp_status status;
    int right = 1;
    if (r->tokenizer) {
      int32_t ids[MAX_IDS];
      size_t count = 0;
      status = sp_tokenizer_encode(r->tokenizer, race_text, sizeof race_text - 1, 0, ids, MAX_IDS, &count);
      right =
          status != SP_OK || (count == r->expected_count && memcmp(ids, r->expected_ids, count * sizeof(int32_t)) == 0);
    } else {
      sp_model_info info = sp_model_info_init();
      status = sp_model_get_info(r->model, &info);
      right = status != SP_OK || info.vocab_size == r->expected_vocab_size;
    }
    __atomic_fetch_add(&w->shared->calls, 1, __ATOMIC_RELEASE);
    if (!right) ++w->wrong_results;
    if (status == SP_OK) {
      ++w->ok_calls;
    } else if (status == SP_ERR_INVALID_HANDLE) {
      ++w->invalid_handle_calls;
      break;
    } else {
      ++w->other_failures;
      break;
    }
  }
  __atomic_fetch_add(&w->shared->finished, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* One round: WORKERS threads call on the handle; this thread frees it after `calls_before_free`
 * calls in all (a different moment of the calls in each round). */
static void race_a_free(race* r, int calls_before_free, sp_model* model, sp_tokenizer* tokenizer, int* total_ok) {
  worker workers[WORKERS];
  pthread_t threads[WORKERS];
  memset(workers, 0, sizeof workers);
  __atomic_store_n(&r->calls, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&r->finished, 0, __ATOMIC_RELEASE);
  for (int i = 0; i < WORKERS; ++i) {
    workers[i].shared = r;
    assert_int_equal(pthread_create(&threads[i], NULL, call_until_freed, &workers[i]), 0);
  }
  while (__atomic_load_n(&r->calls, __ATOMIC_ACQUIRE) < calls_before_free &&
         __atomic_load_n(&r->finished, __ATOMIC_ACQUIRE) < WORKERS) /* a worker that failed has stopped */
    sched_yield();
  if (tokenizer)
    sp_tokenizer_free(tokenizer); /* the workers may be inside a call on it right now */
  else
    sp_model_free(model);
  for (int i = 0; i < WORKERS; ++i) pthread_join(threads[i], NULL);
  for (int i = 0; i < WORKERS; ++i) {
    assert_int_equal(workers[i].other_failures, 0);
    assert_int_equal(workers[i].wrong_results, 0);
    assert_int_equal(workers[i].invalid_handle_calls, 1); /* every worker stopped because it saw the free */
    *total_ok += workers[i].ok_calls;
  }
}

static void freeing_a_handle_while_threads_call_on_it_is_safe(void** state) {
  (void)state;
  int total_ok = 0;
  for (int round = 0; round < RACE_ROUNDS; ++round) {
    race r;
    memset(&r, 0, sizeof r);
    const int calls_before_free = 1 + (round * 37) % 200;
    if (round % 2 == 0) {
      sp_tokenizer* tokenizer = load_tokenizer();
      int32_t expected[MAX_IDS];
      SP_CHECK(
          sp_tokenizer_encode(tokenizer, race_text, sizeof race_text - 1, 0, expected, MAX_IDS, &r.expected_count));
      assert_true(r.expected_count > 0);
      r.tokenizer = tokenizer;
      r.expected_ids = expected;
      race_a_free(&r, calls_before_free, NULL, tokenizer, &total_ok);
    } else {
      sp_model* model = load_model();
      sp_model_info info = sp_model_info_init();
      SP_CHECK(sp_model_get_info(model, &info));
      r.model = model;
      r.expected_vocab_size = info.vocab_size;
      race_a_free(&r, calls_before_free, model, NULL, &total_ok);
    }
  }
  printf("    %d frees during calls on %d threads: %d calls completed before the workers saw the free\n", RACE_ROUNDS,
         WORKERS, total_ok);
}

/* --- many handles ---------------------------------------------------------------------------- */

#define MANY 3000

static int compare_pointers(const void* a, const void* b) {
  const uintptr_t left = (uintptr_t) * (void*const*)a, right = (uintptr_t) * (void*const*)b;
  return (left > right) - (left < right);
}

static void thousands_of_handles_are_each_valid_until_freed(void** state) {
  (void)state;
  sp_model* model = load_model();
  sp_tokenizer** handles = calloc(MANY, sizeof *handles);
  void** sorted = calloc(MANY, sizeof *sorted);
  assert_non_null(handles);
  assert_non_null(sorted);
  sp_tokenizer* first = NULL;
  SP_CHECK(sp_model_tokenizer(&first, model));
  const int64_t vocab_size = vocab_size_of(first);
  sp_tokenizer_free(first);
  sp_tokenizer_info info = sp_tokenizer_info_init();
  sp_model_info model_info = sp_model_info_init();

  for (int pass = 0; pass < 2; ++pass) { /* the second pass reuses the freed slots */
    for (int i = 0; i < MANY; ++i) SP_CHECK(sp_model_tokenizer(&handles[i], model));
    for (int i = 0; i < MANY; ++i) sorted[i] = handles[i];
    qsort(sorted, MANY, sizeof *sorted, compare_pointers);
    for (int i = 1; i < MANY; ++i) assert_true(sorted[i - 1] != sorted[i]);
    for (int i = 0; i < MANY; ++i) {
      assert_int_equal(vocab_size_of(handles[i]), vocab_size);
      if (i % 97 == 0) { /* foreign and kind checks hold in every part of the pool */
        SP_EXPECT_ERROR(sp_model_get_info((const sp_model*)handles[i], &model_info), SP_ERR_INVALID_HANDLE,
                        NOT_A_MODEL);
        SP_EXPECT_ERROR(sp_tokenizer_get_info((const sp_tokenizer*)((const char*)handles[i] + 1), &info),
                        SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
      }
    }
    /* Every other one freed: those are refused, their neighbours untouched. */
    for (int i = 0; i < MANY; i += 2) sp_tokenizer_free(handles[i]);
    for (int i = 0; i < MANY; ++i) {
      if (i % 2 == 0)
        SP_EXPECT_ERROR(sp_tokenizer_get_info(handles[i], &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
      else
        assert_int_equal(vocab_size_of(handles[i]), vocab_size);
    }
    for (int i = 1; i < MANY; i += 2) sp_tokenizer_free(handles[i]);
    for (int i = 0; i < MANY; ++i)
      SP_EXPECT_ERROR(sp_tokenizer_get_info(handles[i], &info), SP_ERR_INVALID_HANDLE, NOT_A_TOKENIZER);
  }
  free(sorted);
  free(handles);
  sp_model_free(model);
}

#define CHURN_THREADS 4
#define CHURN_ROUNDS 400
#define CHURN_HELD 8

typedef struct churner {
  const sp_model* model;
  int64_t vocab_size;
  int failures; /* a create that failed, or a live handle of this thread that was not valid */
} churner;

/* Creates and frees handles, CHURN_HELD alive at a time, checking its own live ones each round. */
static void* churn(void* argument) {
  churner* c = (churner*)argument;
  sp_tokenizer* held[CHURN_HELD] = {NULL};
  for (int round = 0; round < CHURN_ROUNDS; ++round) {
    const int slot = round % CHURN_HELD;
    sp_tokenizer_free(held[slot]);
    held[slot] = NULL;
    if (sp_model_tokenizer(&held[slot], c->model) != SP_OK) ++c->failures;
    for (int i = 0; i < CHURN_HELD; ++i) {
      if (!held[i]) continue;
      sp_tokenizer_info info = sp_tokenizer_info_init();
      if (sp_tokenizer_get_info(held[i], &info) != SP_OK || info.vocab_size != c->vocab_size) ++c->failures;
    }
  }
  for (int i = 0; i < CHURN_HELD; ++i) sp_tokenizer_free(held[i]);
  return NULL;
}

static void handles_created_and_freed_on_several_threads_stay_their_own(void** state) {
  (void)state;
  sp_model* model = load_model();
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  const int64_t vocab_size = vocab_size_of(tokenizer);
  churner churners[CHURN_THREADS];
  pthread_t threads[CHURN_THREADS];
  for (int i = 0; i < CHURN_THREADS; ++i) {
    churners[i].model = model;
    churners[i].vocab_size = vocab_size;
    churners[i].failures = 0;
    assert_int_equal(pthread_create(&threads[i], NULL, churn, &churners[i]), 0);
  }
  for (int i = 0; i < CHURN_THREADS; ++i) pthread_join(threads[i], NULL);
  for (int i = 0; i < CHURN_THREADS; ++i) assert_int_equal(churners[i].failures, 0);
  /* A handle held all along is untouched by the others' frees. */
  assert_int_equal(vocab_size_of(tokenizer), vocab_size);
  sp_tokenizer_free(tokenizer);
  sp_model_free(model);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<model-folder-with-tokenizer>", (const char**[]){&model_folder}, 1)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(foreign_pointers_are_refused_and_not_freed),
      cmocka_unit_test(a_handle_of_another_kind_is_refused_and_not_freed),
      cmocka_unit_test(a_freed_handle_is_refused_and_a_second_free_does_nothing),
      cmocka_unit_test(freeing_a_handle_while_threads_call_on_it_is_safe),
      cmocka_unit_test(thousands_of_handles_are_each_valid_until_freed),
      cmocka_unit_test(handles_created_and_freed_on_several_threads_stay_their_own),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
