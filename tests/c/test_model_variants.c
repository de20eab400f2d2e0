/*
 * Model-config variants through the public C API: conformance with transformers on the variants
 * tests/reference/model_variants_reference.py writes (mlp/attention biases, mistral, sliding-window keys
 * that do not apply, rope linear / dynamic / yarn in both config layouts), refusal of windows that do
 * apply, refusal of impossible or unsupported config values, and configs whose sizes would exhaust
 * memory (each of those in a child process under a memory and time limit).
 *
 *   test_model_variants <variants-folder> <scratch-folder>
 */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

/* Shared with tests/reference/model_variants_reference.py. */
#define BATCH 2
#define SEQ_LEN 12
#define SHORT_LEN 4
#define VOCAB 256
#define INTERMEDIATE 128

static const char* variants_root;
static const char* scratch_root;

/* ---------------------------------------------------------------------------------------------
 * Conformance with transformers
 * ------------------------------------------------------------------------------------------- */

typedef struct inputs {
  int32_t* ids;
  int32_t* mask;
  sp_batch batch;
} inputs;

static inputs read_inputs(const char* ids_name, const char* mask_name, int32_t seq_len) {
  char path[1024];
  size_t count = 0;
  inputs in;
  in.ids = read_raw(test_path(path, sizeof path, variants_root, ids_name), 4, &count);
  assert_int_equal(count, BATCH * seq_len);
  in.mask = read_raw(test_path(path, sizeof path, variants_root, mask_name), 4, &count);
  assert_int_equal(count, BATCH * seq_len);
  in.batch = sp_batch_init();
  in.batch.batch_size = BATCH;
  in.batch.seq_len = seq_len;
  in.batch.input_ids = in.ids;
  in.batch.attention_mask = in.mask;
  in.batch.num_input_ids = in.batch.num_attention_mask = (size_t)(BATCH * seq_len);
  return in;
}

static void free_inputs(inputs* in) {
  free(in->ids);
  free(in->mask);
}

static int file_exists(const char* path) {
  struct stat info;
  return stat(path, &info) == 0;
}

/* Our logits for every position of `in` against transformers' `reference_name` in the variant folder. */
static void compare_logits(sp_model* model, const char* variant, const inputs* in, const char* reference_name) {
  char path[1024], label[128];
  char folder[1024];
  size_t count = 0;
  snprintf(folder, sizeof folder, "%s/%s", variants_root, variant);
  float* reference = read_raw(test_path(path, sizeof path, folder, reference_name), 4, &count);
  const size_t expected = (size_t)BATCH * (size_t)in->batch.seq_len * VOCAB;
  assert_int_equal(count, expected);
  float* ours = malloc(expected * sizeof(float));
  SP_CHECK(sp_model_logits(model, &in->batch, SP_LOGITS_ALL, ours, expected));
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  snprintf(label, sizeof label, "%s %s", variant, reference_name);
  ASSERT_CONFORMS(label, ours, reference, expected,
                  conformance_forward_length(&info, INTERMEDIATE, in->batch.seq_len, 0.0));
  free(ours);
  free(reference);
}

/* Loads the variant and compares both batches (the long one only where transformers wrote it). */
static void conforms(const char* variant) {
  char folder[1024], path[1024];
  snprintf(folder, sizeof folder, "%s/%s", variants_root, variant);
  sp_model* model = load_test_model(variants_root, variant);
  inputs short_in = read_inputs("short_input_ids.i32", "short_attention_mask.i32", SHORT_LEN);
  compare_logits(model, variant, &short_in, "short_logits.f32");
  if (file_exists(test_path(path, sizeof path, folder, "logits.f32"))) {
    inputs in = read_inputs("input_ids.i32", "attention_mask.i32", SEQ_LEN);
    compare_logits(model, variant, &in, "logits.f32");
    free_inputs(&in);
  }
  free_inputs(&short_in);
  sp_model_free(model);
}

#define CONFORMANCE_TEST(function, variant) \
  static void function(void** state) {      \
    (void)state;                            \
    conforms(variant);                      \
  }

/* The regression of issue 7: gate_proj.bias and up_proj.bias were dropped. */
CONFORMANCE_TEST(llama_mlp_bias_conforms, "llama-mlp-bias")
CONFORMANCE_TEST(llama_attention_bias_conforms, "llama-attention-bias")
CONFORMANCE_TEST(llama_ignores_sliding_window_as_transformers_does, "llama-sliding-window")
CONFORMANCE_TEST(mistral_without_window_conforms, "mistral-window-null")
CONFORMANCE_TEST(mistral_with_large_window_conforms, "mistral-window-large")
CONFORMANCE_TEST(mistral_with_default_window_conforms, "mistral-window-absent")
CONFORMANCE_TEST(mistral_window_not_smaller_than_call_conforms, "mistral-window-4")
CONFORMANCE_TEST(qwen2_window_without_use_sliding_window_conforms, "qwen2-window-off")
CONFORMANCE_TEST(qwen2_window_above_max_window_layers_conforms, "qwen2-window-upper")
CONFORMANCE_TEST(qwen2_window_not_smaller_than_call_conforms, "qwen2-window-on")
CONFORMANCE_TEST(rope_linear_conforms, "rope-linear")
CONFORMANCE_TEST(rope_linear_old_layout_conforms, "rope-linear-old")
CONFORMANCE_TEST(rope_dynamic_conforms, "rope-dynamic")
CONFORMANCE_TEST(rope_dynamic_old_layout_conforms, "rope-dynamic-old")
CONFORMANCE_TEST(rope_yarn_conforms, "rope-yarn")
CONFORMANCE_TEST(rope_yarn_old_layout_conforms, "rope-yarn-old")
CONFORMANCE_TEST(rope_yarn_factor_unlike_the_length_ratio_conforms, "rope-yarn-factor")

static void mistral_reports_its_model_type(void** state) {
  (void)state;
  sp_model* model = load_test_model(variants_root, "mistral-window-null");
  sp_model_info info = sp_model_info_init();
  SP_CHECK(sp_model_get_info(model, &info));
  assert_string_equal(info.model_type, "mistral");
  assert_int_equal(info.num_key_value_heads, 2);
  sp_model_free(model);
}

/* ---------------------------------------------------------------------------------------------
 * Sliding windows that apply are refused at the call, never ignored
 * ------------------------------------------------------------------------------------------- */

static void applying_window_is_refused(const char* variant) {
  sp_model* model = load_test_model(variants_root, variant);
  inputs in = read_inputs("input_ids.i32", "attention_mask.i32", SEQ_LEN); /* 12 tokens > window 4 */
  const size_t count = (size_t)BATCH * SEQ_LEN * VOCAB;
  float* out = malloc(count * sizeof(float));
  SP_EXPECT_ERROR(sp_model_logits(model, &in.batch, SP_LOGITS_ALL, out, count), SP_ERR_UNSUPPORTED, "sliding_window");
  float loss = 0;
  SP_EXPECT_ERROR(sp_model_eval_loss(model, &in.batch, &loss, NULL), SP_ERR_UNSUPPORTED, "sliding_window");
  /* 4 real tokens fit the window, but with a prompt adapter's virtual tokens the call does not. */
  inputs short_in = read_inputs("short_input_ids.i32", "short_attention_mask.i32", SHORT_LEN);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, NULL));
  SP_EXPECT_ERROR(sp_adapter_logits(adapter, &short_in.batch, SP_LOGITS_ALL, out, count), SP_ERR_UNSUPPORTED,
                  "sliding_window");
  sp_adapter_free(adapter);
  free(out);
  free_inputs(&in);
  free_inputs(&short_in);
  sp_model_free(model);
}

static void mistral_applying_window_is_refused(void** state) {
  (void)state;
  applying_window_is_refused("mistral-window-4");
}

static void qwen2_applying_window_is_refused(void** state) {
  (void)state;
  applying_window_is_refused("qwen2-window-on");
}

/* ---------------------------------------------------------------------------------------------
 * Edited configs next to real weights
 * ------------------------------------------------------------------------------------------- */

/* A llama config (the variants' sizes) with `extra` appended: keys in `extra` must not repeat the
 * base's, so `omit` names base keys to leave out (comma-separated list of "key" strings). */
static const char* const kBaseKeys[][2] = {
    {"model_type", "\"llama\""},  {"vocab_size", "256"},
    {"hidden_size", "64"},        {"intermediate_size", "128"},
    {"num_hidden_layers", "2"},   {"num_attention_heads", "4"},
    {"num_key_value_heads", "2"}, {"max_position_embeddings", "64"},
    {"rms_norm_eps", "1e-06"},    {"tie_word_embeddings", "false"},
    {"mlp_bias", "true"},
};

static void write_text_file(const char* path, const char* text) {
  FILE* file = fopen(path, "w");
  if (!file) fail_msg("cannot write %s", path);
  fputs(text, file);
  fclose(file);
}

/* A fresh folder scratch/<name> holding the llama-mlp-bias weights (linked) and this config:
 * the base keys, with those named in `extra` replaced by its values. `extra` is JSON members,
 * e.g. "\"head_dim\": 5". */
static const char* edited_model(const char* name, const char* extra) {
  static char folder[1024];
  char path[1400], weights[1200], config[4096];
  snprintf(folder, sizeof folder, "%s/%s", scratch_root, name);
  make_dirs(folder);
  snprintf(weights, sizeof weights, "%s/llama-mlp-bias/model.safetensors", variants_root);
  test_path(path, sizeof path, folder, "model.safetensors");
  unlink(path);
  if (symlink(weights, path) != 0) fail_msg("cannot link %s: %s", path, strerror(errno));
  size_t used = (size_t)snprintf(config, sizeof config, "{");
  int first = 1;
  for (size_t i = 0; i < sizeof kBaseKeys / sizeof kBaseKeys[0]; ++i) {
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", kBaseKeys[i][0]);
    if (extra && strstr(extra, quoted)) continue;
    used +=
        (size_t)snprintf(config + used, sizeof config - used, "%s%s: %s", first ? "" : ", ", quoted, kBaseKeys[i][1]);
    first = 0;
  }
  if (extra) used += (size_t)snprintf(config + used, sizeof config - used, ", %s", extra);
  snprintf(config + used, sizeof config - used, "}");
  write_text_file(test_path(path, sizeof path, folder, "config.json"), config);
  return folder;
}

static void expect_refused(const char* name, const char* extra, sp_status expected, const char* fragment) {
  sp_model* model = NULL;
  SP_EXPECT_ERROR(sp_model_create(&model, edited_model(name, extra), NULL), expected, fragment);
  assert_null(model);
}

static void edited_base_config_loads(void** state) {
  (void)state;
  sp_model* model = NULL;
  SP_CHECK(sp_model_create(&model, edited_model("base", NULL), NULL));
  sp_model_free(model);
}

/* Values with which transformers' output is NaN, infinite or undefined. */
static void impossible_values_are_format_errors(void** state) {
  (void)state;
  expect_refused("eps-zero", "\"rms_norm_eps\": 0", SP_ERR_FORMAT, "rms_norm_eps");
  expect_refused("eps-negative", "\"rms_norm_eps\": -1e-6", SP_ERR_FORMAT, "rms_norm_eps");
  expect_refused("theta-zero", "\"rope_theta\": 0", SP_ERR_FORMAT, "rope_theta");
  expect_refused("theta-negative", "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": -10000.0}",
                 SP_ERR_FORMAT, "rope_theta");
  expect_refused("llama3-context-zero",
                 "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "
                 "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 0}",
                 SP_ERR_FORMAT, "original_max_position_embeddings");
  expect_refused("llama3-low-zero",
                 "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 0, "
                 "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 32}",
                 SP_ERR_FORMAT, "low_freq_factor");
  expect_refused("llama3-factor-zero",
                 "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 0, \"low_freq_factor\": 1.0, "
                 "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 32}",
                 SP_ERR_FORMAT, "factor");
  expect_refused("llama3-high-below-low",
                 "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, "
                 "\"high_freq_factor\": 1.0, \"original_max_position_embeddings\": 32}",
                 SP_ERR_FORMAT, "high_freq_factor");
  expect_refused("linear-no-factor", "\"rope_parameters\": {\"rope_type\": \"linear\"}", SP_ERR_FORMAT, "factor");
  expect_refused("linear-factor-zero", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 0}", SP_ERR_FORMAT,
                 "factor");
  expect_refused("dynamic-factor-negative", "\"rope_parameters\": {\"rope_type\": \"dynamic\", \"factor\": -2.0}",
                 SP_ERR_FORMAT, "factor");
  expect_refused(
      "yarn-factor-zero",
      "\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 0, \"original_max_position_embeddings\": 16}",
      SP_ERR_FORMAT, "factor");
  expect_refused(
      "yarn-context-zero",
      "\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4.0, \"original_max_position_embeddings\": 0}",
      SP_ERR_FORMAT, "original_max_position_embeddings");
  expect_refused("yarn-attention-factor-negative",
                 "\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4.0, \"attention_factor\": -1.0}",
                 SP_ERR_FORMAT, "attention_factor");
  expect_refused("yarn-beta-negative",
                 "\"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4.0, \"beta_fast\": -32}", SP_ERR_FORMAT,
                 "beta_fast");
  expect_refused("window-zero", "\"model_type\": \"mistral\", \"mlp_bias\": false, \"sliding_window\": 0",
                 SP_ERR_FORMAT, "sliding_window");
  expect_refused("qwen2-layer-types-length",
                 "\"model_type\": \"qwen2\", \"use_sliding_window\": true, \"sliding_window\": 4, "
                 "\"layer_types\": [\"full_attention\"]",
                 SP_ERR_FORMAT, "layer_types");
}

/* Keys that would change the computation and are not implemented. */
static void unimplemented_keys_are_unsupported(void** state) {
  (void)state;
  expect_refused("act-gelu", "\"hidden_act\": \"gelu\"", SP_ERR_UNSUPPORTED, "hidden_act");
  expect_refused("longrope",
                 "\"rope_scaling\": {\"rope_type\": \"longrope\", \"short_factor\": [1], \"long_factor\": [1]}",
                 SP_ERR_UNSUPPORTED, "longrope");
  expect_refused("partial-rotary", "\"partial_rotary_factor\": 0.5", SP_ERR_UNSUPPORTED, "partial_rotary_factor");
}

/* ---------------------------------------------------------------------------------------------
 * No config may exhaust memory: each case in a child with an address-space and time limit
 * ------------------------------------------------------------------------------------------- */

#define CHILD_MEMORY_BYTES (2ull << 30) /* beyond what the process has mapped already */
#define CHILD_SECONDS 60

static unsigned long long mapped_bytes(void) {
  unsigned long long pages = 0;
  FILE* file = fopen("/proc/self/statm", "r");
  if (file) {
    if (fscanf(file, "%llu", &pages) != 1) pages = 0;
    fclose(file);
  }
  return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* sp_model_create on `folder` in a child limited to CHILD_MEMORY_BYTES more address space and
 * CHILD_SECONDS; the child reports status and message through a pipe. */
static void expect_refused_within_limits(const char* folder, sp_status expected, const char* fragment) {
  int channel[2];
  assert_int_equal(pipe(channel), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(channel[0]);
    struct rlimit limit = {mapped_bytes() + CHILD_MEMORY_BYTES, mapped_bytes() + CHILD_MEMORY_BYTES};
    setrlimit(RLIMIT_AS, &limit);
    alarm(CHILD_SECONDS);
    sp_model* model = NULL;
    int status = (int)sp_model_create(&model, folder, NULL);
    char message[1024];
    snprintf(message, sizeof message, "%s", sp_last_error());
    if (write(channel[1], &status, sizeof status) != (ssize_t)sizeof status) _exit(3);
    if (write(channel[1], message, strlen(message) + 1) < 0) _exit(3);
    _exit(0);
  }
  close(channel[1]);
  int status = -1;
  char message[1024] = "";
  ssize_t got = read(channel[0], &status, sizeof status);
  size_t used = 0;
  ssize_t part;
  while (used < sizeof message - 1 && (part = read(channel[0], message + used, sizeof message - 1 - used)) > 0)
    used += (size_t)part;
  message[used] = '\0';
  close(channel[0]);
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  if (WIFSIGNALED(wait_status))
    fail_msg("%s: the child was killed by signal %d (memory or time limit)", folder, WTERMSIG(wait_status));
  if (got != (ssize_t)sizeof status) fail_msg("%s: the child reported nothing", folder);
  printf("    %-40s %s: %s\n", strrchr(folder, '/') + 1, sp_status_string((sp_status)status), message);
  if (status != (int)expected)
    fail_msg("%s: got %s (%s), expected %s", folder, sp_status_string((sp_status)status), message,
             sp_status_string(expected));
  if (!strstr(message, fragment)) fail_msg("%s: message \"%s\" does not mention \"%s\"", folder, message, fragment);
}

static void huge_sizes_fail_cleanly_before_allocating(void** state) {
  (void)state;
  /* Beyond the plausible bounds: refused while reading config.json. */
  expect_refused_within_limits(edited_model("head-dim-2g", "\"head_dim\": 2147483648"), SP_ERR_FORMAT, "head_dim");
  expect_refused_within_limits(edited_model("head-dim-1e9", "\"head_dim\": 1000000000"), SP_ERR_FORMAT, "head_dim");
  expect_refused_within_limits(edited_model("layers-1e9", "\"num_hidden_layers\": 1000000000"), SP_ERR_FORMAT,
                               "num_hidden_layers");
  expect_refused_within_limits(edited_model("vocab-2e40", "\"vocab_size\": 1099511627776"), SP_ERR_FORMAT,
                               "vocab_size");
  expect_refused_within_limits(edited_model("intermediate-1e9", "\"intermediate_size\": 1000000000"), SP_ERR_FORMAT,
                               "intermediate_size");
  expect_refused_within_limits(edited_model("heads-2e40", "\"num_attention_heads\": 1099511627776"), SP_ERR_FORMAT,
                               "num_attention_heads");
  expect_refused_within_limits(edited_model("hidden-2e40", "\"hidden_size\": 1099511627776"), SP_ERR_FORMAT,
                               "hidden_size");
  /* Within the bounds but contradicting the weights: refused against the files' headers. */
  expect_refused_within_limits(edited_model("intermediate-1e6", "\"intermediate_size\": 1000000"),
                               SP_ERR_SHAPE_MISMATCH, "gate_proj");
  expect_refused_within_limits(edited_model("head-dim-4096", "\"head_dim\": 4096"), SP_ERR_SHAPE_MISMATCH, "q_proj");
  expect_refused_within_limits(edited_model("layers-4000", "\"num_hidden_layers\": 4000"), SP_ERR_FORMAT,
                               "model.layers.2.");
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <variants-folder> <scratch-folder>\n", argv[0]);
    return 2;
  }
  static char absolute_root[4096];
  if (!realpath(argv[1], absolute_root)) { /* the weights are linked into scratch folders: absolute paths */
    fprintf(stderr, "no variants folder %s\n", argv[1]);
    return 2;
  }
  variants_root = absolute_root;
  scratch_root = argv[2];
  make_dirs(scratch_root);
  /* The forking cases run first, before this process has started any thread pools. */
  const struct CMUnitTest limits[] = {
      cmocka_unit_test(huge_sizes_fail_cleanly_before_allocating),
  };
  const struct CMUnitTest configs[] = {
      cmocka_unit_test(edited_base_config_loads),
      cmocka_unit_test(impossible_values_are_format_errors),
      cmocka_unit_test(unimplemented_keys_are_unsupported),
  };
  const struct CMUnitTest conformance[] = {
      cmocka_unit_test(llama_mlp_bias_conforms),
      cmocka_unit_test(llama_attention_bias_conforms),
      cmocka_unit_test(llama_ignores_sliding_window_as_transformers_does),
      cmocka_unit_test(mistral_without_window_conforms),
      cmocka_unit_test(mistral_with_large_window_conforms),
      cmocka_unit_test(mistral_with_default_window_conforms),
      cmocka_unit_test(mistral_window_not_smaller_than_call_conforms),
      cmocka_unit_test(mistral_reports_its_model_type),
      cmocka_unit_test(qwen2_window_without_use_sliding_window_conforms),
      cmocka_unit_test(qwen2_window_above_max_window_layers_conforms),
      cmocka_unit_test(qwen2_window_not_smaller_than_call_conforms),
      cmocka_unit_test(mistral_applying_window_is_refused),
      cmocka_unit_test(qwen2_applying_window_is_refused),
      cmocka_unit_test(rope_linear_conforms),
      cmocka_unit_test(rope_linear_old_layout_conforms),
      cmocka_unit_test(rope_dynamic_conforms),
      cmocka_unit_test(rope_dynamic_old_layout_conforms),
      cmocka_unit_test(rope_yarn_conforms),
      cmocka_unit_test(rope_yarn_old_layout_conforms),
      cmocka_unit_test(rope_yarn_factor_unlike_the_length_ratio_conforms),
  };
  int failures = cmocka_run_group_tests_name("model config limits", limits, NULL, NULL);
  failures += cmocka_run_group_tests_name("model config values", configs, NULL, NULL);
  failures += cmocka_run_group_tests_name("model variants against transformers", conformance, NULL, NULL);
  return failures == 0 ? 0 : 1;
}
