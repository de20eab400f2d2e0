/* The method cases the PEFT reference tools write (tests/reference/encoder_reference.py's cases(), which
 * t5_reference.py and decoder_task_reference.py reuse), and the checks every suite over them makes:
 * the adapter's tensors are PEFT's by name and shape (params.txt) and start from PEFT's values for
 * the same seed (init__<name>.f32). */
#ifndef SP_PEFT_CASES_H
#define SP_PEFT_CASES_H

#include "test_support.h"

typedef struct method_case {
  const char* name; /* the reference's folder name */
  sp_method method;
  int prefix_projection, encoder_hidden_size, lstm, num_tasks, num_ranks;
} method_case;

/* The case's adapter parameters: RANDOM init, LSTM of 2 layers, no dropout, as the reference tools. */
static inline sp_adapter_params method_case_params(const method_case* c, int32_t num_virtual_tokens, uint64_t seed,
                                                   sp_task_type task) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = c->method;
  params.init = SP_INIT_RANDOM;
  params.num_virtual_tokens = num_virtual_tokens;
  params.seed = seed;
  params.prefix_projection = c->prefix_projection;
  params.encoder_hidden_size = c->encoder_hidden_size;
  params.encoder_type = c->lstm ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  params.encoder_num_layers = 2;
  params.encoder_dropout = 0.0f;
  params.num_tasks = c->num_tasks;
  params.num_ranks = c->num_ranks;
  params.task_type = task;
  return params;
}

/* <folder>/params.txt ("name d0 d1 ...", one line per trainable tensor) lists exactly our tensors and shapes. */
static inline void parameters_are_peft_s(const sp_adapter* adapter, const char* folder) {
  char path[1024], line[512];
  FILE* file = fopen(test_path(path, sizeof path, folder, "params.txt"), "r");
  if (!file) fail_msg("cannot open %s", path);
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  int lines = 0;
  while (fgets(line, sizeof line, file)) {
    char* name = strtok(line, " \n");
    if (!name) continue;
    int64_t dims[SP_MAX_PARAMETER_DIMS];
    size_t num_dims = 0;
    if (sp_adapter_parameter_shape(adapter, name, dims, SP_MAX_PARAMETER_DIMS, &num_dims) != SP_OK)
      fail_msg("PEFT's trainable tensor %s: %s", name, sp_last_error());
    size_t d = 0;
    for (char* size = strtok(NULL, " \n"); size; size = strtok(NULL, " \n"), ++d)
      if (d >= num_dims || dims[d] != atoll(size))
        fail_msg("%s: our shape differs from PEFT's in dimension %zu", name, d);
    if (d != num_dims) fail_msg("%s: our rank %zu, PEFT's %zu", name, num_dims, d);
    ++lines;
  }
  fclose(file);
  if (lines != info.num_parameter_tensors)
    fail_msg("PEFT has %d trainable tensors, we have %d", lines, info.num_parameter_tensors);
}

/* Every trainable tensor equals <folder>/init__<name>.f32: identically where the same draws are
 * expected (CPU float32, one kernel path), else by the tolerance rule over the sampler's operations. */
static inline void initial_tensors_are_peft_s(const sp_adapter* adapter, const char* folder) {
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  for (int i = 0; i < info.num_parameter_tensors; ++i) {
    const char* name = NULL;
    size_t count = 0;
    char file[300], label[160];
    SP_CHECK(sp_adapter_parameter_name(adapter, i, &name));
    SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
    float* ours = (float*)malloc(count * sizeof(float));
    SP_CHECK(sp_adapter_get_parameter(adapter, name, ours, count));
    snprintf(file, sizeof file, "init__%s.f32", name);
    float* expected = read_floats(folder, file, count);
    snprintf(label, sizeof label, "init %s", name);
    if (identical_draws_expected())
      ASSERT_IDENTICAL(label, ours, expected, count);
    else
      ASSERT_CONFORMS(label, ours, expected, count, SP_SAMPLER_OPERATIONS);
    free(ours);
    free(expected);
  }
}

/* log softmax of logits[count] at `label`, in double. */
static inline double log_probability_of(const float* logits, int64_t count, int32_t label) {
  double largest = logits[0], sum = 0.0;
  for (int64_t k = 1; k < count; ++k)
    if (logits[k] > largest) largest = logits[k];
  for (int64_t k = 0; k < count; ++k) sum += exp((double)logits[k] - largest);
  return (double)logits[label] - largest - log(sum);
}

#endif
