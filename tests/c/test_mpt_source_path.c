/*
 * An MPT adapter created from a source adapter records a source that PEFT can read, whatever form
 * the caller named it in (folder, folder/, relative folder, relative file): adapter_config.json's
 * prompt_tuning_init_state_dict_path is the absolute path of an existing *.safetensors file. (PEFT
 * reads that path again in PeftModel.from_pretrained, with safetensors' load_file when it ends in
 * ".safetensors" and as a pickle otherwise: a folder there is an IsADirectoryError.)
 *
 *   test_mpt_source_path <models-folder> <reference-folder> <out-folder>
 *
 * Also writes <out>/ours/llama/mpt_source_folder/{adapter, our_logits.f32} (made from a source
 * named by a relative folder path) for check_ours_in_peft.py, which loads it in PEFT.
 */
#include <limits.h>
#include <unistd.h>

#include "conformance_constants.h"
#include "test_support.h"

static const char* models_root;
static const char* reference_root;
static const char* out_root;

/* The string value of "key" in the JSON file at `path` (no escapes expected), into `out`. */
static void json_string_field(const char* path, const char* key, char* out, size_t size) {
  size_t length = 0;
  char* text = read_raw(path, 1, &length);
  text = realloc(text, length + 1);
  text[length] = '\0';
  char pattern[128];
  snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
  const char* start = strstr(text, pattern);
  if (!start) fail_msg("%s has no string \"%s\"", path, key);
  start += strlen(pattern);
  const char* end = strchr(start, '"');
  if (!end || (size_t)(end - start) >= size) fail_msg("%s: \"%s\" is not a plain string", path, key);
  memcpy(out, start, (size_t)(end - start));
  out[end - start] = '\0';
  free(text);
}

static int ends_with(const char* text, const char* suffix) {
  size_t a = strlen(text), b = strlen(suffix);
  return a >= b && strcmp(text + a - b, suffix) == 0;
}

static sp_adapter* create_target(sp_model* model, sp_prompt_init init, const char* source) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  params.init = init;
  params.num_virtual_tokens = 4;
  params.num_tasks = 1;
  params.num_ranks = 2;
  params.source_task = 1;
  params.seed = 9;
  params.source_adapter = source;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  return adapter;
}

/* Saves `adapter` to `folder` and asserts what its config records as the source. */
static void assert_records_source_file(sp_adapter* adapter, const char* folder, const char* expected_file) {
  char path[1200], recorded[1200];
  SP_CHECK(sp_adapter_save(adapter, folder));
  json_string_field(test_path(path, sizeof path, folder, "adapter_config.json"), "prompt_tuning_init_state_dict_path",
                    recorded, sizeof recorded);
  struct stat info;
  if (recorded[0] != '/' || !ends_with(recorded, ".safetensors") || stat(recorded, &info) != 0 ||
      !S_ISREG(info.st_mode))
    fail_msg("prompt_tuning_init_state_dict_path is \"%s\": not the absolute path of a .safetensors file", recorded);
  char resolved[PATH_MAX];
  if (!realpath(recorded, resolved) || strcmp(resolved, expected_file) != 0)
    fail_msg("recorded \"%s\", expected the file \"%s\"", recorded, expected_file);
}

static void every_form_of_the_source_is_recorded_as_its_file(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  char sources[900], source_folder[1000], source_file[PATH_MAX], target[1000],
      cwd[PATH_MAX]; /* realpath writes up to PATH_MAX */
  snprintf(sources, sizeof sources, "%s/sources", out_root);
  make_dirs(sources);
  snprintf(source_folder, sizeof source_folder, "%s/mpt3", sources);

  sp_adapter_params params = sp_adapter_default_params(); /* a three-task source */
  params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  params.num_virtual_tokens = 4;
  params.num_tasks = 3;
  params.num_ranks = 2;
  params.seed = 5;
  sp_adapter* source = NULL;
  SP_CHECK(sp_adapter_create(&source, model, &params));
  SP_CHECK(sp_adapter_save(source, source_folder));
  sp_adapter_free(source);
  assert_non_null(realpath(source_folder, source_file));
  strcat(source_file, "/adapter_model.safetensors");

  /* A Hugging Face cache names files through links to extension-less blobs: the link's path, whose
   * ".safetensors" ending tells PEFT the format, must be recorded, not the blob's. */
  char blob_folder[1000], snapshot[1000], blob[1100], link[1100], blob_file[PATH_MAX];
  snprintf(blob_folder, sizeof blob_folder, "%s/blobs", sources);
  snprintf(snapshot, sizeof snapshot, "%s/snapshot", sources);
  make_dirs(blob_folder);
  make_dirs(snapshot);
  snprintf(blob, sizeof blob, "%s/3f2a9c", blob_folder);
  snprintf(link, sizeof link, "%s/adapter_model.safetensors", snapshot);
  unlink(blob);
  unlink(link);
  size_t bytes = 0;
  void* content = read_raw(source_file, 1, &bytes);
  FILE* blob_stream = fopen(blob, "wb");
  assert_non_null(blob_stream);
  assert_int_equal(fwrite(content, 1, bytes, blob_stream), bytes);
  fclose(blob_stream);
  free(content);
  assert_int_equal(symlink("../blobs/3f2a9c", link), 0);
  assert_non_null(realpath(blob, blob_file));

  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(sources), 0); /* relative forms are relative to the caller's directory */
  {
    /* Recorded as the link (assert_records_source_file demands the ".safetensors" ending), which
     * resolves to the blob. */
    sp_adapter* adapter = create_target(model, SP_INIT_AVERAGE_SOURCE_TASKS, "snapshot");
    snprintf(target, sizeof target, "%s/forms/linked", out_root);
    assert_records_source_file(adapter, target, blob_file);
    printf("    source named \"snapshot\" (its file a link to an extension-less blob): recorded as the link\n");
    sp_adapter_free(adapter);
  }
  const char* const forms[] = {source_folder, "mpt3", "mpt3/", "./mpt3/adapter_model.safetensors", source_file};
  const sp_prompt_init inits[] = {SP_INIT_AVERAGE_SOURCE_TASKS, SP_INIT_EXACT_SOURCE_TASK, SP_INIT_ONLY_SOURCE_SHARED};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; ++i) {
    sp_adapter* adapter = create_target(model, inits[i % 3], forms[i]);
    snprintf(target, sizeof target, "%s/forms/%zu", out_root, i);
    assert_records_source_file(adapter, target, source_file);
    printf("    source named \"%s\": recorded as its file\n", forms[i]);
    sp_adapter_free(adapter);
  }

  /* For PEFT (check_ours_in_peft.py): a target made from the relative folder, with its logits on
   * the reference batch. */
  sp_adapter* adapter = create_target(model, SP_INIT_EXACT_SOURCE_TASK, "mpt3");
  assert_int_equal(chdir(cwd), 0);
  char case_folder[1000], path[1200];
  snprintf(case_folder, sizeof case_folder, "%s/ours/llama/mpt_source_folder", out_root);
  make_dirs(case_folder);
  assert_records_source_file(adapter, test_path(path, sizeof path, case_folder, "adapter"), source_file);

  size_t count = 0;
  char reference[900];
  snprintf(reference, sizeof reference, "%s/llama", reference_root);
  int32_t* ids = read_raw(test_path(path, sizeof path, reference, "input_ids.i32"), 4, &count);
  assert_int_equal(count, BATCH * SEQ_LEN);
  int32_t* mask = read_raw(test_path(path, sizeof path, reference, "attention_mask.i32"), 4, &count);
  assert_int_equal(count, BATCH * SEQ_LEN);
  int32_t task_ids[BATCH] = {0, 0, 0};
  sp_batch batch = sp_batch_init();
  batch.batch_size = BATCH;
  batch.seq_len = SEQ_LEN;
  batch.input_ids = ids;
  batch.attention_mask = mask;
  batch.num_input_ids = batch.num_attention_mask = BATCH * SEQ_LEN;
  batch.task_ids = task_ids;
  batch.num_task_ids = BATCH;
  write_all_logits(adapter, &batch, case_folder, "our_logits.f32");
  free(ids);
  free(mask);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

int main(int argc, char** argv) {
  const char* out_argument = NULL;
  if (!read_folder_arguments(argc, argv, "<models-folder> <reference-folder> <out-folder>",
                             (const char**[]){&models_root, &reference_root, &out_argument}, 3))
    return 2;
  static char absolute_out[PATH_MAX]; /* the test changes directory: keep its own paths absolute */
  make_dirs(out_argument);
  if (!realpath(out_argument, absolute_out)) {
    fprintf(stderr, "cannot resolve %s\n", out_argument);
    return 2;
  }
  out_root = absolute_out;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_form_of_the_source_is_recorded_as_its_file),
  };
  return cmocka_run_group_tests_name("MPT source path", tests, NULL, NULL);
}
