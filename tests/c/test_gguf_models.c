/*
 * GGUF models through the public C API, against transformers loading the same files
 * (from_pretrained(..., gguf_file=...)), and the GGUF files that must be refused.
 *
 *   test_gguf_models <fixture-folder> <scratch-folder>
 *
 * The fixture folder is written by tests/reference/gguf_model_reference.py: tiny random llama (GQA),
 * llama (attention biases, tied embeddings), qwen2 and gpt2 models converted as llama.cpp's
 * converter converts them, their tensors in F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; the real
 * SmolLM2-135M-Instruct Q4_1 file; refused files. Both sides dequantize bit for bit alike (the
 * reader's own suite, tests/core/test_gguf.cpp), so logits are held to the float32 tolerance rule.
 * Chat templates are tests/c/test_chat_template.c's.
 */
#include "test_support.h"
#include "tokenizer_corpus.h" /* the fixtures' binary framing */

#define BATCH 2
#define SEQ 7

static const char* fixture_root;
static const char* scratch_root;

/* ------------------------------------------------------------------------------ fixture files */

/* <fixture>/<case>/info.txt: "key value" lines. */
typedef struct case_info {
  char model_type[32];
  int64_t vocab_size, hidden_size, num_layers, num_attention_heads, num_key_value_heads, head_dim,
      max_position_embeddings, intermediate_size, eos_id;
} case_info;

static case_info read_case_info(const char* name) {
  char path[1024], key[64], value[64];
  snprintf(path, sizeof path, "%s/%s/info.txt", fixture_root, name);
  FILE* file = fopen(path, "r");
  if (!file) fail_msg("cannot open %s", path);
  case_info info;
  memset(&info, 0, sizeof info);
  info.eos_id = -1;
  while (fscanf(file, "%63s %63s", key, value) == 2) {
    long long number = strtoll(value, NULL, 10);
    if (strcmp(key, "model_type") == 0) snprintf(info.model_type, sizeof info.model_type, "%.31s", value);
    if (strcmp(key, "vocab_size") == 0) info.vocab_size = number;
    if (strcmp(key, "hidden_size") == 0) info.hidden_size = number;
    if (strcmp(key, "num_layers") == 0) info.num_layers = number;
    if (strcmp(key, "num_attention_heads") == 0) info.num_attention_heads = number;
    if (strcmp(key, "num_key_value_heads") == 0) info.num_key_value_heads = number;
    if (strcmp(key, "head_dim") == 0) info.head_dim = number;
    if (strcmp(key, "max_position_embeddings") == 0) info.max_position_embeddings = number;
    if (strcmp(key, "intermediate_size") == 0) info.intermediate_size = number;
    if (strcmp(key, "eos_ids") == 0) info.eos_id = number;
  }
  fclose(file);
  if (info.vocab_size <= 0 || info.intermediate_size <= 0) fail_msg("incomplete %s", path);
  return info;
}

static const char* gguf_path(char* buffer, size_t size, const char* name) {
  if (snprintf(buffer, size, "%s/%s.gguf", fixture_root, name) >= (int)size) fail_msg("path too long");
  return buffer;
}

static sp_model* load_gguf_model(const char* name) {
  char path[1024];
  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&model, gguf_path(path, sizeof path, name), &params));
  return model;
}

static void* read_case_file(const char* name, const char* file, size_t element_size, size_t expected_count) {
  char path[1024];
  size_t count = 0;
  snprintf(path, sizeof path, "%s/%s/%s", fixture_root, name, file);
  void* data = read_raw(path, element_size, &count);
  if (count != expected_count) fail_msg("%s holds %zu elements, expected %zu", path, count, expected_count);
  return data;
}

/* A case's fixed batch over the caller's arrays: BATCH x SEQ ids, and their mask unless NULL. */
static sp_batch case_batch(int32_t* ids, int32_t* mask) {
  sp_batch batch = sp_batch_init();
  batch.batch_size = BATCH;
  batch.seq_len = SEQ;
  batch.input_ids = ids;
  batch.num_input_ids = BATCH * SEQ;
  if (mask) {
    batch.attention_mask = mask;
    batch.num_attention_mask = BATCH * SEQ;
  }
  return batch;
}

static void assert_info_matches(const sp_model* model, const case_info* want) {
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  assert_string_equal(info.model_type, want->model_type);
  assert_int_equal(info.vocab_size, want->vocab_size);
  assert_int_equal(info.hidden_size, want->hidden_size);
  assert_int_equal(info.num_layers, want->num_layers);
  assert_int_equal(info.num_attention_heads, want->num_attention_heads);
  assert_int_equal(info.num_key_value_heads, want->num_key_value_heads);
  assert_int_equal(info.head_dim, want->head_dim);
  assert_int_equal(info.max_position_embeddings, want->max_position_embeddings);
}

/* ------------------------------------------------------------------------------ tiny models */

static void tiny_model_matches_transformers(void** state) {
  const char* name = (const char*)*state;
  const case_info want = read_case_info(name);
  sp_model* model = load_gguf_model(name);
  assert_info_matches(model, &want);
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));

  int32_t* ids = read_case_file(name, "input_ids.i32", 4, BATCH * SEQ);
  int32_t* mask = read_case_file(name, "attention_mask.i32", 4, BATCH * SEQ);
  const size_t V = (size_t)info.vocab_size, count = (size_t)BATCH * SEQ * V;
  float* expected = read_case_file(name, "logits.f32", 4, count);
  const sp_batch batch = case_batch(ids, mask);
  const double length = conformance_forward_length(&info, want.intermediate_size, SEQ, 0);

  float* ours = malloc(count * sizeof(float));
  assert_non_null(ours);
  printf("  %s:\n", name);
  SP_CHECK(sp_model_logits(model, &batch, SP_LOGITS_ALL, ours, count));
  ASSERT_CONFORMS("logits vs transformers (GGUF)", ours, expected, count, length);
  SP_CHECK(sp_model_logits(model, &batch, SP_LOGITS_LAST, ours, BATCH * V));
  for (int row = 0; row < BATCH; ++row) {
    int last = 0;
    for (int t = 0; t < SEQ; ++t)
      if (mask[row * SEQ + t]) last = t;
    ASSERT_CONFORMS("last-position logits vs transformers", ours + row * V, expected + ((size_t)row * SEQ + last) * V,
                    V, length);
  }
  free(ours);
  free(expected);
  free(ids);
  free(mask);
  sp_model_free(model);
}

/* ------------------------------------------------------------------------------ SmolLM2 */

typedef struct prompt_set {
  char* buffer; /* the file; texts point into it */
  uint32_t count;
  corpus_text texts[8];
  int32_t* ids[8];
  uint32_t lengths[8];
} prompt_set;

/* smollm2/prompts.bin, in the fixtures' framing (tokenizer_corpus.h): magic, version, then data. */
static prompt_set read_prompts(void) {
  char path[1024];
  prompt_set set;
  memset(&set, 0, sizeof set);
  snprintf(path, sizeof path, "%s/smollm2/prompts.bin", fixture_root);
  size_t size = 0;
  set.buffer = corpus_read_file(path, &size);
  if (!set.buffer) fail_msg("cannot read %s", path);
  corpus_cursor cursor = {set.buffer, set.buffer + size, 0};
  if (!corpus_magic(&cursor, "SPPR", path)) fail_msg("bad %s", path);
  set.count = corpus_u32(&cursor);
  if (set.count == 0 || set.count > 8) fail_msg("%s: %u prompts", path, set.count);
  for (uint32_t i = 0; i < set.count; ++i) {
    set.texts[i] = corpus_str(&cursor);
    set.lengths[i] = corpus_u32(&cursor);
    set.ids[i] = malloc((set.lengths[i] + 1) * sizeof(int32_t));
    assert_non_null(set.ids[i]);
    for (uint32_t k = 0; k < set.lengths[i]; ++k) set.ids[i][k] = (int32_t)corpus_u32(&cursor);
  }
  if (cursor.failed) fail_msg("%s is truncated", path);
  return set;
}

static void free_prompts(prompt_set* set) {
  for (uint32_t i = 0; i < set->count; ++i) free(set->ids[i]);
  free(set->buffer);
}

/* The tokenizer gives transformers' ids for every prompt. */
static void assert_encodes_like_transformers(const sp_tokenizer* tokenizer, const prompt_set* set, const char* how) {
  for (uint32_t i = 0; i < set->count; ++i) {
    int32_t ids[256];
    size_t count = 0;
    SP_CHECK(sp_tokenizer_encode(tokenizer, set->texts[i].data, set->texts[i].size, 1, ids, 256, &count));
    if (count != set->lengths[i] || memcmp(ids, set->ids[i], count * sizeof(int32_t)) != 0)
      fail_msg("%s: prompt %u encodes to %zu ids, transformers %u (or different ids)", how, i, count, set->lengths[i]);
  }
  printf("    %-48s %u prompts, ids identical\n", how, set->count);
}

static void smollm2_matches_transformers(void** state) {
  (void)state;
  const case_info want = read_case_info("smollm2");
  prompt_set set = read_prompts();
  sp_model* model = load_gguf_model("smollm2");
  assert_info_matches(model, &want);
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  printf("  smollm2:\n");

  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  assert_encodes_like_transformers(tokenizer, &set, "the model's tokenizer vs transformers");
  sp_tokenizer_free(tokenizer);
  char path[1024];
  SP_CHECK(sp_tokenizer_load(&tokenizer, gguf_path(path, sizeof path, "smollm2")));
  assert_encodes_like_transformers(tokenizer, &set, "sp_tokenizer_load(file.gguf) vs transformers");
  sp_tokenizer_info tokenizer_info = sp_tokenizer_info_init();
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &tokenizer_info));
  assert_int_equal(tokenizer_info.eos_id, want.eos_id);
  sp_tokenizer_free(tokenizer);

  int32_t eos[8];
  size_t eos_count = 0;
  SP_CHECK(sp_model_eos_ids(model, eos, 8, &eos_count));
  assert_int_equal(eos_count, 1);
  assert_int_equal(eos[0], want.eos_id);

  /* All prompts in one right-padded batch; SP_LOGITS_LAST gives each row's last real position. */
  uint32_t longest = 0;
  for (uint32_t i = 0; i < set.count; ++i)
    if (set.lengths[i] > longest) longest = set.lengths[i];
  const size_t cells = (size_t)set.count * longest, V = (size_t)info.vocab_size;
  int32_t* ids = calloc(cells, sizeof(int32_t));
  int32_t* mask = calloc(cells, sizeof(int32_t));
  assert_true(ids && mask);
  for (uint32_t i = 0; i < set.count; ++i)
    for (uint32_t k = 0; k < set.lengths[i]; ++k) {
      ids[i * longest + k] = set.ids[i][k];
      mask[i * longest + k] = 1;
    }
  sp_batch batch = sp_batch_init();
  batch.batch_size = (int32_t)set.count;
  batch.seq_len = (int32_t)longest;
  batch.input_ids = ids;
  batch.num_input_ids = cells;
  batch.attention_mask = mask;
  batch.num_attention_mask = cells;
  float* expected = read_case_file("smollm2", "last_logits.f32", 4, set.count * V);
  float* ours = malloc(set.count * V * sizeof(float));
  assert_non_null(ours);
  SP_CHECK(sp_model_logits(model, &batch, SP_LOGITS_LAST, ours, set.count * V));
  for (uint32_t i = 0; i < set.count; ++i) {
    char label[64];
    snprintf(label, sizeof label, "prompt %u last logits vs transformers", i);
    ASSERT_CONFORMS(label, ours + i * V, expected + i * V, V,
                    conformance_forward_length(&info, want.intermediate_size, set.lengths[i], 0));
    /* the next token, as greedy generation would choose it */
    size_t best_ours = 0, best_theirs = 0;
    for (size_t v = 1; v < V; ++v) {
      if (ours[i * V + v] > ours[i * V + best_ours]) best_ours = v;
      if (expected[i * V + v] > expected[i * V + best_theirs]) best_theirs = v;
    }
    assert_int_equal(best_ours, best_theirs);
  }
  free(ours);
  free(expected);
  free(ids);
  free(mask);
  free_prompts(&set);
  sp_model_free(model);
}

/* ------------------------------------------------------------------------------ training */

static int32_t count_tokens(const sp_token_event* event, void* user_data) {
  (void)event;
  ++*(int*)user_data;
  return 0;
}

/* Prompt tuning trains on a quantized GGUF model (the loss falls), and a context generates with the
 * trained prompt: greedy, its first token is the argmax of the adapter's last-position logits. */
static void prompt_tuning_trains_and_generates_on_a_gguf_model(void** state) {
  (void)state;
  sp_model* model = load_gguf_model("llama-gqa");
  sp_adapter_params adapter_params = sp_adapter_default_params();
  adapter_params.num_virtual_tokens = 4;
  adapter_params.seed = 11;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &adapter_params));
  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.learning_rate = 0.1;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &trainer_params));

  /* One fixed sequence to learn: "count up by 3". */
  int32_t ids[2 * 8];
  for (int i = 0; i < 16; ++i) ids[i] = (int32_t)((i % 8) * 3 + 10 + (i / 8));
  sp_batch batch = sp_batch_init();
  batch.batch_size = 2;
  batch.seq_len = 8;
  batch.input_ids = ids;
  batch.num_input_ids = 16;
  float first = 0, last = 0;
  for (int step = 0; step < 12; ++step) { /* 5.94 -> 5.31 when written */
    sp_train_result result = sp_train_result_init();
    SP_CHECK(sp_trainer_step(trainer, &batch, &result));
    assert_int_equal(result.updated, 1);
    if (step == 0) first = result.loss;
    last = result.loss;
  }
  printf("    prompt tuning on llama-gqa.gguf: loss %.4f -> %.4f over 12 steps\n", first, last);
  assert_true(last < first * 0.95f);

  /* The first generated token is the argmax of the adapter's logits after the prompt. */
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  sp_batch prompt_batch = sp_batch_init();
  prompt_batch.batch_size = 1;
  prompt_batch.seq_len = 3;
  prompt_batch.input_ids = ids;
  prompt_batch.num_input_ids = 3;
  float* logits = malloc((size_t)info.vocab_size * sizeof(float));
  assert_non_null(logits);
  SP_CHECK(sp_adapter_logits(adapter, &prompt_batch, SP_LOGITS_LAST, logits, (size_t)info.vocab_size));
  int32_t best = 0;
  for (int32_t v = 1; v < (int32_t)info.vocab_size; ++v)
    if (logits[v] > logits[best]) best = v;
  free(logits);

  sp_context_params context_params = sp_context_default_params();
  context_params.max_length = 32;
  sp_context* context = NULL;
  SP_CHECK(sp_context_create(&context, model, adapter, &context_params));
  const int32_t length = 3;
  sp_prompts prompts = sp_prompts_init();
  prompts.count = 1;
  prompts.ids = ids;
  prompts.num_ids = 3;
  prompts.lengths = &length;
  prompts.num_lengths = 1;
  sp_generate_params generate = sp_generate_default_params();
  generate.max_new_tokens = 5;
  generate.use_model_eos = 0;
  int streamed = 0;
  generate.callback = count_tokens;
  generate.user_data = &streamed;
  int32_t out[5], counts[1];
  sp_stop_reason reasons[1];
  sp_generation result = sp_generation_init();
  result.ids = out;
  result.ids_capacity = 5;
  result.counts = counts;
  result.stop_reasons = reasons;
  result.rows_capacity = 1;
  SP_CHECK(sp_context_generate(context, &prompts, &generate, &result));
  assert_int_equal(counts[0], 5);
  assert_int_equal(streamed, 5);
  assert_int_equal(reasons[0], SP_STOP_MAX_TOKENS);
  assert_int_equal(out[0], best);
  printf("    generated after the trained prompt: %d %d %d %d %d (first = argmax of the adapter's logits)\n", out[0],
         out[1], out[2], out[3], out[4]);
  sp_context_free(context);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* ------------------------------------------------------------------------------ refusals */

static float* model_logits(const sp_model* model, const sp_batch* batch, size_t count) {
  float* logits = malloc(count * sizeof(float));
  assert_non_null(logits);
  SP_CHECK(sp_model_logits(model, batch, SP_LOGITS_ALL, logits, count));
  return logits;
}

/* `fragments`: what the message must hold (the first checked by SP_EXPECT_ERROR); NULL-terminated. */
static void expect_refusal(const char* path, sp_status status, const char* const* fragments) {
  sp_model* model = (sp_model*)0x1;
  sp_model_params params = test_model_params();
  SP_EXPECT_ERROR(sp_model_create(&model, path, &params), status, fragments[0]);
  assert_null(model);
  for (const char* const* fragment = fragments + 1; *fragment; ++fragment)
    if (strstr(sp_last_error(), *fragment) == NULL)
      fail_msg("%s: message \"%s\" does not mention \"%s\"", path, sp_last_error(), *fragment);
  printf("    %-28s %s: %s\n", strrchr(path, '/') + 1, sp_status_string(status), sp_last_error());
}

/* Each refused file gives its status and names what is wrong; a model loaded before computes the
 * same logits afterwards, and the next successful call clears the error. */
static void refused_files_name_the_problem(void** state) {
  (void)state;
  sp_model* model = load_gguf_model("qwen2");
  int32_t* ids = read_case_file("qwen2", "input_ids.i32", 4, BATCH * SEQ);
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  const sp_batch batch = case_batch(ids, NULL);
  const size_t count = (size_t)BATCH * SEQ * (size_t)info.vocab_size;
  float* before = model_logits(model, &batch, count);

  char path[1024];
  /* Tensors are named as the file names them, with the checkpoint name they stand for, and the file. */
  const struct {
    const char* file;
    sp_status status;
    const char* fragments[4];
  } cases[] = {
      {"bad/falcon.gguf", SP_ERR_UNSUPPORTED, {"\"falcon\""}},
      {"bad/q8_1.gguf", SP_ERR_UNSUPPORTED, {"Q8_1"}},
      {"bad/iq4_nl.gguf", SP_ERR_UNSUPPORTED, {"IQ4_NL"}},
      {"bad/missing.gguf",
       SP_ERR_FORMAT,
       {"tensor 'blk.1.ffn_down.weight'", "model.layers.1.mlp.down_proj.weight", "missing.gguf"}},
      {"bad/shape.gguf",
       SP_ERR_SHAPE_MISMATCH,
       {"tensor 'blk.0.ffn_gate.weight'", "model.layers.0.mlp.gate_proj.weight", "shape.gguf"}},
      {"bad/rope_freqs.gguf", SP_ERR_UNSUPPORTED, {"rope_freqs.weight"}},
      {"bad/extra_bias.gguf", SP_ERR_UNSUPPORTED, {"tensor 'blk.0.attn_output.bias'", "qwen2", "extra_bias.gguf"}},
      {"bad/truncated.gguf", SP_ERR_FORMAT, {"truncated.gguf"}},
      {"no-such-model.gguf", SP_ERR_NOT_FOUND, {"no such file or folder: '", "no-such-model.gguf'"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    snprintf(path, sizeof path, "%s/%s", fixture_root, cases[i].file);
    expect_refusal(path, cases[i].status, cases[i].fragments);
  }
  /* A file that is not GGUF (nor a folder): its path and the missing magic. */
  make_dirs(scratch_root);
  snprintf(path, sizeof path, "%s/not-a-model.gguf", scratch_root);
  FILE* file = fopen(path, "w");
  assert_non_null(file);
  fputs("{\"model_type\": \"llama\"}\n", file);
  fclose(file);
  expect_refusal(path, SP_ERR_NOT_FOUND, (const char* const[]){"not-a-model.gguf", NULL});
  SP_EXPECT_ERROR(sp_model_create(&(sp_model*){NULL}, path, NULL), SP_ERR_NOT_FOUND, "GGUF");
  /* The tokenizer loader refuses it too, rather than reading it as JSON silently. */
  sp_tokenizer* tokenizer = NULL;
  assert_int_not_equal(sp_tokenizer_load(&tokenizer, path), SP_OK);
  assert_null(tokenizer);

  float* after = model_logits(model, &batch, count);
  assert_memory_equal(before, after, count * sizeof(float));
  assert_string_equal(sp_last_error(), "");
  free(before);
  free(after);
  free(ids);
  sp_model_free(model);
}

/* The tensor extra_bias.gguf is refused for, in a safetensors folder instead: transformers loads the
 * folder and ignores it, and so does softprompt (logits as transformers computes them). */
static void a_folder_keeps_tensors_it_does_not_use(void** state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/qwen2-extra/model", fixture_root);
  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&model, path, &params));
  const case_info want = read_case_info("qwen2");
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  int32_t* ids = read_case_file("qwen2", "input_ids.i32", 4, BATCH * SEQ);
  int32_t* mask = read_case_file("qwen2", "attention_mask.i32", 4, BATCH * SEQ);
  const size_t count = (size_t)BATCH * SEQ * (size_t)info.vocab_size;
  float* expected = read_case_file("qwen2-extra", "logits.f32", 4, count);
  const sp_batch batch = case_batch(ids, mask);
  float* ours = model_logits(model, &batch, count);
  ASSERT_CONFORMS("qwen2 folder with an unused tensor vs transformers", ours, expected, count,
                  conformance_forward_length(&info, want.intermediate_size, SEQ, 0));
  free(ours);
  free(expected);
  free(ids);
  free(mask);
  sp_model_free(model);
}

/* A GGUF model file without tokenizer metadata has no tokenizer; the model itself works. */
static void a_model_without_tokenizer_metadata_says_so(void** state) {
  (void)state;
  sp_model* model = load_gguf_model("llama-gqa");
  sp_tokenizer* tokenizer = NULL;
  assert_int_equal(sp_model_tokenizer(&tokenizer, model), SP_ERR_NOT_FOUND);
  assert_null(tokenizer);
  size_t count = 99;
  SP_CHECK(sp_model_eos_ids(model, NULL, 0, &count));
  assert_int_equal(count, 0);
  sp_model_free(model);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<fixture-folder> <scratch-folder>",
                             (const char**[]){&fixture_root, &scratch_root}, 2))
    return 2;
  static const char* const cases[] = {"llama-gqa", "llama-bias", "qwen2", "gpt2"};
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(tiny_model_matches_transformers, (void*)cases[0]),
      cmocka_unit_test_prestate(tiny_model_matches_transformers, (void*)cases[1]),
      cmocka_unit_test_prestate(tiny_model_matches_transformers, (void*)cases[2]),
      cmocka_unit_test_prestate(tiny_model_matches_transformers, (void*)cases[3]),
      cmocka_unit_test(smollm2_matches_transformers),
      cmocka_unit_test(prompt_tuning_trains_and_generates_on_a_gguf_model),
      cmocka_unit_test(refused_files_name_the_problem),
      cmocka_unit_test(a_folder_keeps_tensors_it_does_not_use),
      cmocka_unit_test(a_model_without_tokenizer_metadata_says_so),
  };
  const int failed = cmocka_run_group_tests_name("GGUF models against transformers", tests, NULL, NULL);
  report_worst_conformance("gguf_models");
  return failed;
}
