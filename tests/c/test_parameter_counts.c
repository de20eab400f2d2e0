/*
 * Trainable parameter counts and file sizes on a GPT-2-small-shaped model (12 layers, hidden 768,
 * 12 heads), 20 virtual tokens, against the figures of section 7 and 6.6 of the PEFT spec
 * (shared/spec/peft-soft-prompts.md), which were derived from PEFT's formulas and writer, not from
 * this code.
 *
 *   test_parameter_counts <gpt2-small-shaped-model-folder> <scratch-folder>
 */
#include <sys/stat.h>

#include "test_support.h"

static const char* model_folder;
static const char* scratch_root;

typedef struct count_case {
  const char* label;
  sp_method method;
  int prefix_projection, lstm, num_tasks;
  int64_t trainable;       /* spec section 7 */
  long peft_weights_bytes; /* spec section 6.6 (adapter_model.safetensors); 0 = not listed */
} count_case;

static const count_case cases[] = {
    {"prompt tuning", SP_METHOD_PROMPT_TUNING, 0, 0, 1, 15360, 61560},
    {"prefix tuning", SP_METHOD_PREFIX_TUNING, 0, 0, 1, 368640, 1474688},
    {"prefix tuning + projection", SP_METHOD_PREFIX_TUNING, 1, 0, 1, 14780160, 1474688},
    {"P-tuning (MLP)", SP_METHOD_P_TUNING, 0, 0, 1, 1787136, 61560},
    {"P-tuning (LSTM)", SP_METHOD_P_TUNING, 0, 1, 1, 27174144, 61560},
    {"MPT (1 task, rank 1)", SP_METHOD_MULTITASK_PROMPT_TUNING, 0, 0, 1, 16148, 64872},
    {"MPT (2 tasks, rank 1)", SP_METHOD_MULTITASK_PROMPT_TUNING, 0, 0, 2, 16936, 0},
};

static long file_size(const char* path) {
  struct stat info;
  return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

static void counts_and_sizes_match_peft(void** state) {
  (void)state;
  sp_model* model = NULL;
  SP_CHECK(sp_model_create(&model, model_folder, NULL));
  printf("    %-28s %12s %14s %14s\n", "method (n = 20)", "trainable", "PEFT folder", "single file");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    const count_case* c = &cases[i];
    sp_adapter_params params = sp_adapter_default_params();
    params.method = c->method;
    params.num_virtual_tokens = 20;
    params.prefix_projection = c->prefix_projection;
    params.encoder_type = c->lstm ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
    params.num_tasks = c->num_tasks;
    sp_adapter* adapter = NULL;
    SP_CHECK(sp_adapter_create(&adapter, model, &params));
    sp_adapter_info info;
    info.struct_size = sizeof info;
    SP_CHECK(sp_adapter_get_info(adapter, &info));

    char folder[600], weights[700], file[700];
    snprintf(folder, sizeof folder, "%s/case-%zu", scratch_root, i);
    snprintf(weights, sizeof weights, "%s/adapter_model.safetensors", folder);
    snprintf(file, sizeof file, "%s.spadapter", folder);
    SP_CHECK(sp_adapter_save(adapter, folder));
    SP_CHECK(sp_adapter_save_file(adapter, file));
    printf("    %-28s %12lld %14ld %14ld\n", c->label, (long long)info.num_trainable_parameters, file_size(weights),
           file_size(file));
    assert_int_equal(info.num_trainable_parameters, c->trainable);
    if (c->peft_weights_bytes) assert_int_equal(file_size(weights), c->peft_weights_bytes);
    sp_adapter_free(adapter);
  }
  sp_model_free(model);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<gpt2-small-shaped-model-folder> <scratch-folder>",
                             (const char**[]){&model_folder, &scratch_root}, 2))
    return 2;
  make_dirs(scratch_root);
  const struct CMUnitTest tests[] = {cmocka_unit_test(counts_and_sizes_match_peft)};
  return cmocka_run_group_tests_name("parameter counts and file sizes", tests, NULL, NULL);
}
