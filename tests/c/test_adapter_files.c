/*
 * Model and adapter files through the C API: sharded checkpoints, exact save/load round trips,
 * and adapter folders for PEFT to load (checked by tests/reference/check_ours_in_peft.py).
 *
 *   test_adapter_files <models-folder> <reference-folder> <out-folder>
 *
 * For each variant, <out-folder>/<variant>/ receives `adapter/` (our PEFT-layout folder) and
 * `our_logits.f32` (our logits on the reference batch with that adapter).
 */
#include "conformance_constants.h"
#include "test_support.h"

static const char* models_root;
static const char* reference_root;
static const char* out_root;

static sp_model* load(const char* variant) { return load_test_model(models_root, variant); }

static sp_batch reference_batch(const char* variant, int32_t** ids, int32_t** mask) {
  char folder[512], path[600];
  size_t count = 0;
  test_path(folder, sizeof folder, reference_root, variant);
  *ids = read_raw(test_path(path, sizeof path, folder, "input_ids.i32"), 4, &count);
  *mask = read_raw(test_path(path, sizeof path, folder, "attention_mask.i32"), 4, &count);
  sp_batch batch = sp_batch_init();
  batch.input_ids = *ids;
  batch.attention_mask = *mask;
  batch.batch_size = BATCH;
  batch.seq_len = SEQ_LEN;
  batch.num_input_ids = batch.num_attention_mask = BATCH * SEQ_LEN;
  return batch;
}

static void sharded_checkpoint_gives_the_same_logits(void** state) {
  (void)state;
  sp_model* single = load("llama");
  sp_model* sharded = load("llama-sharded");
  int32_t *ids, *mask;
  sp_batch batch = reference_batch("llama", &ids, &mask);
  const size_t count = (size_t)BATCH * SEQ_LEN * 256;
  float* a = malloc(count * sizeof(float));
  float* b = malloc(count * sizeof(float));
  SP_CHECK(sp_model_logits(single, &batch, SP_LOGITS_ALL, a, count));
  SP_CHECK(sp_model_logits(sharded, &batch, SP_LOGITS_ALL, b, count));
  assert_memory_equal(a, b, count * sizeof(float));
  free(a);
  free(b);
  free(ids);
  free(mask);
  sp_model_free(single);
  sp_model_free(sharded);
}

static void save_then_load_is_exact_and_training_continues(void** state) {
  (void)state;
  sp_model* model = load("qwen2");
  int32_t *ids, *mask;
  sp_batch batch = reference_batch("qwen2", &ids, &mask);
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 6;
  params.seed = 21;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
  for (int i = 0; i < 3; ++i) SP_CHECK(sp_trainer_step(trainer, &batch, NULL));

  char folder[600];
  snprintf(folder, sizeof folder, "%s/round-trip/nested/adapter", out_root); /* missing parents are created */
  SP_CHECK(sp_adapter_save(adapter, folder));
  sp_adapter* loaded = NULL;
  SP_CHECK(sp_adapter_load(&loaded, model, folder));

  size_t count = 0;
  SP_CHECK(sp_adapter_parameter_size(loaded, "embedding.weight", &count));
  assert_int_equal(count, 6 * 64);
  float before[6 * 64], after[6 * 64];
  SP_CHECK(sp_adapter_get_parameter(adapter, "embedding.weight", before, count));
  SP_CHECK(sp_adapter_get_parameter(loaded, "embedding.weight", after, count));
  assert_memory_equal(before, after, sizeof before);

  const size_t logits_count = (size_t)BATCH * 256;
  float logits_before[BATCH * 256], logits_after[BATCH * 256];
  SP_CHECK(sp_adapter_logits(adapter, &batch, SP_LOGITS_LAST, logits_before, logits_count));
  SP_CHECK(sp_adapter_logits(loaded, &batch, SP_LOGITS_LAST, logits_after, logits_count));
  assert_memory_equal(logits_before, logits_after, sizeof logits_before);

  /* A loaded adapter is trainable (PEFT's loaded prompt adapters are not). */
  sp_trainer* resumed = NULL;
  SP_CHECK(sp_trainer_create(&resumed, loaded, NULL));
  SP_CHECK(sp_trainer_step(resumed, &batch, NULL));
  SP_CHECK(sp_adapter_get_parameter(loaded, "embedding.weight", after, count));
  assert_true(max_abs_diff(before, after, count) > 0);

  /* Saving again over the same folder replaces the files. */
  SP_CHECK(sp_adapter_save(loaded, folder));
  sp_adapter* reloaded = NULL;
  SP_CHECK(sp_adapter_load(&reloaded, model, folder));
  SP_CHECK(sp_adapter_get_parameter(reloaded, "embedding.weight", before, count));
  assert_memory_equal(before, after, sizeof before);

  sp_trainer_free(resumed);
  sp_trainer_free(trainer);
  sp_adapter_free(reloaded);
  sp_adapter_free(loaded);
  sp_adapter_free(adapter);
  sp_model_free(model);
  free(ids);
  free(mask);
}

static void objects_outlive_the_handles_they_depend_on(void** state) {
  (void)state;
  sp_model* model = load("gpt2");
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, NULL));
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
  sp_model_free(model);     /* the adapter keeps the model alive */
  sp_adapter_free(adapter); /* the trainer keeps the adapter alive */
  int32_t ids[6] = {5, 6, 7, 8, 9, 10};
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = 6;
  batch.input_ids = ids;
  batch.num_input_ids = 6;
  sp_train_result result;
  result.struct_size = sizeof result;
  SP_CHECK(sp_trainer_step(trainer, &batch, &result));
  assert_true(result.loss > 0.0f);
  sp_trainer_free(trainer);
}

static void export_adapters_for_peft(void** state) {
  (void)state;
  const char* variants[] = {"llama", "llama-tied", "qwen2", "gpt2"};
  for (int v = 0; v < 4; ++v) {
    sp_model* model = load(variants[v]);
    int32_t *ids, *mask;
    sp_batch batch = reference_batch(variants[v], &ids, &mask);
    sp_adapter_params params = sp_adapter_default_params();
    params.num_virtual_tokens = 6;
    params.seed = 100 + (uint64_t)v;
    sp_adapter* adapter = NULL;
    SP_CHECK(sp_adapter_create(&adapter, model, &params));
    sp_trainer* trainer = NULL;
    SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
    SP_CHECK(sp_trainer_step(trainer, &batch, NULL)); /* a trained prompt, not only an initial one */

    char folder[600], path[700];
    snprintf(folder, sizeof folder, "%s/%s", out_root, variants[v]);
    make_dirs(folder);
    SP_CHECK(sp_adapter_save(adapter, test_path(path, sizeof path, folder, "adapter")));
    write_all_logits(adapter, &batch, folder, "our_logits.f32");
    free(ids);
    free(mask);
    sp_trainer_free(trainer);
    sp_adapter_free(adapter);
    sp_model_free(model);
  }
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<models-folder> <reference-folder> <out-folder>",
                             (const char**[]){&models_root, &reference_root, &out_root}, 3))
    return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sharded_checkpoint_gives_the_same_logits),
      cmocka_unit_test(save_then_load_is_exact_and_training_continues),
      cmocka_unit_test(objects_outlive_the_handles_they_depend_on),
      cmocka_unit_test(export_adapters_for_peft),
  };
  return cmocka_run_group_tests_name("model and adapter files", tests, NULL, NULL);
}
