/* Contexts through the C API, beyond conformance with PEFT (test_generation_conformance): streamed
 * text in whole characters that adds up to the decoded ids, the pull calls against the callback,
 * stopping (a callback, stop strings, the model folder's EOS ids), seeded sampling across runs and
 * threads, adapter snapshots, contexts outliving their model and adapter handles, scoring against
 * the cache's own logits, and every bad input as a status that leaves the context usable.
 *
 * Model: the tiny llama with the byte-level gpt2 tokenizer (tokenizer_binding_reference fixture);
 * its 256 ids are the tokenizer's byte tokens, so generated text is often partial UTF-8. */
#include <pthread.h>
#include <unistd.h>

#include "test_support.h"

static const char* model_folder; /* with tokenizer.json */
static const char* models_root;  /* the tiny models without tokenizer */
static const char* scratch_root;

enum { ROWS = 3, NEW_TOKENS = 24, VOCAB = 256 };
static const int32_t prompt_ids[] = {72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 200, 201, 202, 33};
static const int32_t prompt_lengths[ROWS] = {11, 3, 1};

static sp_prompts three_prompts(void) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = ROWS;
  prompts.ids = prompt_ids;
  prompts.num_ids = sizeof prompt_ids / sizeof prompt_ids[0];
  prompts.lengths = prompt_lengths;
  prompts.num_lengths = ROWS;
  return prompts;
}

static sp_prompts one_prompt(const int32_t* ids, const int32_t* length) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = 1;
  prompts.ids = ids;
  prompts.num_ids = (size_t)*length;
  prompts.lengths = length;
  prompts.num_lengths = 1;
  return prompts;
}

static sp_model* load(const char* folder) {
  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&model, folder, &params));
  return model;
}

static sp_context* context_on(sp_model* model, sp_adapter* adapter, int32_t rows, int32_t length) {
  sp_context_params params = sp_context_default_params();
  params.max_batch_size = rows;
  params.max_length = length;
  sp_context* context = NULL;
  SP_CHECK(sp_context_create(&context, model, adapter, &params));
  return context;
}

static sp_generate_params greedy(int32_t tokens) {
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = tokens;
  params.use_model_eos = 0;
  return params;
}

typedef struct {
  int32_t ids[ROWS][NEW_TOKENS];
  int32_t counts[ROWS];
  sp_stop_reason reasons[ROWS];
} outputs;

static sp_generation result_into(outputs* out) {
  sp_generation result = sp_generation_init();
  result.ids = &out->ids[0][0];
  result.ids_capacity = ROWS * NEW_TOKENS;
  result.counts = out->counts;
  result.stop_reasons = out->reasons;
  result.rows_capacity = ROWS;
  return result;
}

static void generate(sp_context* context, const sp_prompts* prompts, const sp_generate_params* params, outputs* out) {
  memset(out, 0, sizeof *out);
  sp_generation result = result_into(out);
  SP_CHECK(sp_context_generate(context, prompts, params, &result));
}

/* Length of the UTF-8 character starting at text[0], or 0 when it is not a whole, valid one. */
static size_t utf8_character(const unsigned char* text, size_t size) {
  size_t length = text[0] < 0x80         ? 1
                  : (text[0] >> 5) == 6  ? 2
                  : (text[0] >> 4) == 14 ? 3
                  : (text[0] >> 3) == 30 ? 4
                                         : 0;
  if (length == 0 || length > size) return 0;
  for (size_t i = 1; i < length; ++i)
    if ((text[i] & 0xC0) != 0x80) return 0;
  return length;
}

static int whole_utf8(const char* text, size_t size) {
  for (size_t at = 0; at < size;) {
    const size_t length = utf8_character((const unsigned char*)text + at, size - at);
    if (length == 0) return 0;
    at += length;
  }
  return 1;
}

typedef struct {
  char text[ROWS][4096];
  size_t size[ROWS];
  int32_t ids[ROWS][NEW_TOKENS];
  int32_t counts[ROWS];
  int events, stop_after; /* stop_after < 0: never stop */
  int broken;             /* events whose text was not whole UTF-8 */
} stream_record;

static int32_t record_event(const sp_token_event* event, void* user_data) {
  stream_record* record = user_data;
  const int row = event->row;
  if (!whole_utf8(event->text, event->text_size) || event->text[event->text_size] != '\0') record->broken++;
  memcpy(record->text[row] + record->size[row], event->text, event->text_size);
  record->size[row] += event->text_size;
  record->ids[row][record->counts[row]++] = event->token_id;
  record->events++;
  return record->stop_after >= 0 && record->events >= record->stop_after;
}

/* A callback that calls into its own context: refused (it would wait for itself), generation goes on. */
typedef struct {
  sp_status status;
  sp_context* context;
} own_call;

static int32_t call_own_context(const sp_token_event* event, void* user_data) {
  (void)event;
  own_call* call = user_data;
  call->status = sp_context_reset(call->context);
  return 0;
}

static void decoded(sp_tokenizer* tokenizer, const int32_t* ids, size_t count, char* text, size_t* size) {
  SP_CHECK(sp_tokenizer_decode(tokenizer, ids, count, 1, text, 4096, size));
}

static void streamed_text_is_whole_characters_adding_up_to_the_decoded_ids(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  sp_context* context = context_on(model, NULL, ROWS, 64);
  const sp_prompts prompts = three_prompts();
  static stream_record record;
  memset(&record, 0, sizeof record);
  record.stop_after = -1;
  sp_generate_params params = greedy(NEW_TOKENS);
  params.callback = record_event;
  params.user_data = &record;
  outputs out;
  generate(context, &prompts, &params, &out);
  assert_int_equal(record.broken, 0);
  assert_int_equal(record.events, ROWS * NEW_TOKENS);
  int partial_bytes_seen = 0;
  for (int row = 0; row < ROWS; ++row) {
    assert_int_equal(out.counts[row], NEW_TOKENS);
    assert_int_equal(out.reasons[row], SP_STOP_MAX_TOKENS);
    assert_memory_equal(out.ids[row], record.ids[row], sizeof out.ids[row]);
    char text[4096];
    size_t size = 0;
    decoded(tokenizer, out.ids[row], NEW_TOKENS, text, &size);
    assert_int_equal(size, record.size[row]);
    assert_memory_equal(text, record.text[row], size);
    /* The test means something only if some token stopped inside a character. */
    for (int i = 1; i <= NEW_TOKENS; ++i) {
      char prefix[4096];
      size_t prefix_size = 0;
      decoded(tokenizer, out.ids[row], (size_t)i, prefix, &prefix_size);
      if (prefix_size >= 3 && memcmp(prefix + prefix_size - 3, "\xEF\xBF\xBD", 3) == 0) partial_bytes_seen = 1;
    }
  }
  assert_true(partial_bytes_seen);
  sp_context_free(context);
  sp_tokenizer_free(tokenizer);
  sp_model_free(model);
}

static void each_row_of_a_batch_gets_what_it_gets_alone(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_context* context = context_on(model, NULL, ROWS, 64);
  const sp_prompts prompts = three_prompts();
  const sp_generate_params params = greedy(NEW_TOKENS);
  outputs batch, alone;
  generate(context, &prompts, &params, &batch);
  size_t offset = 0;
  for (int row = 0; row < ROWS; ++row) {
    const sp_prompts single = one_prompt(prompt_ids + offset, &prompt_lengths[row]);
    offset += (size_t)prompt_lengths[row];
    generate(context, &single, &params, &alone);
    /* In bfloat16 and float16 the batch's other shapes round differently, which can flip a close
     * argmax; there the rows are only reported. */
    if (test_model_params().dtype == SP_DTYPE_FLOAT32)
      assert_memory_equal(batch.ids[row], alone.ids[0], sizeof batch.ids[row]);
    else if (memcmp(batch.ids[row], alone.ids[0], sizeof batch.ids[row]) != 0)
      printf("  row %d differs from the prompt alone (reduced precision)\n", row);
  }
  sp_context_free(context);
  sp_model_free(model);
}

static void pulled_events_equal_the_callbacks_and_stop_when_asked(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_context* context = context_on(model, NULL, ROWS, 64);
  const sp_prompts prompts = three_prompts();
  sp_token_event event;
  int32_t has_event = 1;
  SP_EXPECT_ERROR(sp_context_generate_next(context, &event, &has_event), SP_ERR_INVALID_ARGUMENT, "no generation");

  static stream_record pushed;
  memset(&pushed, 0, sizeof pushed);
  pushed.stop_after = -1;
  sp_generate_params params = greedy(NEW_TOKENS);
  params.callback = record_event;
  params.user_data = &pushed;
  outputs out;
  generate(context, &prompts, &params, &out);

  SP_CHECK(sp_context_generate_begin(context, &prompts, &params));
  int events = 0;
  int32_t counts[ROWS] = {0};
  for (;;) {
    SP_CHECK(sp_context_generate_next(context, &event, &has_event));
    if (!has_event) break;
    assert_int_equal(event.token_id, pushed.ids[event.row][counts[event.row]++]);
    char copy[64];
    size_t size = 0;
    SP_CHECK(sp_context_event_text(context, copy, sizeof copy, &size));
    assert_int_equal(size, event.text_size);
    ++events;
  }
  assert_int_equal(events, ROWS * NEW_TOKENS);
  SP_EXPECT_ERROR(sp_context_event_text(context, (char[8]){0}, 8, &(size_t){0}), SP_ERR_INVALID_ARGUMENT, "no token");

  /* Stopping the pull: the rows still running end with SP_STOP_CALLBACK. */
  SP_CHECK(sp_context_generate_begin(context, &prompts, &params));
  SP_CHECK(sp_context_generate_next(context, &event, &has_event));
  assert_int_equal(has_event, 1);
  SP_CHECK(sp_context_generate_stop(context));
  SP_CHECK(sp_context_generate_next(context, &event, &has_event));
  assert_int_equal(has_event, 0);

  /* A callback that stops at once: one event, every row stopped by it, SP_OK. */
  static stream_record stopper;
  memset(&stopper, 0, sizeof stopper);
  stopper.stop_after = 1;
  params.user_data = &stopper;
  generate(context, &prompts, &params, &out);
  assert_int_equal(stopper.events, 1);
  assert_int_equal(out.counts[0], 1);
  for (int row = 0; row < ROWS; ++row) assert_int_equal(out.reasons[row], SP_STOP_CALLBACK);
  /* A callback calling into the same context is refused; the generation completes. */
  own_call own = {SP_OK, context};
  params.callback = call_own_context;
  params.user_data = &own;
  generate(context, &prompts, &params, &out);
  assert_int_equal(own.status, SP_ERR_INVALID_ARGUMENT);
  assert_int_equal(out.counts[2], NEW_TOKENS);
  /* No callback at all is fine too. */
  params.callback = NULL;
  generate(context, &prompts, &params, &out);
  assert_int_equal(out.reasons[2], SP_STOP_MAX_TOKENS);
  sp_context_free(context);
  sp_model_free(model);
}

static void a_stop_string_ends_the_row_at_the_token_completing_it(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  sp_context* context = context_on(model, NULL, ROWS, 64);
  const sp_prompts prompts = three_prompts();
  sp_generate_params params = greedy(NEW_TOKENS);
  outputs free_run, stopped;
  generate(context, &prompts, &params, &free_run);
  /* A stop string: the first visible ASCII character of row 0's text; the row must end at the first
   * token whose text contains it. */
  char text[4096];
  size_t size = 0;
  decoded(tokenizer, free_run.ids[0], NEW_TOKENS, text, &size);
  char stop[2] = {0};
  for (size_t i = 0; i < size && !stop[0]; ++i)
    if (text[i] > 0x20 && text[i] < 0x7f) stop[0] = text[i];
  assert_true(stop[0] != 0);
  int expected = 0;
  for (int i = 1; i <= NEW_TOKENS && !expected; ++i) {
    char prefix[4096] = {0};
    size_t prefix_size = 0;
    decoded(tokenizer, free_run.ids[0], (size_t)i, prefix, &prefix_size);
    if (strstr(prefix, stop)) expected = i;
  }
  const char* stops[] = {stop};
  params.stop_strings = stops;
  params.num_stop_strings = 1;
  generate(context, &prompts, &params, &stopped);
  printf("  stop string \"%s\": row 0 stops after %d tokens\n", stop, expected);
  assert_int_equal(stopped.counts[0], expected);
  assert_int_equal(stopped.reasons[0], SP_STOP_STRING);
  assert_memory_equal(stopped.ids[0], free_run.ids[0], (size_t)expected * sizeof(int32_t));
  sp_context_free(context);
  sp_tokenizer_free(tokenizer);
  sp_model_free(model);
}

static void copy_file(const char* from, const char* to) {
  size_t count = 0;
  char* bytes = read_raw(from, 1, &count);
  FILE* file = fopen(to, "wb");
  assert_non_null(file);
  assert_int_equal(fwrite(bytes, 1, count, file), count);
  fclose(file);
  free(bytes);
}

static void the_model_folders_eos_ids_end_rows(void** state) {
  (void)state;
  /* Which token greedy decoding gives row 0 at step 5, without any EOS. */
  sp_model* model = load(model_folder);
  sp_context* context = context_on(model, NULL, ROWS, 64);
  const sp_prompts prompts = three_prompts();
  sp_generate_params params = greedy(NEW_TOKENS);
  outputs free_run, stopped;
  generate(context, &prompts, &params, &free_run);
  sp_context_free(context);
  sp_model_free(model);
  int step = 4;
  while (step < NEW_TOKENS) { /* the first step whose token did not appear before it */
    int repeated = 0;
    for (int i = 0; i < step; ++i) repeated |= free_run.ids[0][i] == free_run.ids[0][step];
    if (!repeated) break;
    ++step;
  }
  assert_true(step < NEW_TOKENS);
  const int32_t eos = free_run.ids[0][step];

  char folder[1024], from[1100], to[1100];
  snprintf(folder, sizeof folder, "%s/eos-model", scratch_root);
  make_dirs(folder);
  const char* names[] = {"config.json", "model.safetensors", "tokenizer.json"};
  for (int i = 0; i < 3; ++i)
    copy_file(test_path(from, sizeof from, model_folder, names[i]), test_path(to, sizeof to, folder, names[i]));
  FILE* file = fopen(test_path(to, sizeof to, folder, "generation_config.json"), "w");
  assert_non_null(file);
  fprintf(file, "{\"eos_token_id\": [%d, 3000000, 7]}\n", eos);
  fclose(file);

  model = load(folder);
  int32_t ids[4] = {0};
  size_t count = 0;
  SP_EXPECT_ERROR(sp_model_eos_ids(model, ids, 1, &count), SP_ERR_BUFFER_TOO_SMALL, "2");
  assert_int_equal(count, 2); /* 3000000 is outside the vocabulary */
  SP_CHECK(sp_model_eos_ids(model, ids, 4, &count));
  assert_int_equal(ids[0], eos);
  assert_int_equal(ids[1], 7);
  context = context_on(model, NULL, ROWS, 64);
  params.use_model_eos = 1;
  generate(context, &prompts, &params, &stopped);
  assert_int_equal(stopped.reasons[0], SP_STOP_EOS);
  assert_int_equal(stopped.counts[0], step + 1);
  assert_int_equal(stopped.ids[0][step], eos);
  params.use_model_eos = 0;
  generate(context, &prompts, &params, &stopped);
  assert_int_equal(stopped.counts[0], NEW_TOKENS);
  sp_context_free(context);
  sp_model_free(model);
}

typedef struct {
  sp_model* model;
  outputs out;
} sampling_job;

static sp_generate_params sampling(uint64_t seed) {
  sp_generate_params params = greedy(NEW_TOKENS);
  params.do_sample = 1;
  params.temperature = 1.5f;
  params.top_k = 0;
  params.seed = seed;
  return params;
}

static void* sample_in_thread(void* argument) {
  sampling_job* job = argument;
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = ROWS;
  context_params.max_length = 64;
  sp_context* context = NULL;
  if (sp_context_create(&context, job->model, NULL, &context_params) != SP_OK) return NULL;
  const sp_prompts prompts = three_prompts();
  const sp_generate_params params = sampling(42);
  sp_generation result = result_into(&job->out);
  sp_context_generate(context, &prompts, &params, &result);
  sp_context_free(context);
  return NULL;
}

static void a_seed_gives_the_same_tokens_on_any_thread(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_context* context = context_on(model, NULL, ROWS, 64);
  const sp_prompts prompts = three_prompts();
  sp_generate_params params = sampling(42);
  outputs first, again, other, greedy_out;
  generate(context, &prompts, &params, &first);
  generate(context, &prompts, &params, &again);
  assert_memory_equal(first.ids, again.ids, sizeof first.ids);
  params.seed = 43;
  generate(context, &prompts, &params, &other);
  assert_memory_not_equal(first.ids, other.ids, sizeof first.ids);
  const sp_generate_params plain = greedy(NEW_TOKENS);
  generate(context, &prompts, &plain, &greedy_out);
  assert_memory_not_equal(first.ids, greedy_out.ids, sizeof first.ids);

  enum { THREADS = 4 };
  static sampling_job jobs[THREADS];
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; ++i) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].model = model;
    assert_int_equal(pthread_create(&threads[i], NULL, sample_in_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < THREADS; ++i) {
    pthread_join(threads[i], NULL);
    assert_memory_equal(jobs[i].out.ids, first.ids, sizeof first.ids);
  }
  sp_context_free(context);
  sp_model_free(model);
}

static double log_softmax_at(const float* logits, int32_t vocab, int32_t token) {
  double largest = logits[0];
  for (int32_t i = 1; i < vocab; ++i)
    if (logits[i] > largest) largest = logits[i];
  double sum = 0;
  for (int32_t i = 0; i < vocab; ++i) sum += exp((double)logits[i] - largest);
  return (double)logits[token] - largest - log(sum);
}

/* An adapter's snapshot: taken at context creation; a context created after training sees the new
 * values, the older one keeps its own. Both keep working after the handles are freed. */
static void contexts_keep_their_snapshot_and_outlive_their_handles(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = 4;
  adapter_params.seed = 3;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &adapter_params));
  sp_context* base = context_on(model, NULL, 1, 32);
  sp_context* before = context_on(model, adapter, 1, 32);
  const int32_t length = 11;
  const sp_prompts prompt = one_prompt(prompt_ids, &length);
  static float base_logits[VOCAB], before_logits[VOCAB], after_logits[VOCAB], again[VOCAB];
  SP_CHECK(sp_context_prefill(base, &prompt, base_logits, VOCAB));
  SP_CHECK(sp_context_prefill(before, &prompt, before_logits, VOCAB));
  assert_memory_not_equal(base_logits, before_logits, sizeof base_logits);

  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = length;
  batch.input_ids = prompt_ids;
  batch.num_input_ids = (size_t)length;
  SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  sp_context* after = context_on(model, adapter, 1, 32);
  SP_CHECK(sp_context_prefill(after, &prompt, after_logits, VOCAB));
  SP_CHECK(sp_context_prefill(before, &prompt, again, VOCAB));
  assert_memory_equal(again, before_logits, sizeof again);
  assert_memory_not_equal(after_logits, before_logits, sizeof after_logits);

  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
  SP_CHECK(sp_context_prefill(before, &prompt, again, VOCAB));
  assert_memory_equal(again, before_logits, sizeof again);
  const sp_generate_params params = greedy(4);
  SP_CHECK(sp_context_generate(after, &prompt, &params, NULL));
  sp_context_free(before);
  SP_EXPECT_ERROR(sp_context_prefill(before, &prompt, again, VOCAB), SP_ERR_INVALID_HANDLE, "sp_context");
  sp_context_free(after);
  sp_context_free(base);
}

/* Scoring (a full forward per pair) against the cache: prefill and decode logits, log-softmaxed. */
static void scores_equal_the_log_probabilities_of_prefill_and_decode(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.method = SP_METHOD_PREFIX_TUNING;
  adapter_params.num_virtual_tokens = 3;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &adapter_params));
  sp_context* context = context_on(model, adapter, 2, 32);
  /* Two pairs: prompts of 11 and 3 tokens, continuations of 3 and 1. */
  const int32_t continuation_ids[] = {50, 60, 70, 80};
  const int32_t continuation_lengths[] = {3, 1};
  sp_prompts prompts = three_prompts();
  prompts.count = 2;
  prompts.num_ids = 14;
  prompts.num_lengths = 2;
  sp_prompts continuations = sp_prompts_init();
  continuations.count = 2;
  continuations.ids = continuation_ids;
  continuations.num_ids = 4;
  continuations.lengths = continuation_lengths;
  continuations.num_lengths = 2;
  float scores[2];
  SP_CHECK(sp_context_score(context, &prompts, &continuations, scores, 2));

  static float logits[2 * VOCAB];
  SP_CHECK(sp_context_prefill(context, &prompts, logits, 2 * VOCAB));
  double expected[2] = {log_softmax_at(logits, VOCAB, 50), log_softmax_at(logits + VOCAB, VOCAB, 80)};
  int32_t next[2] = {50, 80};
  SP_CHECK(sp_context_decode(context, next, 2, logits, 2 * VOCAB));
  expected[0] += log_softmax_at(logits, VOCAB, 60);
  next[0] = 60;
  SP_CHECK(sp_context_decode(context, next, 2, logits, 2 * VOCAB));
  expected[0] += log_softmax_at(logits, VOCAB, 70);
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  for (int row = 0; row < 2; ++row) {
    const float reference = (float)expected[row];
    printf("  pair %d: score %.6f, from prefill/decode %.6f\n", row, scores[row], expected[row]);
    assert_true(scores[row] < 0);
    ASSERT_CONFORMS("score", &scores[row], &reference, 1,
                    conformance_loss_length(conformance_forward_length(&info, 4 * info.hidden_size, 18, 0), &info, 3));
  }
  sp_context_free(context);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* Decoding steps on a model wide enough for the batched products (few_rows_linear: GPT-2 small's
 * 768-wide, 12-layer shape) give the logits of the full forward of each row alone. */
static void decoding_on_a_wide_model_equals_the_full_forward(void** state) {
  (void)state;
  char folder[1024];
  snprintf(folder, sizeof folder, "%s/gpt2-small-shape", models_root);
  sp_model* model = load(folder);
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  const int32_t vocab = (int32_t)info.vocab_size;
  sp_context* context = context_on(model, NULL, 2, 16);
  int32_t rows[2][12] = {{5, 9, 13, 17, 21, 25}, {7, 11, 15}};
  int32_t lengths[2] = {6, 3};
  const int32_t ids[9] = {5, 9, 13, 17, 21, 25, 7, 11, 15};
  sp_prompts prompts = sp_prompts_init();
  prompts.count = 2;
  prompts.ids = ids;
  prompts.num_ids = 9;
  prompts.lengths = lengths;
  prompts.num_lengths = 2;
  float* logits = malloc(2 * (size_t)vocab * sizeof(float));
  float* full = malloc((size_t)vocab * sizeof(float));
  SP_CHECK(sp_context_prefill(context, &prompts, logits, 2 * (size_t)vocab));
  const int64_t intermediate = model_intermediate_size(folder, &info);
  for (int step = 0;; ++step) { /* the current logits against the full forward of each row alone */
    for (int row = 0; row < 2; ++row) {
      sp_batch batch = sp_batch_init();
      batch.batch_size = 1;
      batch.seq_len = lengths[row];
      batch.input_ids = rows[row];
      batch.num_input_ids = (size_t)lengths[row];
      SP_CHECK(sp_model_logits(model, &batch, SP_LOGITS_LAST, full, (size_t)vocab));
      ASSERT_CONFORMS(step == 0 ? "prefill vs full forward" : "decode step vs full forward", logits + row * vocab, full,
                      (size_t)vocab, conformance_forward_length(&info, intermediate, lengths[row], 0));
    }
    if (step == 4) break;
    int32_t next[2];
    for (int row = 0; row < 2; ++row) {
      next[row] = (int32_t)((row * 37 + step * 11) % vocab);
      rows[row][lengths[row]++] = next[row];
    }
    SP_CHECK(sp_context_decode(context, next, 2, logits, 2 * (size_t)vocab));
  }
  free(full);
  free(logits);
  sp_context_free(context);
  sp_model_free(model);
}

static void bad_input_is_a_status_and_the_context_stays_usable(void** state) {
  (void)state;
  sp_model* model = load(model_folder);
  sp_context* context = context_on(model, NULL, 2, 16);
  const sp_generate_params params = greedy(4);
  sp_prompts prompts = three_prompts();
  prompts.count = 2;
  prompts.num_ids = 14;
  prompts.num_lengths = 2;
  sp_prompts too_many = three_prompts();
  SP_EXPECT_ERROR(sp_context_generate(context, &too_many, &params, NULL), SP_ERR_OUT_OF_RANGE, "max_batch_size");
  /* Prompt plus new tokens beyond max_length (11 + 6 > 16). */
  sp_generate_params longer = greedy(6);
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &longer, NULL), SP_ERR_OUT_OF_RANGE, "max_length");
  /* An empty prompt, ids outside the vocabulary, counts that disagree, NULLs. */
  const int32_t empty_lengths[2] = {3, 0};
  sp_prompts empty = prompts;
  empty.lengths = empty_lengths;
  empty.num_ids = 3;
  SP_EXPECT_ERROR(sp_context_generate(context, &empty, &params, NULL), SP_ERR_INVALID_ARGUMENT, "empty");
  const int32_t outside[] = {1, 2, 999};
  const int32_t three = 3;
  sp_prompts bad_id = one_prompt(outside, &three);
  SP_EXPECT_ERROR(sp_context_generate(context, &bad_id, &params, NULL), SP_ERR_OUT_OF_RANGE, "999");
  sp_prompts miscounted = prompts;
  miscounted.num_ids = 13;
  SP_EXPECT_ERROR(sp_context_generate(context, &miscounted, &params, NULL), SP_ERR_SHAPE_MISMATCH, "num_ids");
  SP_EXPECT_ERROR(sp_context_generate(context, NULL, &params, NULL), SP_ERR_INVALID_ARGUMENT, "prompts");
  SP_EXPECT_ERROR(sp_context_generate(NULL, &prompts, &params, NULL), SP_ERR_INVALID_ARGUMENT, "context");
  /* Result arrays too small: refused before anything runs. */
  int32_t ids[4];
  sp_generation small = sp_generation_init();
  small.ids = ids;
  small.ids_capacity = 4;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &params, &small), SP_ERR_BUFFER_TOO_SMALL, "8");
  /* Sampling parameters out of range, each named. */
  sp_generate_params bad = params;
  bad.temperature = 0;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &bad, NULL), SP_ERR_INVALID_ARGUMENT, "temperature");
  bad = params;
  bad.top_p = 1.5f;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &bad, NULL), SP_ERR_INVALID_ARGUMENT, "top_p");
  bad = params;
  bad.max_new_tokens = 0;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &bad, NULL), SP_ERR_INVALID_ARGUMENT, "max_new_tokens");
  bad = params;
  bad.do_sample = 2;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &bad, NULL), SP_ERR_INVALID_ARGUMENT, "do_sample");
  const int32_t stop_ids[] = {256};
  bad = params;
  bad.stop_ids = stop_ids;
  bad.num_stop_ids = 1;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &bad, NULL), SP_ERR_OUT_OF_RANGE, "stop_ids");
  const char* empty_stop[] = {""};
  bad = params;
  bad.stop_strings = empty_stop;
  bad.num_stop_strings = 1;
  SP_EXPECT_ERROR(sp_context_generate(context, &prompts, &bad, NULL), SP_ERR_INVALID_ARGUMENT, "stop_strings");
  /* Decoding: nothing prefilled, the wrong number of ids, past max_length. */
  static float logits[2 * VOCAB];
  const int32_t next[2] = {5, 6};
  SP_EXPECT_ERROR(sp_context_decode(context, next, 2, logits, 2 * VOCAB), SP_ERR_INVALID_ARGUMENT, "prefill");
  SP_CHECK(sp_context_prefill(context, &prompts, logits, 2 * VOCAB));
  SP_EXPECT_ERROR(sp_context_decode(context, next, 1, logits, 2 * VOCAB), SP_ERR_INVALID_ARGUMENT, "one id per row");
  SP_EXPECT_ERROR(sp_context_decode(context, next, 2, logits, VOCAB), SP_ERR_BUFFER_TOO_SMALL, "logits");
  for (int i = 0; i < 5; ++i) SP_CHECK(sp_context_decode(context, next, 2, logits, 2 * VOCAB));
  SP_EXPECT_ERROR(sp_context_decode(context, next, 2, logits, 2 * VOCAB), SP_ERR_OUT_OF_RANGE, "max_length");
  SP_CHECK(sp_context_reset(context));
  SP_EXPECT_ERROR(sp_context_decode(context, next, 2, logits, 2 * VOCAB), SP_ERR_INVALID_ARGUMENT, "prefill");
  /* Still usable after all of it. */
  SP_CHECK(sp_context_generate(context, &prompts, &params, NULL));
  sp_context_free(context);

  /* Context parameters, an adapter of another model, a model without a tokenizer given stop strings,
   * a learned-position model too short for max_length, multitask prompt tuning without task ids. */
  sp_context* none = NULL;
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = 0;
  SP_EXPECT_ERROR(sp_context_create(&none, model, NULL, &context_params), SP_ERR_INVALID_ARGUMENT, "max_batch_size");
  assert_null(none);
  /* A cache beyond physical memory (4096 rows of 2^20 positions: terabytes) is refused up front. */
  if (test_model_params().device == SP_DEVICE_CPU) {
    context_params = sp_context_default_params();
    context_params.max_batch_size = 4096;
    context_params.max_length = 1 << 20;
    SP_EXPECT_ERROR(sp_context_create(&none, model, NULL, &context_params), SP_ERR_OUT_OF_MEMORY, "physical memory");
  }
  char folder[1024];
  snprintf(folder, sizeof folder, "%s/gpt2", models_root);
  sp_model* gpt2 = load(folder);
  context_params = sp_context_default_params();
  context_params.max_length = 300;
  SP_EXPECT_ERROR(sp_context_create(&none, gpt2, NULL, &context_params), SP_ERR_OUT_OF_RANGE, "learned positions");
  sp_adapter* other = NULL;
  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = 2;
  SP_CHECK(sp_adapter_create(&other, gpt2, &adapter_params));
  SP_EXPECT_ERROR(sp_context_create(&none, model, other, NULL), SP_ERR_INVALID_ARGUMENT, "another model");
  sp_context* plain = context_on(gpt2, NULL, 2, 16);
  bad = params;
  const char* stops[] = {"x"};
  bad.stop_strings = stops;
  bad.num_stop_strings = 1;
  SP_EXPECT_ERROR(sp_context_generate(plain, &prompts, &bad, NULL), SP_ERR_INVALID_ARGUMENT, "tokenizer");
  sp_context_free(plain);
  adapter_params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  adapter_params.num_tasks = 2;
  sp_adapter* multitask = NULL;
  SP_CHECK(sp_adapter_create(&multitask, gpt2, &adapter_params));
  sp_context* tasks = context_on(gpt2, multitask, 2, 16);
  SP_EXPECT_ERROR(sp_context_generate(tasks, &prompts, &params, NULL), SP_ERR_INVALID_ARGUMENT, "task id");
  const int32_t task_ids[2] = {1, 2};
  prompts.task_ids = task_ids;
  prompts.num_task_ids = 2;
  SP_EXPECT_ERROR(sp_context_generate(tasks, &prompts, &params, NULL), SP_ERR_OUT_OF_RANGE, "task id 2");
  const int32_t good_tasks[2] = {1, 0};
  prompts.task_ids = good_tasks;
  SP_CHECK(sp_context_generate(tasks, &prompts, &params, NULL));
  sp_context_free(tasks);
  sp_adapter_free(multitask);
  sp_adapter_free(other);
  sp_model_free(gpt2);
  sp_model_free(model);
}

/* sp_logits_process against the processors' definitions, written out here (the transformers
 * comparison is in test_generation_conformance). */
static void logits_processors_follow_their_definitions(void** state) {
  (void)state;
  float logits[6] = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 1.0f};
  const int32_t history[] = {0, 1, 1};
  sp_generate_params params = sp_generate_default_params();
  params.repetition_penalty = 2.0f;
  SP_CHECK(sp_logits_process(&params, history, 3, logits, 6)); /* greedy: only the penalty */
  const float penalized[6] = {1.0f, -2.0f, 0.5f, 3.0f, -2.0f, 1.0f};
  assert_memory_equal(logits, penalized, sizeof logits);
  params.repetition_penalty = 1.0f;
  params.do_sample = 1;
  params.temperature = 0.5f;
  params.top_k = 2;
  SP_CHECK(sp_logits_process(&params, NULL, 0, logits, 6));
  /* {1, -2, 0.5, 3, -2, 1} / 0.5, then the two largest: 6, and 2 twice (ties with the k-th stay). */
  assert_true(logits[3] == 6.0f && logits[0] == 2.0f && logits[5] == 2.0f);
  for (int i = 1; i < 5; ++i)
    if (i != 3) assert_true(isinf(logits[i]) && logits[i] < 0);
  SP_EXPECT_ERROR(sp_logits_process(&params, (const int32_t[]){6}, 1, logits, 6), SP_ERR_OUT_OF_RANGE, "history");
  SP_EXPECT_ERROR(sp_logits_process(NULL, NULL, 0, logits, 6), SP_ERR_INVALID_ARGUMENT, "params");
}

int main(int argc, char** argv) {
  const char** folders[] = {&model_folder, &models_root, &scratch_root};
  if (!read_folder_arguments(argc, argv, "<model-with-tokenizer> <models-folder> <scratch-folder>", folders, 3))
    return 2;
  make_dirs(scratch_root);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(streamed_text_is_whole_characters_adding_up_to_the_decoded_ids),
      cmocka_unit_test(each_row_of_a_batch_gets_what_it_gets_alone),
      cmocka_unit_test(pulled_events_equal_the_callbacks_and_stop_when_asked),
      cmocka_unit_test(a_stop_string_ends_the_row_at_the_token_completing_it),
      cmocka_unit_test(the_model_folders_eos_ids_end_rows),
      cmocka_unit_test(a_seed_gives_the_same_tokens_on_any_thread),
      cmocka_unit_test(contexts_keep_their_snapshot_and_outlive_their_handles),
      cmocka_unit_test(scores_equal_the_log_probabilities_of_prefill_and_decode),
      cmocka_unit_test(decoding_on_a_wide_model_equals_the_full_forward),
      cmocka_unit_test(bad_input_is_a_status_and_the_context_stays_usable),
      cmocka_unit_test(logits_processors_follow_their_definitions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
