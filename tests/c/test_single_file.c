/*
 * softprompt's single-file adapter format through the C API: exact round trips for every method,
 * and every damaged or foreign file refused with a status and a message naming the cause.
 *
 *   test_single_file <models-folder> <scratch-folder>
 *   test_single_file --save-loop <model-folder> <file>    (helper: saves until killed)
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

static const char* models_root;
static const char* scratch_root;

static sp_model* load(const char* variant) { return load_test_model(models_root, variant); }

static sp_adapter_params method_params(sp_method method, int variant) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = method;
  params.num_virtual_tokens = 5;
  params.seed = 3;
  params.prefix_projection = variant; /* prefix: with and without the MLP */
  params.encoder_type = variant ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  params.encoder_hidden_size = 16;
  params.num_tasks = method == SP_METHOD_MULTITASK_PROMPT_TUNING ? 3 : 1;
  params.num_ranks = 2;
  return params;
}

static sp_batch small_batch(int32_t* ids, int32_t* tasks) {
  for (int i = 0; i < 12; ++i) ids[i] = 10 + 7 * i;
  tasks[0] = 0;
  tasks[1] = 2;
  sp_batch batch = sp_batch_init();
  batch.batch_size = 2;
  batch.seq_len = 6;
  batch.input_ids = ids;
  batch.num_input_ids = 12;
  batch.task_ids = tasks;
  batch.num_task_ids = 2;
  return batch;
}

/* Every trainable tensor and the logits of `b` equal those of `a`, bit for bit. */
static void assert_same_adapter(sp_adapter* a, sp_adapter* b, const sp_batch* batch) {
  sp_adapter_info info_a, info_b;
  info_a.struct_size = info_b.struct_size = sizeof info_a;
  SP_CHECK(sp_adapter_get_info(a, &info_a));
  SP_CHECK(sp_adapter_get_info(b, &info_b));
  assert_int_equal(info_a.method, info_b.method);
  assert_int_equal(info_a.num_parameter_tensors, info_b.num_parameter_tensors);
  assert_int_equal(info_a.num_trainable_parameters, info_b.num_trainable_parameters);
  for (int i = 0; i < info_a.num_parameter_tensors; ++i) {
    const char* name = NULL;
    size_t count = 0;
    SP_CHECK(sp_adapter_parameter_name(a, i, &name));
    SP_CHECK(sp_adapter_parameter_size(a, name, &count));
    float* x = malloc(count * sizeof(float));
    float* y = malloc(count * sizeof(float));
    SP_CHECK(sp_adapter_get_parameter(a, name, x, count));
    SP_CHECK(sp_adapter_get_parameter(b, name, y, count));
    assert_memory_equal(x, y, count * sizeof(float));
    free(x);
    free(y);
  }
  float la[2 * 256], lb[2 * 256];
  SP_CHECK(sp_adapter_logits(a, batch, SP_LOGITS_LAST, la, 2 * 256));
  SP_CHECK(sp_adapter_logits(b, batch, SP_LOGITS_LAST, lb, 2 * 256));
  assert_memory_equal(la, lb, sizeof la);
}

static void round_trip_is_exact_for_every_method(void** state) {
  (void)state;
  sp_model* model = load("llama");
  int32_t ids[12], tasks[2];
  sp_batch batch = small_batch(ids, tasks);
  const sp_method methods[] = {SP_METHOD_PROMPT_TUNING, SP_METHOD_PREFIX_TUNING, SP_METHOD_P_TUNING,
                               SP_METHOD_MULTITASK_PROMPT_TUNING};
  char path[600];
  for (int m = 0; m < 4; ++m) {
    for (int variant = 0; variant < 2; ++variant) {
      sp_adapter_params params = method_params(methods[m], variant);
      sp_adapter* adapter = NULL;
      SP_CHECK(sp_adapter_create(&adapter, model, &params));
      sp_trainer* trainer = NULL;
      SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
      SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
      snprintf(path, sizeof path, "%s/method-%d-%d.spadapter", scratch_root, m, variant);
      SP_CHECK(sp_adapter_save_file(adapter, path));
      sp_adapter* loaded = NULL;
      SP_CHECK(sp_adapter_load_file(&loaded, model, path));
      assert_same_adapter(adapter, loaded, &batch);
      /* Encoders travel with the file, so training resumes where it stopped: one more step on
       * each gives the same tensors again. */
      sp_trainer* resumed = NULL;
      SP_CHECK(sp_trainer_create(&resumed, loaded, NULL));
      sp_trainer* fresh = NULL;
      SP_CHECK(sp_trainer_create(&fresh, adapter, NULL));
      SP_CHECK(sp_trainer_step(resumed, &batch, NULL));
      SP_CHECK(sp_trainer_step(fresh, &batch, NULL));
      assert_same_adapter(adapter, loaded, &batch);
      sp_trainer_free(fresh);
      sp_trainer_free(resumed);
      sp_trainer_free(trainer);
      sp_adapter_free(loaded);
      sp_adapter_free(adapter);
    }
  }
  sp_model_free(model);
}

static unsigned char* read_all(const char* path, size_t* size) { return read_raw(path, 1, size); }

static void write_all(const char* path, const unsigned char* data, size_t size) {
  FILE* file = fopen(path, "wb");
  assert_non_null(file);
  if (size) assert_int_equal(fwrite(data, 1, size, file), size);
  fclose(file);
}

static void damaged_files_are_refused_with_the_cause(void** state) {
  (void)state;
  sp_model* model = load("gpt2");
  sp_adapter_params params = method_params(SP_METHOD_P_TUNING, 0);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  char good[600], bad[600];
  snprintf(good, sizeof good, "%s/good.spadapter", scratch_root);
  snprintf(bad, sizeof bad, "%s/bad.spadapter", scratch_root);
  SP_CHECK(sp_adapter_save_file(adapter, good));
  size_t size = 0;
  unsigned char* bytes = read_all(good, &size);
  sp_adapter* loaded = (sp_adapter*)0x1;

  write_all(bad, bytes, 0);
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, model, bad), SP_ERR_FORMAT, "empty");
  assert_null(loaded);
  for (size_t cut = 1; cut < size; cut += (cut < 64 ? 1 : 97)) { /* truncated anywhere */
    write_all(bad, bytes, cut);
    sp_status status = sp_adapter_load_file(&loaded, model, bad);
    if (status != SP_ERR_FORMAT) fail_msg("file cut to %zu of %zu bytes gave %s", cut, size, sp_status_string(status));
  }
  write_all(bad, bytes, size - 1);
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, model, bad), SP_ERR_FORMAT, "truncated");

  /* One flipped bit in every byte of the file. */
  unsigned char* copy = malloc(size);
  for (size_t at = 0; at < size; ++at) {
    memcpy(copy, bytes, size);
    copy[at] ^= 0x10;
    write_all(bad, copy, size);
    sp_status status = sp_adapter_load_file(&loaded, model, bad);
    if (status == SP_OK) fail_msg("a flipped byte at offset %zu of %zu went unnoticed", at, size);
    if (at >= 32 && (status != SP_ERR_FORMAT || !strstr(sp_last_error(), "checksum")))
      fail_msg("flipped byte at %zu: %s %s", at, sp_status_string(status), sp_last_error());
  }
  memcpy(copy, bytes, size);
  copy[0] = 'X';
  write_all(bad, copy, size);
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, model, bad), SP_ERR_FORMAT, "wrong magic");
  memcpy(copy, bytes, size);
  copy[8] = 7; /* format version 7 */
  write_all(bad, copy, size);
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, model, bad), SP_ERR_UNSUPPORTED, "format version 7");
  write_all(bad, (const unsigned char*)"{\"not\": \"an adapter\"}", 21);
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, model, bad), SP_ERR_FORMAT, "wrong magic");
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, model, "/nonexistent/x.spadapter"), SP_ERR_NOT_FOUND, "x.spadapter");
  assert_null(loaded);

  /* Nothing was harmed: the good file still loads. */
  SP_CHECK(sp_adapter_load_file(&loaded, model, good));
  sp_adapter_free(loaded);
  free(copy);
  free(bytes);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

static void files_from_another_base_model_are_refused(void** state) {
  (void)state;
  sp_model* llama = load("llama");
  sp_model* narrow = load("narrow-llama");
  sp_model* reseeded = load("llama-other-weights");
  sp_model* gpt2 = load("gpt2");
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, llama, NULL));
  char path[600];
  snprintf(path, sizeof path, "%s/llama.spadapter", scratch_root);
  SP_CHECK(sp_adapter_save_file(adapter, path));
  sp_adapter* loaded = NULL;
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, narrow, path), SP_ERR_MODEL_MISMATCH,
                  "hidden_size is 64, this model's is 32");
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, gpt2, path), SP_ERR_MODEL_MISMATCH, "model_type");
  /* Same family and sizes, other weights: only the embedding's values tell them apart (two random
   * embeddings of one scale differ by about sqrt(2) relative to each other). */
  SP_EXPECT_ERROR(sp_adapter_load_file(&loaded, reseeded, path), SP_ERR_MODEL_MISMATCH, "token embedding differs");
  assert_null(loaded);
  SP_CHECK(sp_adapter_load_file(&loaded, llama, path));
  sp_adapter_free(loaded);
  sp_adapter_free(adapter);
  sp_model_free(llama);
  sp_model_free(narrow);
  sp_model_free(reseeded);
  sp_model_free(gpt2);
}

/* True when a temporary file of `path` exists, i.e. a save is between creating its temporary file and
 * renaming it over `path`. */
static int save_in_progress(const char* path) {
  char command[1400];
  snprintf(command, sizeof command, "ls '%s'.tmp-* >/dev/null 2>&1", path);
  return system(command) == 0;
}

static void a_save_killed_midway_leaves_a_loadable_file(void** state) {
  (void)state;
  char path[600], model_folder[512], command[1400];
  snprintf(path, sizeof path, "%s/killed.spadapter", scratch_root);
  test_path(model_folder, sizeof model_folder, models_root, "llama");
  remove(path);
  sp_model* model = load("llama");
  srand(12345);
  for (int round = 0; round < 3; ++round) {
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
      /* Only exec after fork: the parent's LibTorch threads do not exist in the child. */
      execl("/proc/self/exe", "test_single_file", "--save-loop", model_folder, path, (char*)NULL);
      _exit(127);
    }
    for (int waited = 0; waited < 600 && access(path, F_OK) != 0; ++waited) usleep(50 * 1000);
    assert_int_equal(access(path, F_OK), 0);
    /* Freeze the saver at random moments until one falls inside a write, then kill it there. */
    int caught = 0;
    for (int attempt = 0; attempt < 5000 && !caught; ++attempt) {
      usleep((useconds_t)(rand() % 3000));
      kill(child, SIGSTOP);
      int status = 0;
      waitpid(child, &status, WUNTRACED);
      caught = save_in_progress(path);
      if (!caught) kill(child, SIGCONT);
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(caught); /* the kill landed between creating the temporary file and the rename */
    sp_adapter* loaded = NULL;
    SP_CHECK(sp_adapter_load_file(&loaded, model, path));
    sp_adapter_free(loaded);
    snprintf(command, sizeof command, "rm -f '%s'.tmp-*", path);
    assert_int_equal(system(command), 0);
  }
  printf("    3 saves killed inside their write; the previous file loaded every time\n");
  sp_model_free(model);
}

/* Helper process: trains and saves to `path` in a loop until it is killed. */
static int save_loop(const char* model_folder, const char* path) {
  sp_model* model = NULL;
  sp_adapter* adapter = NULL;
  sp_trainer* trainer = NULL;
  sp_adapter_params params = sp_adapter_default_params();
  params.method = SP_METHOD_PREFIX_TUNING;
  params.prefix_projection = 1;
  params.encoder_hidden_size = 2048; /* a file of a few MB, so that kills often land inside a write */
  if (sp_model_create(&model, model_folder, NULL) != SP_OK || sp_adapter_create(&adapter, model, &params) != SP_OK ||
      sp_trainer_create(&trainer, adapter, NULL) != SP_OK)
    return 1;
  int32_t ids[12], tasks[2];
  sp_batch batch = small_batch(ids, tasks);
  for (;;) {
    if (sp_trainer_step(trainer, &batch, NULL) != SP_OK || sp_adapter_save_file(adapter, path) != SP_OK) return 1;
  }
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "--save-loop") == 0) return save_loop(argv[2], argv[3]);
  if (!read_folder_arguments(argc, argv, "<models-folder> <scratch-folder>",
                             (const char**[]){&models_root, &scratch_root}, 2))
    return 2;
  make_dirs(scratch_root);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_is_exact_for_every_method),
      cmocka_unit_test(damaged_files_are_refused_with_the_cause),
      cmocka_unit_test(files_from_another_base_model_are_refused),
      cmocka_unit_test(a_save_killed_midway_leaves_a_loadable_file),
  };
  return cmocka_run_group_tests_name("single-file adapter format", tests, NULL, NULL);
}
