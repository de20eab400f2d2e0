/* SP_INIT_TEXT from init_text, against PEFT (tests/reference/init_text_reference.py): the model's
 * tokenizer gives the ids PEFT's AutoTokenizer gives, and the initial prompt table is PEFT's, cut
 * or repeated the same way, for prompt tuning and multitask prompt tuning. adapter_config.json
 * records the text. Errors: no tokenizer, no text, a text whose ids leave the model's vocabulary. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

static const char* models_root;
static const char* reference_root;
static const char* scratch_root;

/* The reference case's init text (NUL-terminated; the caller frees it). */
static char* read_text(const char* case_name) {
  char folder[1024], path[1100];
  snprintf(folder, sizeof folder, "%s/%s", reference_root, case_name);
  size_t count = 0;
  char* raw = read_raw(test_path(path, sizeof path, folder, "text.txt"), 1, &count);
  char* text = realloc(raw, count + 1);
  text[count] = '\0';
  return text;
}

static sp_model* load_model_with_tokenizer(void) { return load_test_model(reference_root, "llama-with-tokenizer"); }

static sp_adapter_params text_params(sp_method method, int32_t virtual_tokens, const char* text) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = method;
  params.num_virtual_tokens = virtual_tokens;
  params.init = SP_INIT_TEXT;
  params.init_text = text;
  if (method == SP_METHOD_MULTITASK_PROMPT_TUNING) {
    params.num_tasks = 2;
    params.num_ranks = 1;
  }
  return params;
}

static void check_case(const char* case_name, sp_method method, int32_t virtual_tokens) {
  printf("  %s\n", case_name);
  char folder[1024], path[1100];
  snprintf(folder, sizeof folder, "%s/%s", reference_root, case_name);
  char* text = read_text(case_name);
  size_t reference_id_count = 0, reference_count = 0;
  int32_t* reference_ids =
      read_raw(test_path(path, sizeof path, folder, "ids.i32"), sizeof(int32_t), &reference_id_count);
  float* reference = read_raw(test_path(path, sizeof path, folder, "embedding.f32"), sizeof(float), &reference_count);

  sp_model* model = load_model_with_tokenizer();
  /* The ids: the model's tokenizer against PEFT's AutoTokenizer. */
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  int32_t ids[256];
  size_t id_count = 0;
  SP_CHECK(sp_tokenizer_encode(tokenizer, text, strlen(text), 1, ids, 256, &id_count));
  assert_int_equal(id_count, reference_id_count);
  assert_memory_equal(ids, reference_ids, id_count * sizeof(int32_t));
  sp_tokenizer_free(tokenizer);

  /* The table: PEFT's embedding rows of those ids, cut or repeated. */
  sp_adapter_params params = text_params(method, virtual_tokens, text);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  size_t count = 0;
  SP_CHECK(sp_adapter_parameter_size(adapter, "embedding.weight", &count));
  assert_int_equal(count, reference_count);
  float* ours = malloc(count * sizeof(float));
  SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", ours, count));
  /* A copy of embedding rows: identical in float32 on any device (bfloat16 runs skip this suite). */
  ASSERT_IDENTICAL("initial prompt table vs PEFT", ours, reference, count);

  /* adapter_config.json records the text as PEFT does. */
  char saved[1024], config_path[1100];
  snprintf(saved, sizeof saved, "%s/%s", scratch_root, case_name);
  make_dirs(saved);
  SP_CHECK(sp_adapter_save(adapter, saved));
  size_t config_size = 0;
  char* config = read_raw(test_path(config_path, sizeof config_path, saved, "adapter_config.json"), 1, &config_size);
  config = realloc(config, config_size + 1);
  config[config_size] = '\0';
  char expected[600];
  snprintf(expected, sizeof expected, "\"prompt_tuning_init_text\": \"%s\"", text);
  if (!strstr(config, expected)) fail_msg("adapter_config.json lacks %s:\n%s", expected, config);
  assert_non_null(strstr(config, "\"prompt_tuning_init\": \"TEXT\""));

  free(config);
  free(ours);
  free(reference);
  free(reference_ids);
  free(text);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

static void prompt_tuning_cuts_the_text_ids_as_peft(void** state) {
  (void)state;
  check_case("prompt_cut", SP_METHOD_PROMPT_TUNING, 4);
}

static void prompt_tuning_repeats_the_text_ids_as_peft(void** state) {
  (void)state;
  check_case("prompt_repeat", SP_METHOD_PROMPT_TUNING, 11);
}

static void multitask_prompt_tuning_starts_from_the_text_as_peft(void** state) {
  (void)state;
  check_case("mpt", SP_METHOD_MULTITASK_PROMPT_TUNING, 6);
}

static void text_init_errors_are_named(void** state) {
  (void)state;
  sp_adapter* adapter = NULL;
  /* A model folder without tokenizer.json. */
  sp_model* bare = load_test_model(models_root, "llama");
  sp_adapter_params params = text_params(SP_METHOD_PROMPT_TUNING, 4, "quick brown fox");
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, bare, &params), SP_ERR_NOT_FOUND, "tokenizer.json");
  assert_null(adapter);
  sp_tokenizer* tokenizer = NULL;
  SP_EXPECT_ERROR(sp_model_tokenizer(&tokenizer, bare), SP_ERR_NOT_FOUND, "tokenizer.json");
  assert_null(tokenizer);
  /* ...works with a tokenizer named by tokenizer_name_or_path. */
  char named[1024];
  snprintf(named, sizeof named, "%s/llama-with-tokenizer/tokenizer.json", reference_root);
  params.tokenizer_name_or_path = named;
  SP_CHECK(sp_adapter_create(&adapter, bare, &params));
  sp_adapter_free(adapter);
  adapter = NULL;
  sp_model_free(bare);

  sp_model* model = load_model_with_tokenizer();
  params = text_params(SP_METHOD_PROMPT_TUNING, 4, NULL);
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, model, &params), SP_ERR_INVALID_ARGUMENT, "init_text");
  params.init_text = "";
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, model, &params), SP_ERR_INVALID_ARGUMENT, "init_text");
  params.init_text = "bad \xC0\xAF utf-8";
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, model, &params), SP_ERR_INVALID_ARGUMENT, "UTF-8");
  assert_null(adapter);
  /* Explicit ids still win over the text. */
  const int32_t ids[] = {5, 6};
  params = text_params(SP_METHOD_PROMPT_TUNING, 4, "quick brown fox");
  params.init_token_ids = ids;
  params.num_init_token_ids = 2;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  sp_adapter_free(adapter);
  sp_model_free(model);
}

/* A model folder whose tokenizer.json is broken still loads, and serves ids; asking for its
 * tokenizer (or for a TEXT init from text) reports why the tokenizer could not be read. */
static void a_broken_tokenizer_leaves_the_model_usable(void** state) {
  (void)state;
  char folder[1024], source[1100], link_path[1100], path[1100];
  snprintf(folder, sizeof folder, "%s/broken-tokenizer", scratch_root);
  make_dirs(folder);
  const char* files[] = {"config.json", "model.safetensors"};
  for (size_t i = 0; i < 2; ++i) {
    char absolute[PATH_MAX];
    snprintf(source, sizeof source, "%s/llama/%s", models_root, files[i]);
    if (!realpath(source, absolute)) fail_msg("no %s", source);
    snprintf(link_path, sizeof link_path, "%s/%s", folder, files[i]);
    unlink(link_path);
    if (symlink(absolute, link_path) != 0) fail_msg("cannot link %s", link_path);
  }
  FILE* file = fopen(test_path(path, sizeof path, folder, "tokenizer.json"), "w");
  assert_non_null(file);
  fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"decoder\": {\"type\": \"Nope\"}}",
        file);
  fclose(file);

  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&model, folder, &params));
  sp_tokenizer* tokenizer = NULL;
  SP_EXPECT_ERROR(sp_model_tokenizer(&tokenizer, model), SP_ERR_UNSUPPORTED, "Nope");
  assert_null(tokenizer);
  sp_adapter_params adapter_params = text_params(SP_METHOD_PROMPT_TUNING, 4, "quick brown fox");
  sp_adapter* adapter = NULL;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, model, &adapter_params), SP_ERR_UNSUPPORTED, "Nope");
  /* Ids still work: the base model's logits of one row. */
  int32_t ids[4] = {1, 2, 3, 4};
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = 4;
  batch.input_ids = ids;
  batch.num_input_ids = 4;
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  float* logits = malloc((size_t)info.vocab_size * sizeof(float));
  SP_CHECK(sp_model_logits(model, &batch, SP_LOGITS_LAST, logits, (size_t)info.vocab_size));
  free(logits);
  sp_model_free(model);
}

int main(int argc, char** argv) {
  const char** folders[] = {&models_root, &reference_root, &scratch_root};
  if (!read_folder_arguments(argc, argv, "<models-folder> <init-text-reference> <scratch-folder>", folders, 3))
    return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(prompt_tuning_cuts_the_text_ids_as_peft),
      cmocka_unit_test(prompt_tuning_repeats_the_text_ids_as_peft),
      cmocka_unit_test(multitask_prompt_tuning_starts_from_the_text_as_peft),
      cmocka_unit_test(text_init_errors_are_named),
      cmocka_unit_test(a_broken_tokenizer_leaves_the_model_usable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
