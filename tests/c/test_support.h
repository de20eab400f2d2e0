/* Helpers shared by the C test suites: reading reference files, comparing arrays, paths. */
#ifndef SP_TEST_SUPPORT_H
#define SP_TEST_SUPPORT_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "softprompt/softprompt.h"
#include "tolerance_rule.h"

/* Fails the current test with the library's message when a call does not return SP_OK. */
#define SP_CHECK(call)                                                                            \
  do {                                                                                            \
    sp_status sp_check_status_ = (call);                                                          \
    if (sp_check_status_ != SP_OK)                                                                \
      fail_msg("%s returned %s: %s", #call, sp_status_string(sp_check_status_), sp_last_error()); \
  } while (0)

/* Asserts that `call` returns `expected` and that the message contains `fragment`. */
#define SP_EXPECT_ERROR(call, expected, fragment)                                                       \
  do {                                                                                                  \
    sp_status sp_expect_status_ = (call);                                                               \
    if (sp_expect_status_ != (expected))                                                                \
      fail_msg("%s returned %s, expected %s (message: %s)", #call, sp_status_string(sp_expect_status_), \
               sp_status_string(expected), sp_last_error());                                            \
    if (strstr(sp_last_error(), (fragment)) == NULL)                                                    \
      fail_msg("%s: message \"%s\" does not mention \"%s\"", #call, sp_last_error(), (fragment));       \
  } while (0)

/* Model parameters for the suites: CPU float32 unless SP_TEST_DEVICE=cuda and/or
 * SP_TEST_DTYPE=bfloat16|float16 say otherwise (scripts/gpu-check.sh sets them). */
static inline sp_model_params test_model_params(void) {
  sp_model_params params = sp_model_default_params();
  const char* device = getenv("SP_TEST_DEVICE");
  const char* dtype = getenv("SP_TEST_DTYPE");
  if (device && strcmp(device, "cuda") == 0) params.device = SP_DEVICE_CUDA;
  if (dtype && strcmp(dtype, "bfloat16") == 0) params.dtype = SP_DTYPE_BFLOAT16;
  if (dtype && strcmp(dtype, "float16") == 0) params.dtype = SP_DTYPE_FLOAT16;
  return params;
}

/* True when the suites run on the CPU in float32, where results are bit-reproducible run to run
 * (used for the checks that demand identical values, e.g. the same seed giving the same table). */
static inline int running_on_cpu_float32(void) {
  sp_model_params params = test_model_params();
  return params.device == SP_DEVICE_CPU && params.dtype == SP_DTYPE_FLOAT32;
}

/* True when values drawn from the same seed must equal the reference's bit for bit: on the CPU in
 * float32, with the reference computed on the same CPU kernels. scripts/test.sh's cross runs set
 * SP_TEST_CROSS_KERNELS=1 (our side on another ATen/MKL path than the reference's): torch's normal
 * sampler is vectorised per path, so the draws then differ in the last bits and the comparison
 * falls back to the tolerance rule with n = SP_SAMPLER_OPERATIONS. */
static inline int identical_draws_expected(void) {
  const char* cross = getenv("SP_TEST_CROSS_KERNELS");
  return running_on_cpu_float32() && !(cross && strcmp(cross, "1") == 0);
}

/* Elementwise chain of a normal draw (Box-Muller: log, product, square root, cosine, then scale and
 * shift): the n of the tolerance rule for values drawn, copied or converted without a reduction. */
#define SP_SAMPLER_OPERATIONS 6.0

/* The tolerance rule (SP_TOLERANCE_SAFETY * u * n * M) is documented in tolerance_rule.h, which
 * the C++ core suites include too. */

/* Unit round-off of the dtype the suites run in (SP_TEST_DTYPE). */
static inline double unit_roundoff(void) {
  sp_model_params params = test_model_params();
  if (params.dtype == SP_DTYPE_BFLOAT16) return ldexp(1.0, -8);
  if (params.dtype == SP_DTYPE_FLOAT16) return ldexp(1.0, -11);
  return ldexp(1.0, -24);
}

static inline double max_abs(const float* values, size_t count) {
  double largest = 0.0;
  for (size_t i = 0; i < count; ++i)
    if (fabs((double)values[i]) > largest) largest = fabs((double)values[i]);
  return largest;
}

/* The allowed max |ours - reference| for `reference[count]` reached through reductions of total
 * length `reduction_length` (the rule above). */
static inline double conformance_bound(const float* reference, size_t count, double reduction_length) {
  return tolerance_rule_bound(unit_roundoff(), reduction_length, max_abs(reference, count));
}

/* Reduction length along one transformer forward pass over `keys` attended positions, plus
 * `encoder_length` for a prompt encoder in front of it (0 for a plain prompt table):
 * per layer the q/k/v projections (hidden), the attention scores and the weighted sum (2 * head_dim
 * + keys), the output projection (heads * head_dim), the MLP (hidden + intermediate) and two norms
 * (2 * hidden); then the final norm and the output layer (2 * hidden). */
static inline double conformance_forward_length(const sp_model_info* info, int64_t intermediate_size, int64_t keys,
                                                double encoder_length) {
  return tolerance_rule_forward_length((double)info->num_layers, (double)info->hidden_size,
                                       (double)info->num_attention_heads, (double)info->head_dim,
                                       (double)intermediate_size, (double)keys, encoder_length);
}

/* The encoder_length of PEFT's P-tuning encoder over `steps` virtual tokens, for
 * conformance_forward_length(): the MLP (Linear(h, e), Linear(e, e), Linear(e, h)), or the LSTM (each
 * step's input and recurrent products, both layers) followed by its two-Linear head. */
static inline double conformance_ptuning_encoder_length(int lstm, double steps, double hidden, double encoder_hidden) {
  return lstm ? steps * (hidden + encoder_hidden) + steps * (3 * encoder_hidden) + 4 * encoder_hidden
              : hidden + 2 * encoder_hidden;
}

/* A loss over `tokens` target tokens of those logits: the log-sum-exp over the vocabulary, then the
 * mean (or sum) over the tokens. */
static inline double conformance_loss_length(double forward_length, const sp_model_info* info, int64_t tokens) {
  return forward_length + (double)info->vocab_size + (double)tokens;
}

/* A gradient of that loss with respect to a trainable tensor read at `uses` places (batch rows x
 * positions). The backward pass runs the transposed product of every forward product; along the
 * chain back to the input those reduce over the other dimension of each weight, which for every
 * layer here sums to about the forward lengths again (attention adds the query count, included in
 * `uses`): 2 * forward. The loss adds its log-sum-exp and, backwards, the output layer's transposed
 * product over the vocabulary: 2 * vocab. The tensor's gradient then sums its `uses` contributions
 * and the product that forms it from its own factors (an MPT factor's gradient reduces over the
 * hidden size): + uses + hidden. */
static inline double conformance_gradient_length(double forward_length, const sp_model_info* info, int64_t uses) {
  return 2.0 * forward_length + 2.0 * (double)info->vocab_size + (double)uses + (double)info->hidden_size;
}

/* Elementwise operations of one AdamW step (two moment updates, two bias corrections, square root,
 * eps, division, decay, subtraction): the n of the step's own round-off. */
#define SP_ADAMW_STEP_OPERATIONS 9.0

/* The bound for element i of a tensor after one AdamW step from the same starting point, given the
 * bound `gradient_bound` (delta) of its gradient and the reference gradient g_i.
 * At step 1 the moments are m^ = g and v^ = g^2, so the update is lr * f(g) with f(g) = g / (|g| + eps).
 * f has slope eps / (|g| + eps)^2 <= 1 / eps (the "lr / eps per unit" sensitivity), largest where
 * |g| is smallest; over [g_i - delta, g_i + delta] that is at max(|g_i| - delta, 0), and f stays in
 * (-1, 1), so a difference in f is at most 2. Hence
 *     |ours_i - reference_i| <= lr * min(2, delta * eps / (max(|g_i| - delta, 0) + eps)^2)
 *                               + the rule for the step itself (n = SP_ADAMW_STEP_OPERATIONS,
 *                                 M = the tensor's max |value|).
 * Elements whose gradient is lost in round-off (|g_i| <~ delta) are allowed their whole update:
 * there the reference itself is round-off. Elements with |g_i| >> delta are held to ~u. */
static inline double conformance_adamw_bound_at(double reference_gradient, double gradient_bound, double lr, double eps,
                                                double step_bound) {
  const double nearest = fabs(reference_gradient) > gradient_bound ? fabs(reference_gradient) - gradient_bound : 0.0;
  double sensitivity = gradient_bound * eps / ((nearest + eps) * (nearest + eps));
  if (sensitivity > 2.0) sensitivity = 2.0;
  return lr * sensitivity + step_bound;
}

static inline double max_abs_diff(const float* a, const float* b, size_t count) {
  double worst = 0.0;
  for (size_t i = 0; i < count; ++i) {
    double diff = fabs((double)a[i] - (double)b[i]);
    if (diff != diff) return INFINITY; /* NaN */
    if (diff > worst) worst = diff;
  }
  return worst;
}

/* figure / bound (0 when the figure is 0; infinite for a NaN or a difference against a zero bound). */
static inline double conformance_ratio_of(double figure, double bound) {
  if (figure != figure) return INFINITY;
  if (figure == 0.0) return 0.0;
  return bound > 0.0 ? figure / bound : INFINITY;
}

/* The rule's verdict without failing: max |ours - reference| / conformance_bound(); <= 1 conforms. */
static inline double conformance_ratio(const float* ours, const float* reference, size_t count,
                                       double reduction_length) {
  return conformance_ratio_of(max_abs_diff(ours, reference, count),
                              conformance_bound(reference, count, reduction_length));
}

/* The verdict for a tensor after one AdamW step: the largest |ours_i - reference_i| /
 * conformance_adamw_bound_at(reference_gradient[i], ...); <= 1 conforms. */
static inline double conformance_adamw_ratio(const float* ours, const float* reference, const float* reference_gradient,
                                             size_t count, double gradient_bound, double lr, double eps) {
  const double step_bound = conformance_bound(reference, count, SP_ADAMW_STEP_OPERATIONS);
  double worst = 0.0;
  for (size_t i = 0; i < count; ++i) {
    double diff = fabs((double)ours[i] - (double)reference[i]);
    double ratio = conformance_ratio_of(
        diff, conformance_adamw_bound_at(reference_gradient[i], gradient_bound, lr, eps, step_bound));
    if (!(ratio <= worst)) worst = ratio;
  }
  return worst;
}

/* The largest figure/bound ratio the suite has reached, printed by report_worst_conformance(). */
static double conformance_worst_ratio_seen = 0.0;
static char conformance_worst_label[160] = "";

static inline void note_conformance_ratio(const char* label, double ratio) {
  if (!(ratio <= conformance_worst_ratio_seen)) {
    conformance_worst_ratio_seen = ratio;
    snprintf(conformance_worst_label, sizeof conformance_worst_label, "%s", label);
  }
}

static inline void report_worst_conformance(const char* suite) {
  printf("%s: worst figure/bound = %.3g (%s)\n", suite, conformance_worst_ratio_seen, conformance_worst_label);
}

/* path = a/b into a static buffer (one at a time per call site is enough for tests). */
static inline const char* test_path(char* buffer, size_t size, const char* folder, const char* name) {
  if (snprintf(buffer, size, "%s/%s", folder, name) >= (int)size) fail_msg("path too long: %s/%s", folder, name);
  return buffer;
}

/* Reads a whole raw file of `element_size`-byte elements; *count receives the element count.
 * Fails the test if the file is missing. The caller frees the result. */
static inline void* read_raw(const char* path, size_t element_size, size_t* count) {
  FILE* file = fopen(path, "rb");
  if (!file) fail_msg("cannot open reference file %s", path);
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  void* data = malloc(size > 0 ? (size_t)size : 1);
  if (size > 0 && fread(data, 1, (size_t)size, file) != (size_t)size) fail_msg("short read of %s", path);
  fclose(file);
  *count = (size_t)size / element_size;
  return data;
}

/* Writes count floats to <folder>/<name> (our outputs, for the Python checks to read). */
static inline void write_floats(const char* folder, const char* name, const float* values, size_t count) {
  char path[1024];
  FILE* file = fopen(test_path(path, sizeof path, folder, name), "wb");
  if (!file) fail_msg("cannot create %s", path);
  if (fwrite(values, sizeof(float), count, file) != count) fail_msg("short write to %s", path);
  fclose(file);
}

/* A suite's folder arguments: argv[1 .. count] into *folders[0 .. count). With another number of
 * arguments, prints "usage: <program> <usage>" and returns 0 (main then exits with 2). */
static inline int read_folder_arguments(int argc, char** argv, const char* usage, const char** folders[], int count) {
  if (argc != count + 1) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 0;
  }
  for (int i = 0; i < count; ++i) *folders[i] = argv[i + 1];
  return 1;
}

/* The adapter's logits at every position of `batch` (SP_LOGITS_ALL, sized by sp_logits_count),
 * written to <folder>/<name> as float32 for the Python side to compare. */
static inline void write_all_logits(const sp_adapter* adapter, const sp_batch* batch, const char* folder,
                                    const char* name) {
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  size_t count = 0;
  SP_CHECK(sp_logits_count(info.vocab_size, batch->batch_size, batch->seq_len, SP_LOGITS_ALL, &count));
  float* logits = malloc(count * sizeof(float));
  assert_non_null(logits);
  SP_CHECK(sp_adapter_logits(adapter, batch, SP_LOGITS_ALL, logits, count));
  write_floats(folder, name, logits, count);
  free(logits);
}

/* The model <models_root>/<variant>, with test_model_params(); fails the test if it does not load. */
static inline sp_model* load_test_model(const char* models_root, const char* variant) {
  char folder[1024];
  sp_model* model = NULL;
  sp_model_params params = test_model_params();
  snprintf(folder, sizeof folder, "%s/%s", models_root, variant);
  SP_CHECK(sp_model_create(&model, folder, &params));
  return model;
}

/* mkdir -p. */
static inline void make_dirs(const char* path) {
  char partial[1024];
  size_t length = strlen(path);
  if (length >= sizeof partial) fail_msg("path too long: %s", path);
  for (size_t i = 1; i <= length; ++i) {
    if (path[i] == '/' || path[i] == '\0') {
      memcpy(partial, path, i);
      partial[i] = '\0';
      mkdir(partial, 0755);
    }
  }
}

/* Asserts that `ours` agrees with `reference` by the tolerance rule for reductions of length
 * `reduction_length`, and prints the figure reached, the bound and their ratio. */
#define ASSERT_CONFORMS(label, ours, reference, count, reduction_length)                                          \
  do {                                                                                                            \
    double bound_ = conformance_bound((reference), (count), (reduction_length));                                  \
    double worst_ = max_abs_diff((ours), (reference), (count));                                                   \
    double ratio_ = conformance_ratio_of(worst_, bound_);                                                         \
    printf("    %-48s max |diff| = %.3g, bound %.3g (n=%.0f, M=%.3g), ratio %.3g\n", (label), worst_, bound_,     \
           (double)(reduction_length), max_abs((reference), (count)), ratio_);                                    \
    note_conformance_ratio((label), ratio_);                                                                      \
    if (!(ratio_ <= 1.0)) fail_msg("%s: max |diff| %.3g exceeds the rule's bound %.3g", (label), worst_, bound_); \
  } while (0)

/* Asserts that a tensor after one AdamW step (lr, eps) agrees with the reference by the bound
 * derived from its gradient's bound (conformance_adamw_bound_at), and prints the ratio reached. */
#define ASSERT_ADAMW_STEP_CONFORMS(label, ours, reference, reference_gradient, count, gradient_bound, lr, eps)      \
  do {                                                                                                              \
    double ratio_ =                                                                                                 \
        conformance_adamw_ratio((ours), (reference), (reference_gradient), (count), (gradient_bound), (lr), (eps)); \
    printf("    %-48s max |diff| = %.3g, per-element bound from the gradient's %.3g, ratio %.3g\n", (label),        \
           max_abs_diff((ours), (reference), (count)), (double)(gradient_bound), ratio_);                           \
    note_conformance_ratio((label), ratio_);                                                                        \
    if (!(ratio_ <= 1.0))                                                                                           \
      fail_msg("%s: differs beyond the bound derived from its gradient's (ratio %.3g)", (label), ratio_);           \
  } while (0)

/* Asserts bit-identical values (what the same seed on the same device and dtype promises). */
#define ASSERT_IDENTICAL(label, ours, reference, count)                            \
  do {                                                                             \
    double worst_ = max_abs_diff((ours), (reference), (count));                    \
    printf("    %-48s max |diff| = %.3g (identical required)\n", (label), worst_); \
    if (memcmp((ours), (reference), (count) * sizeof(float)) != 0)                 \
      fail_msg("%s: not identical (max |diff| %.3g)", (label), worst_);            \
  } while (0)

/* The intermediate (MLP) size from <model_folder>/config.json, which sp_model_info does not carry:
 * "intermediate_size", GPT-2's "n_inner" (4 * hidden when null or absent) or T5's "d_ff". */
static inline int64_t model_intermediate_size(const char* model_folder, const sp_model_info* info) {
  char path[1100];
  size_t count = 0;
  char* text = (char*)read_raw(test_path(path, sizeof path, model_folder, "config.json"), 1, &count);
  text = (char*)realloc(text, count + 1);
  text[count] = '\0';
  int64_t size = 4 * info->hidden_size;
  const char* keys[] = {"\"intermediate_size\"", "\"n_inner\"", "\"d_ff\""};
  for (int k = 0; k < 3; ++k) {
    const char* at = strstr(text, keys[k]);
    if (!at) continue;
    at = strchr(at + strlen(keys[k]), ':');
    long long value = 0;
    if (at && sscanf(at + 1, " %lld", &value) == 1 && value > 0) size = (int64_t)value;
    break;
  }
  free(text);
  return size;
}

/* <folder>/<name>, a reference file of exactly `expected` float32 values (the test fails otherwise). */
static inline float* read_floats(const char* folder, const char* name, size_t expected) {
  char path[1024];
  size_t count = 0;
  float* data = (float*)read_raw(test_path(path, sizeof path, folder, name), 4, &count);
  if (count != expected) fail_msg("%s/%s holds %zu floats, expected %zu", folder, name, count, expected);
  return data;
}

/* After one trainer step that made an update: every trainable tensor's gradient against
 * <folder>/grad__<name>.f32 (reductions of gradient_length) and its values against
 * <folder>/after__<name>.f32 (that bound carried through the AdamW step at lr and eps). */
static inline void assert_step_matches_reference(const sp_adapter* adapter, const sp_trainer* trainer,
                                                 const char* folder, double gradient_length, double lr, double eps) {
  sp_adapter_info info = sp_adapter_info_init();
  SP_CHECK(sp_adapter_get_info(adapter, &info));
  for (int i = 0; i < info.num_parameter_tensors; ++i) {
    const char* name = NULL;
    size_t count = 0;
    char file[300], label[sizeof conformance_worst_label];
    SP_CHECK(sp_adapter_parameter_name(adapter, i, &name));
    SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
    float* ours = (float*)malloc(count * sizeof(float));
    assert_non_null(ours);
    SP_CHECK(sp_trainer_get_gradient(trainer, name, ours, count));
    snprintf(file, sizeof file, "grad__%s.f32", name);
    float* gradient = read_floats(folder, file, count);
    snprintf(label, sizeof label, "gradient of %s vs PEFT", name);
    ASSERT_CONFORMS(label, ours, gradient, count, gradient_length);
    SP_CHECK(sp_adapter_get_parameter(adapter, name, ours, count));
    snprintf(file, sizeof file, "after__%s.f32", name);
    float* after = read_floats(folder, file, count);
    snprintf(label, sizeof label, "%s after one AdamW step vs PEFT", name);
    ASSERT_ADAMW_STEP_CONFORMS(label, ours, after, gradient, count, conformance_bound(gradient, count, gradient_length),
                               lr, eps);
    free(ours);
    free(gradient);
    free(after);
  }
}

#endif
