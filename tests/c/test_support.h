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

/* Fails the current test with the library's message when a call does not return SP_OK. */
#define SP_CHECK(call)                                                                              \
  do {                                                                                              \
    sp_status sp_check_status_ = (call);                                                            \
    if (sp_check_status_ != SP_OK)                                                                  \
      fail_msg("%s returned %s: %s", #call, sp_status_string(sp_check_status_), sp_last_error());   \
  } while (0)

/* Asserts that `call` returns `expected` and that the message contains `fragment`. */
#define SP_EXPECT_ERROR(call, expected, fragment)                                                    \
  do {                                                                                              \
    sp_status sp_expect_status_ = (call);                                                           \
    if (sp_expect_status_ != (expected))                                                            \
      fail_msg("%s returned %s, expected %s (message: %s)", #call, sp_status_string(sp_expect_status_), \
               sp_status_string(expected), sp_last_error());                                        \
    if (strstr(sp_last_error(), (fragment)) == NULL)                                                \
      fail_msg("%s: message \"%s\" does not mention \"%s\"", #call, sp_last_error(), (fragment));  \
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

/* True when the suites run on the CPU in float32, where results are bit-reproducible and the
 * stated conformance tolerances apply. */
static inline int running_on_cpu_float32(void) {
  sp_model_params params = test_model_params();
  return params.device == SP_DEVICE_CPU && params.dtype == SP_DTYPE_FLOAT32;
}

/* The one tolerance rule of every numerical comparison in the suites (ours against transformers or
 * PEFT, or ours against ourselves on another code path).
 *
 * Two float computations of the same value that differ only in summation order, blocking, vector
 * width or fused kernels (what changes between AVX2 and AVX-512, MKL and OpenBLAS, CPU and CUDA)
 * each carry a round-off error of at most gamma_n = n*u/(1 - n*u) times the magnitude of the terms
 * summed (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3). So we allow
 *
 *     |ours - reference| <= SP_TOLERANCE_SAFETY * u * n * M        for every element
 *
 *   u  unit round-off of the compute dtype: 2^-24 float32, 2^-11 float16, 2^-8 bfloat16;
 *   n  the reduction length: the summed lengths of the dot products and reductions along the
 *      longest dependency chain that produced the value, stated at each call site from the model's
 *      sizes (see conformance_reduction_length() for the chain of a transformer forward pass);
 *   M  the magnitude of the reference: its largest |value| over the whole tensor (an element's
 *      error is set by the size of the terms that built it, which the tensor's largest entry
 *      represents; an element near zero gets the same absolute room as its neighbours).
 * SP_TOLERANCE_SAFETY covers the two errors of a comparison (ours and the reference's) and the
 * few elementwise operations between reductions. Nothing in the rule depends on the machine. */
#define SP_TOLERANCE_SAFETY 4.0

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
  return SP_TOLERANCE_SAFETY * unit_roundoff() * reduction_length * max_abs(reference, count);
}

/* Reduction length along one transformer forward pass over `keys` attended positions:
 * per layer the q/k/v projections (hidden), the attention scores and the weighted sum (2 * head_dim
 * + keys), the output projection (heads * head_dim), the MLP (hidden + intermediate) and two norms
 * (2 * hidden); then the final norm and the output layer (2 * hidden). */
static inline double conformance_reduction_length(const sp_model_info* info, int64_t intermediate_size, int64_t keys) {
  const double per_layer = (double)info->hidden_size * 4 + 2.0 * info->head_dim + (double)keys +
                           (double)info->num_attention_heads * info->head_dim + (double)intermediate_size;
  return (double)info->num_layers * per_layer + 2.0 * info->hidden_size;
}

/* Old fixed tolerances, kept only until every comparison uses ASSERT_CONFORMS. */
static inline double tolerance(double cpu_float32_tolerance) {
  const char* scale = getenv("SP_TEST_TOLERANCE_SCALE");
  return cpu_float32_tolerance * (scale ? atof(scale) : 1.0);
}

/* path = a/b into a static buffer (one at a time per call site is enough for tests). */
static inline const char* test_path(char* buffer, size_t size, const char* folder, const char* name) {
  snprintf(buffer, size, "%s/%s", folder, name);
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

static inline double max_abs_diff(const float* a, const float* b, size_t count) {
  double worst = 0.0;
  for (size_t i = 0; i < count; ++i) {
    double diff = fabs((double)a[i] - (double)b[i]);
    if (diff != diff) return INFINITY; /* NaN */
    if (diff > worst) worst = diff;
  }
  return worst;
}

/* Asserts max |a - b| <= tolerance and prints the figure reached (for the record). Conformance
 * comparisons use ASSERT_CONFORMS, which derives the tolerance by the rule above. */
#define ASSERT_CLOSE(label, a, b, count, tolerance)                                                   \
  do {                                                                                                \
    double worst_ = max_abs_diff((a), (b), (count));                                                  \
    printf("    %-48s max |diff| = %.3g (tolerance %.0e)\n", (label), worst_, (double)(tolerance));   \
    if (!(worst_ <= (tolerance))) fail_msg("%s: max |diff| %.3g exceeds %.0e", (label), worst_, (double)(tolerance)); \
  } while (0)

/* Asserts that `ours` agrees with `reference` by the tolerance rule for reductions of length
 * `reduction_length`, and prints the figure reached and the bound. */
#define ASSERT_CONFORMS(label, ours, reference, count, reduction_length)                               \
  do {                                                                                                \
    double bound_ = conformance_bound((reference), (count), (reduction_length));                      \
    double worst_ = max_abs_diff((ours), (reference), (count));                                       \
    printf("    %-48s max |diff| = %.3g (bound %.3g = rule(n=%.0f, M=%.3g))\n", (label), worst_, bound_,  \
           (double)(reduction_length), max_abs((reference), (count)));                                \
    if (!(worst_ <= bound_))                                                                          \
      fail_msg("%s: max |diff| %.3g exceeds the rule's bound %.3g", (label), worst_, bound_);         \
  } while (0)

#endif
