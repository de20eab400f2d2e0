/*
 * Bad input through the C API: each case returns the documented status with a message naming
 * the problem, and every handle stays usable afterwards.
 *
 *   test_api_errors <models-folder> <scratch-folder>
 */
#include <pthread.h>

#include "test_support.h"

static const char* models_root;
static const char* scratch_root;

typedef struct fixture {
  sp_model* model;
  sp_adapter* adapter;
  sp_trainer* trainer;
  int32_t ids[8];
  sp_batch batch;
} fixture;

static int setup(void** state) {
  static fixture f;
  char folder[512];
  memset(&f, 0, sizeof f);
  sp_model_params model_params = test_model_params();
  if (sp_model_create(&f.model, test_path(folder, sizeof folder, models_root, "gpt2"), &model_params) != SP_OK)
    return -1;
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 4;
  if (sp_adapter_create(&f.adapter, f.model, &params) != SP_OK) return -1;
  if (sp_trainer_create(&f.trainer, f.adapter, NULL) != SP_OK) return -1;
  for (int i = 0; i < 8; ++i) f.ids[i] = 10 + i;
  f.batch = sp_batch_init();
  f.batch.input_ids = f.ids;
  f.batch.batch_size = 2;
  f.batch.seq_len = 4;
  f.batch.num_input_ids = 8;
  *state = &f;
  return 0;
}

static int teardown(void** state) {
  fixture* f = (fixture*)*state;
  sp_trainer_free(f->trainer);
  sp_adapter_free(f->adapter);
  sp_model_free(f->model);
  return 0;
}

/* After any failure the objects must still work: a forward pass and a training step succeed. */
static void assert_still_usable(fixture* f) {
  float logits[2 * 256];
  float loss = 0;
  SP_CHECK(sp_adapter_logits(f->adapter, &f->batch, SP_LOGITS_LAST, logits, 2 * 256));
  SP_CHECK(sp_model_logits(f->model, &f->batch, SP_LOGITS_LAST, logits, 2 * 256));
  sp_train_result result;
  result.struct_size = sizeof result;
  SP_CHECK(sp_trainer_step(f->trainer, &f->batch, &result));
  SP_CHECK(sp_adapter_eval_loss(f->adapter, &f->batch, &loss, NULL));
  assert_true(loss > 0.0f);
  assert_string_equal(sp_last_error(), "");
}

static void write_text(const char* path, const char* text) {
  FILE* file = fopen(path, "wb");
  assert_non_null(file);
  fputs(text, file);
  fclose(file);
}

static void copy_file(const char* from, const char* to, long truncate_to) {
  size_t count = 0;
  unsigned char* data = read_raw(from, 1, &count);
  FILE* file = fopen(to, "wb");
  assert_non_null(file);
  fwrite(data, 1, truncate_to >= 0 && (size_t)truncate_to < count ? (size_t)truncate_to : count, file);
  fclose(file);
  free(data);
}

/* A scratch model folder: gpt2's weights (optionally truncated) with the given config text. */
static const char* bad_model_folder(const char* name, const char* config_text, long truncate_weights_to) {
  static char folder[512];
  char from[600], to[600], weights[512];
  snprintf(folder, sizeof folder, "%s/%s", scratch_root, name);
  make_dirs(folder);
  test_path(weights, sizeof weights, models_root, "gpt2");
  copy_file(test_path(from, sizeof from, weights, "model.safetensors"),
            test_path(to, sizeof to, folder, "model.safetensors"), truncate_weights_to);
  if (config_text) {
    write_text(test_path(to, sizeof to, folder, "config.json"), config_text);
  } else {
    copy_file(test_path(from, sizeof from, weights, "config.json"), test_path(to, sizeof to, folder, "config.json"),
              -1);
  }
  return folder;
}

static const char* kGpt2Config =
    "{\"model_type\": \"gpt2\", \"vocab_size\": 256, \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, "
    "\"n_positions\": 256, \"n_inner\": %d}";

static void null_pointers_are_invalid_arguments(void** state) {
  fixture* f = (fixture*)*state;
  sp_model* model = (sp_model*)0x1;
  float value = 0;
  SP_EXPECT_ERROR(sp_model_create(NULL, "x", NULL), SP_ERR_INVALID_ARGUMENT, "out");
  SP_EXPECT_ERROR(sp_model_create(&model, NULL, NULL), SP_ERR_INVALID_ARGUMENT, "model_folder");
  assert_null(model);
  SP_EXPECT_ERROR(sp_adapter_logits(f->adapter, NULL, SP_LOGITS_LAST, &value, 1), SP_ERR_INVALID_ARGUMENT, "batch");
  SP_EXPECT_ERROR(sp_adapter_eval_loss(f->adapter, &f->batch, NULL, NULL), SP_ERR_INVALID_ARGUMENT, "mean_loss");
  SP_EXPECT_ERROR(sp_adapter_logits(NULL, &f->batch, SP_LOGITS_LAST, &value, 1), SP_ERR_INVALID_ARGUMENT, "adapter");
  SP_EXPECT_ERROR(sp_adapter_save(f->adapter, NULL), SP_ERR_INVALID_ARGUMENT, "folder");
  SP_EXPECT_ERROR(sp_trainer_step(NULL, &f->batch, NULL), SP_ERR_INVALID_ARGUMENT, "trainer");
  sp_batch no_ids = f->batch;
  no_ids.input_ids = NULL;
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &no_ids, NULL), SP_ERR_INVALID_ARGUMENT, "input_ids");
  assert_still_usable(f);
}

static void freed_and_foreign_handles_are_invalid_handles(void** state) {
  fixture* f = (fixture*)*state;
  sp_adapter* extra = NULL;
  SP_CHECK(sp_adapter_create(&extra, f->model, NULL));
  sp_adapter_free(extra);
  float value[2 * 256];
  SP_EXPECT_ERROR(sp_adapter_logits(extra, &f->batch, SP_LOGITS_LAST, value, 2 * 256), SP_ERR_INVALID_HANDLE,
                  "not a live sp_adapter");
  sp_adapter_free(extra); /* a second free is ignored */
  /* A model handle where an adapter is expected. */
  SP_EXPECT_ERROR(sp_adapter_logits((const sp_adapter*)f->model, &f->batch, SP_LOGITS_LAST, value, 2 * 256),
                  SP_ERR_INVALID_HANDLE, "sp_adapter");
  assert_still_usable(f);
}

static void unsupported_model_type_is_reported(void** state) {
  fixture* f = (fixture*)*state;
  sp_model* model = NULL;
  const char* folder = bad_model_folder("falcon", "{\"model_type\": \"falcon\", \"vocab_size\": 10}", -1);
  SP_EXPECT_ERROR(sp_model_create(&model, folder, NULL), SP_ERR_UNSUPPORTED, "unsupported model_type \"falcon\"");
  assert_null(model);
  assert_still_usable(f);
}

static void missing_folder_and_files_are_not_found(void** state) {
  fixture* f = (fixture*)*state;
  sp_model* model = NULL;
  char folder[512];
  SP_EXPECT_ERROR(sp_model_create(&model, "/nonexistent/model", NULL), SP_ERR_NOT_FOUND, "/nonexistent/model");
  snprintf(folder, sizeof folder, "%s/empty", scratch_root);
  make_dirs(folder);
  SP_EXPECT_ERROR(sp_model_create(&model, folder, NULL), SP_ERR_NOT_FOUND, "config.json");
  sp_adapter* adapter = NULL;
  SP_EXPECT_ERROR(sp_adapter_load(&adapter, f->model, folder), SP_ERR_NOT_FOUND, "adapter_config.json");
  SP_EXPECT_ERROR(sp_adapter_load(&adapter, f->model, "/nonexistent/adapter"), SP_ERR_NOT_FOUND,
                  "/nonexistent/adapter");
  assert_still_usable(f);
}

static void weight_with_wrong_shape_is_named(void** state) {
  fixture* f = (fixture*)*state;
  char config[512];
  snprintf(config, sizeof config, kGpt2Config, 96); /* the weights were made with n_inner = 128 */
  sp_model* model = NULL;
  SP_EXPECT_ERROR(sp_model_create(&model, bad_model_folder("wrong-shape", config, -1), NULL), SP_ERR_SHAPE_MISMATCH,
                  "mlp.c_fc.weight");
  assert_still_usable(f);
}

static void truncated_weights_are_a_format_error(void** state) {
  fixture* f = (fixture*)*state;
  sp_model* model = NULL;
  SP_EXPECT_ERROR(sp_model_create(&model, bad_model_folder("truncated", NULL, 5000), NULL), SP_ERR_FORMAT,
                  "model.safetensors");
  SP_EXPECT_ERROR(sp_model_create(&model, bad_model_folder("tiny-file", NULL, 3), NULL), SP_ERR_FORMAT, "too short");
  SP_EXPECT_ERROR(sp_model_create(&model, bad_model_folder("bad-json", "{\"model_type\": ", -1), NULL), SP_ERR_FORMAT,
                  "not valid JSON");
  assert_still_usable(f);
}

static void token_ids_outside_the_vocabulary_are_out_of_range(void** state) {
  fixture* f = (fixture*)*state;
  sp_batch batch = f->batch;
  int32_t ids[8];
  memcpy(ids, f->ids, sizeof ids);
  ids[5] = 256;
  batch.input_ids = ids;
  float logits[2 * 256];
  float loss = 0;
  SP_EXPECT_ERROR(sp_adapter_logits(f->adapter, &batch, SP_LOGITS_LAST, logits, 2 * 256), SP_ERR_OUT_OF_RANGE,
                  "token id 256 at row 1, position 1");
  ids[5] = -3;
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &batch, NULL), SP_ERR_OUT_OF_RANGE, "token id -3");
  SP_EXPECT_ERROR(sp_model_eval_loss(f->model, &batch, &loss, NULL), SP_ERR_OUT_OF_RANGE, "outside the vocabulary");
  int32_t labels[8];
  memcpy(labels, f->ids, sizeof labels);
  labels[0] = 999;
  batch = f->batch;
  batch.labels = labels;
  batch.num_labels = 8;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(f->adapter, &batch, &loss, NULL), SP_ERR_OUT_OF_RANGE, "label 999");
  assert_still_usable(f);
}

static void wrong_lengths_and_buffers_are_rejected(void** state) {
  fixture* f = (fixture*)*state;
  float logits[2 * 256];
  sp_batch batch = f->batch;
  batch.seq_len = 0;
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &batch, NULL), SP_ERR_INVALID_ARGUMENT, "seq_len must be positive");
  batch = f->batch;
  batch.batch_size = -1;
  SP_EXPECT_ERROR(sp_adapter_logits(f->adapter, &batch, SP_LOGITS_LAST, logits, 2 * 256), SP_ERR_INVALID_ARGUMENT,
                  "batch_size");
  SP_EXPECT_ERROR(sp_adapter_logits(f->adapter, &f->batch, SP_LOGITS_ALL, logits, 2 * 256), SP_ERR_BUFFER_TOO_SMALL,
                  "2048");
  SP_EXPECT_ERROR(sp_adapter_logits(f->adapter, &f->batch, (sp_logits_mode)7, logits, 2 * 256), SP_ERR_INVALID_ARGUMENT,
                  "mode");
  int32_t labels[8];
  for (int i = 0; i < 8; ++i) labels[i] = -100;
  batch = f->batch;
  batch.labels = labels;
  batch.num_labels = 8;
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &batch, NULL), SP_ERR_INVALID_ARGUMENT, "no target tokens");
  batch.num_labels = 6; /* labels of the wrong length */
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &batch, NULL), SP_ERR_SHAPE_MISMATCH,
                  "batch->labels has 6 values but batch_size * seq_len is 8");
  batch = f->batch;
  batch.num_input_ids = 9;
  SP_EXPECT_ERROR(sp_adapter_logits(f->adapter, &batch, SP_LOGITS_LAST, logits, 2 * 256), SP_ERR_SHAPE_MISMATCH,
                  "input_ids has 9");
  int32_t mask[8] = {1, 1, 2, 1, 1, 1, 1, 1};
  batch = f->batch;
  batch.attention_mask = mask;
  batch.num_attention_mask = 8;
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &batch, NULL), SP_ERR_INVALID_ARGUMENT, "must be 0 or 1");
  sp_batch unset = f->batch;
  unset.struct_size = 0;
  SP_EXPECT_ERROR(sp_trainer_step(f->trainer, &unset, NULL), SP_ERR_INVALID_ARGUMENT, "struct_size");
  size_t count = 0;
  SP_EXPECT_ERROR(sp_adapter_parameter_size(f->adapter, "nope", &count), SP_ERR_NOT_FOUND, "known: embedding.weight");
  float one = 0;
  SP_EXPECT_ERROR(sp_adapter_get_parameter(f->adapter, "embedding.weight", &one, 1), SP_ERR_INVALID_ARGUMENT,
                  "256 values");
  assert_still_usable(f);
}

static void too_many_positions_for_learned_embeddings(void** state) {
  fixture* f = (fixture*)*state;
  enum { LONG_SEQ = 256 }; /* + 4 virtual tokens > 256 learned positions */
  static int32_t ids[LONG_SEQ];
  for (int i = 0; i < LONG_SEQ; ++i) ids[i] = 7;
  sp_batch batch = sp_batch_init();
  batch.input_ids = ids;
  batch.batch_size = 1;
  batch.seq_len = LONG_SEQ;
  batch.num_input_ids = LONG_SEQ;
  float loss = 0;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(f->adapter, &batch, &loss, NULL), SP_ERR_OUT_OF_RANGE, "260 positions");
  assert_still_usable(f);
}

static void bad_adapter_and_trainer_parameters(void** state) {
  fixture* f = (fixture*)*state;
  sp_adapter* adapter = NULL;
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 0;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "num_virtual_tokens");
  params = sp_adapter_default_params();
  params.init = SP_INIT_TEXT;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "init_token_ids");
  int32_t bad_ids[2] = {1, 4000};
  params.init_token_ids = bad_ids;
  params.num_init_token_ids = 2;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_OUT_OF_RANGE, "init_token_ids[1] = 4000");
  params = sp_adapter_default_params();
  params.init = (sp_prompt_init)9;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "sp_prompt_init");
  assert_null(adapter);
  sp_trainer* trainer = NULL;
  sp_trainer_params trainer_params = sp_trainer_default_params();
  trainer_params.accumulation_steps = 0;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, f->adapter, &trainer_params), SP_ERR_INVALID_ARGUMENT,
                  "accumulation_steps");
  trainer_params = sp_trainer_default_params();
  trainer_params.beta1 = 1.5;
  SP_EXPECT_ERROR(sp_trainer_create(&trainer, f->adapter, &trainer_params), SP_ERR_INVALID_ARGUMENT, "beta1");
  sp_model_params model_params = sp_model_default_params();
  model_params.device = SP_DEVICE_CUDA;
  model_params.device_index = 64;
  sp_model* model = NULL;
  char folder[512];
  SP_EXPECT_ERROR(sp_model_create(&model, test_path(folder, sizeof folder, models_root, "gpt2"), &model_params),
                  SP_ERR_DEVICE, "CUDA device 64");
  assert_still_usable(f);
}

static void bad_method_parameters_are_named(void** state) {
  fixture* f = (fixture*)*state;
  sp_adapter* adapter = NULL;
  sp_adapter_params params = sp_adapter_default_params();
  params.method = (sp_method)17;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "is not an sp_method");
  params = sp_adapter_default_params();
  params.method = SP_METHOD_PREFIX_TUNING;
  params.num_virtual_tokens = 0;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT,
                  "num_virtual_tokens must be positive");
  params = sp_adapter_default_params();
  params.method = SP_METHOD_PREFIX_TUNING;
  params.prefix_projection = 1;
  params.encoder_hidden_size = -4;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT,
                  "encoder_hidden_size must not be negative");
  params = sp_adapter_default_params();
  params.method = SP_METHOD_PREFIX_TUNING;
  params.init = SP_INIT_SAMPLE_VOCAB;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT,
                  "PREFIX_TUNING has no SAMPLE_VOCAB");
  params = sp_adapter_default_params();
  params.method = SP_METHOD_P_TUNING;
  params.encoder_type = SP_ENCODER_LSTM;
  params.encoder_num_layers = 0;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "encoder_num_layers");
  params.encoder_num_layers = 2;
  params.encoder_dropout = 1.5f;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "encoder_dropout");
  params.encoder_dropout = 0.0f;
  params.encoder_type = (sp_encoder_type)5;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "sp_encoder_type");
  params = sp_adapter_default_params();
  params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  params.num_tasks = 0;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT,
                  "num_tasks must be at least 1");
  params.num_tasks = 1;
  params.num_ranks = -1;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "num_ranks");
  params.num_ranks = 1;
  params.init = SP_INIT_AVERAGE_SOURCE_TASKS;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT,
                  "needs a source adapter path");
  params.source_adapter = "/nonexistent/source/adapter_model.safetensors";
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_NOT_FOUND, "/nonexistent/source");
  params.init = SP_INIT_SAMPLE_VOCAB;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT, "no SAMPLE_VOCAB");
  params = sp_adapter_default_params();
  params.method = SP_METHOD_PROMPT_TUNING;
  params.init = SP_INIT_EXACT_SOURCE_TASK;
  SP_EXPECT_ERROR(sp_adapter_create(&adapter, f->model, &params), SP_ERR_INVALID_ARGUMENT,
                  "prompt tuning has no EXACT_SOURCE_TASK");
  assert_null(adapter);
  assert_still_usable(f);
}

static void task_ids_are_checked_for_multitask_adapters(void** state) {
  fixture* f = (fixture*)*state;
  sp_adapter_params params = sp_adapter_default_params();
  params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  params.num_tasks = 3;
  sp_adapter* mpt = NULL;
  SP_CHECK(sp_adapter_create(&mpt, f->model, &params));
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, mpt, NULL));
  float loss = 0, logits[2 * 256];
  sp_batch batch = f->batch;
  SP_EXPECT_ERROR(sp_adapter_eval_loss(mpt, &batch, &loss, NULL), SP_ERR_INVALID_ARGUMENT, "needs batch->task_ids");
  int32_t tasks[2] = {1, 3};
  batch.task_ids = tasks;
  batch.num_task_ids = 2;
  SP_EXPECT_ERROR(sp_trainer_step(trainer, &batch, NULL), SP_ERR_OUT_OF_RANGE,
                  "task id 3 of row 1 is outside [0, num_tasks = 3)");
  tasks[1] = -1;
  SP_EXPECT_ERROR(sp_adapter_logits(mpt, &batch, SP_LOGITS_LAST, logits, 2 * 256), SP_ERR_OUT_OF_RANGE, "task id -1");
  tasks[1] = 2;
  batch.num_task_ids = 1;
  SP_EXPECT_ERROR(sp_trainer_step(trainer, &batch, NULL), SP_ERR_SHAPE_MISMATCH, "task_ids has 1 values");
  batch.num_task_ids = 2;
  SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  SP_CHECK(sp_adapter_logits(mpt, &batch, SP_LOGITS_LAST, logits, 2 * 256));
  /* Other methods ignore task ids, as PEFT does. */
  SP_CHECK(sp_adapter_eval_loss(f->adapter, &batch, &loss, NULL));
  sp_trainer_free(trainer);
  sp_adapter_free(mpt);
  assert_still_usable(f);
}

static void adapter_for_another_hidden_size_is_a_shape_mismatch(void** state) {
  fixture* f = (fixture*)*state;
  /* An adapter saved on the 64-wide gpt2 model, loaded onto a 32-wide llama. */
  char adapter_folder[512], model_folder[512];
  snprintf(adapter_folder, sizeof adapter_folder, "%s/gpt2-adapter", scratch_root);
  SP_CHECK(sp_adapter_save(f->adapter, adapter_folder));
  snprintf(model_folder, sizeof model_folder, "%s/narrow-llama", models_root);
  sp_model* narrow = NULL;
  sp_model_params params = test_model_params();
  SP_CHECK(sp_model_create(&narrow, model_folder, &params));
  sp_adapter* adapter = NULL;
  SP_EXPECT_ERROR(sp_adapter_load(&adapter, narrow, adapter_folder), SP_ERR_SHAPE_MISMATCH,
                  "adapter token_dim 64 does not match the model's 32");
  assert_null(adapter);
  sp_model_free(narrow);
  assert_still_usable(f);
}

static void* fail_in_thread(void* argument) {
  sp_model* model = (sp_model*)0x1;
  (void)argument;
  sp_model_create(&model, "/nonexistent/thread-model", NULL);
  return strstr(sp_last_error(), "thread-model") ? argument : NULL;
}

static void last_error_belongs_to_the_calling_thread(void** state) {
  fixture* f = (fixture*)*state;
  sp_model* model = NULL;
  SP_EXPECT_ERROR(sp_model_create(&model, "/nonexistent/main-model", NULL), SP_ERR_NOT_FOUND, "main-model");
  pthread_t thread;
  void* result = NULL;
  pthread_create(&thread, NULL, fail_in_thread, f);
  pthread_join(thread, &result);
  assert_ptr_equal(result, f);                            /* the thread saw its own message */
  assert_non_null(strstr(sp_last_error(), "main-model")); /* and ours is untouched */
  assert_still_usable(f);
}

static void status_names_are_stable(void** state) {
  (void)state;
  assert_string_equal(sp_status_string(SP_OK), "SP_OK");
  sp_model* model = NULL;
  sp_model_create(&model, "/nonexistent", NULL);
  assert_int_equal(sp_last_status(), SP_ERR_NOT_FOUND);
  assert_int_equal(sp_adapter_default_params().struct_size, sizeof(sp_adapter_params));
  sp_batch batch = sp_batch_init();
  float loss = 0;
  assert_int_equal(sp_model_eval_loss(NULL, &batch, &loss, NULL), SP_ERR_INVALID_ARGUMENT);
  assert_int_equal(sp_last_status(), SP_ERR_INVALID_ARGUMENT);
  assert_string_equal(sp_status_string(SP_ERR_SHAPE_MISMATCH), "SP_ERR_SHAPE_MISMATCH");
  assert_string_equal(sp_status_string((sp_status)1234), "SP_ERR_UNKNOWN");
  assert_int_equal(SP_ERR_INTERNAL, 13);
  assert_non_null(strchr(sp_version(), '.'));
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder> <scratch-folder>",
                             (const char**[]){&models_root, &scratch_root}, 2))
    return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(null_pointers_are_invalid_arguments),
      cmocka_unit_test(freed_and_foreign_handles_are_invalid_handles),
      cmocka_unit_test(unsupported_model_type_is_reported),
      cmocka_unit_test(missing_folder_and_files_are_not_found),
      cmocka_unit_test(weight_with_wrong_shape_is_named),
      cmocka_unit_test(truncated_weights_are_a_format_error),
      cmocka_unit_test(token_ids_outside_the_vocabulary_are_out_of_range),
      cmocka_unit_test(wrong_lengths_and_buffers_are_rejected),
      cmocka_unit_test(too_many_positions_for_learned_embeddings),
      cmocka_unit_test(bad_adapter_and_trainer_parameters),
      cmocka_unit_test(bad_method_parameters_are_named),
      cmocka_unit_test(task_ids_are_checked_for_multitask_adapters),
      cmocka_unit_test(adapter_for_another_hidden_size_is_a_shape_mismatch),
      cmocka_unit_test(last_error_belongs_to_the_calling_thread),
      cmocka_unit_test(status_names_are_stable),
  };
  return cmocka_run_group_tests_name("C API error handling", tests, setup, teardown);
}
