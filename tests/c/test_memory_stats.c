/*
 * Memory figures (sp_memory_get_stats, sp_memory_reset_peak):
 *   - CPU: the process's resident set; 64 MiB the test itself touches show in current and peak;
 *     the peak stays after they are freed and starts over from current when reset;
 *   - the suites' device (SP_TEST_DEVICE): a training step's peak lies above what was held before it,
 *     and reserved is at least current;
 *   - NULL out, an unknown device kind, a CUDA device that does not exist, and an unset struct_size
 *     are refused with a message.
 *
 *   test_memory_stats <models-folder>
 */
#include <string.h>

#include "test_support.h"

static const char* models_root;

#define MIB (1024ull * 1024ull)

static sp_memory_stats read_stats(sp_device_kind device) {
  sp_memory_stats stats = sp_memory_stats_init();
  SP_CHECK(sp_memory_get_stats(device, 0, &stats));
  assert_int_equal(stats.struct_size, sizeof stats);
  return stats;
}

static void cpu_figures_follow_the_resident_set(void** state) {
  (void)state;
  SP_CHECK(sp_memory_reset_peak(SP_DEVICE_CPU, 0));
  const sp_memory_stats before = read_stats(SP_DEVICE_CPU);
  assert_true(before.current_bytes > 0);
  assert_true(before.peak_bytes >= before.current_bytes);
  assert_true(before.reserved_bytes == before.current_bytes);

  const size_t size = 64 * MIB;
  unsigned char* block = malloc(size);
  assert_non_null(block);
  memset(block, 1, size); /* touched: resident */
  const sp_memory_stats holding = read_stats(SP_DEVICE_CPU);
  assert_true(holding.current_bytes >= before.current_bytes + 60 * MIB);
  assert_true(holding.peak_bytes >= holding.current_bytes);
  free(block);

  const sp_memory_stats after = read_stats(SP_DEVICE_CPU);
  /* The peak outlives the block. (Linux counts resident pages per thread and folds them in lazily,
   * so the recorded peak may trail the largest resident figure read by a few hundred KiB.) */
  if (after.peak_bytes + 4 * MIB < holding.current_bytes)
    fail_msg("peak %llu after the block, resident %llu while holding it", (unsigned long long)after.peak_bytes,
             (unsigned long long)holding.current_bytes);
  SP_CHECK(sp_memory_reset_peak(SP_DEVICE_CPU, 0));
  const sp_memory_stats reset = read_stats(SP_DEVICE_CPU);
  /* Right after a reset the peak is the resident size of that moment, give or take what the
   * process touched since (a few pages, not the freed 64 MiB; ASan keeps freed memory in
   * quarantine, so compare with the current figure rather than the one before the block). */
  assert_true(reset.peak_bytes < reset.current_bytes + 32 * MIB);
}

static void a_training_step_raises_the_peak_of_its_device(void** state) {
  (void)state;
  sp_model* model = load_test_model(models_root, "llama");
  const sp_model_params params = test_model_params();
  sp_adapter* adapter = NULL;
  sp_adapter_params adapter_params = sp_adapter_default_params();
  SP_CHECK(sp_adapter_create(&adapter, model, &adapter_params));
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, NULL));
  enum { ROWS = 8, SEQ = 64 };
  int32_t ids[ROWS * SEQ];
  for (int i = 0; i < ROWS * SEQ; ++i) ids[i] = (7 * i + 3) % 250 + 1;
  sp_batch batch = sp_batch_init();
  batch.batch_size = ROWS;
  batch.seq_len = SEQ;
  batch.input_ids = ids;
  batch.num_input_ids = ROWS * SEQ;

  const sp_memory_stats before = read_stats(params.device);
  SP_CHECK(sp_memory_reset_peak(params.device, params.device_index));
  SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  const sp_memory_stats after = read_stats(params.device);
  /* The step's activations (8 x 84 positions through every layer) were held at some point. */
  assert_true(after.peak_bytes > before.current_bytes);
  assert_true(after.reserved_bytes >= after.current_bytes);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
}

static void bad_requests_are_refused_with_a_message(void** state) {
  (void)state;
  sp_memory_stats stats = sp_memory_stats_init();
  SP_EXPECT_ERROR(sp_memory_get_stats(SP_DEVICE_CPU, 0, NULL), SP_ERR_INVALID_ARGUMENT, "out");
  SP_EXPECT_ERROR(sp_memory_get_stats((sp_device_kind)7, 0, &stats), SP_ERR_INVALID_ARGUMENT, "7");
  SP_EXPECT_ERROR(sp_memory_reset_peak((sp_device_kind)7, 0), SP_ERR_INVALID_ARGUMENT, "7");
  const int32_t devices = sp_cuda_device_count();
  SP_EXPECT_ERROR(sp_memory_get_stats(SP_DEVICE_CUDA, devices, &stats), SP_ERR_DEVICE, "does not exist");
  SP_EXPECT_ERROR(sp_memory_reset_peak(SP_DEVICE_CUDA, -1), SP_ERR_DEVICE, "does not exist");
  stats.struct_size = 0;
  SP_EXPECT_ERROR(sp_memory_get_stats(SP_DEVICE_CPU, 0, &stats), SP_ERR_INVALID_ARGUMENT, "struct_size");
  /* Nothing was left half done: the next call works. */
  read_stats(SP_DEVICE_CPU);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <models-folder>\n", argv[0]);
    return 2;
  }
  models_root = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cpu_figures_follow_the_resident_set),
      cmocka_unit_test(a_training_step_raises_the_peak_of_its_device),
      cmocka_unit_test(bad_requests_are_refused_with_a_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
