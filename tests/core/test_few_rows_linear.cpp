// model::few_rows_linear (the products of a decoding step) against at::linear, its definition:
// x (..., in) times weight (out, in) transposed, plus bias. Covered: 1, 3 and 16 rows, a 3-D input,
// with and without bias, output sizes divisible by 4 and by 2 only (the batched form) and odd (the
// fallback), and the cases that must fall back whole (more rows, small weights, bfloat16, autograd).
// Tolerance: the rule of tests/c/tolerance_rule.h with n = in (one dot product per output).
//
//   test_few_rows_linear <models-folder>   (the argument is unused: the suites share one command form)
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "model/few_rows_linear.h"
#include "tolerance_rule.h"

#include "core_test_support.h"  // last: it includes cmocka

namespace {

double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

void expect_close(const at::Tensor& ours, const at::Tensor& reference, int64_t in, const char* label) {
  assert_true(ours.sizes() == reference.sizes());
  const double difference = max_abs(ours - reference);
  const double bound = tolerance_rule_bound(std::ldexp(1.0, -24), static_cast<double>(in), max_abs(reference));
  std::printf("  %-34s max |diff| %.3g, bound %.3g\n", label, difference, bound);
  assert_true(difference <= bound);
}

void agrees_with_at_linear_where_it_takes_the_batched_form(void**) {
  c10::InferenceMode guard;
  at::manual_seed(7);
  const int64_t in = 512;
  for (int64_t out : {1024, 1030, 1031}) {  // divisible by 4, by 2 only, by neither (at::linear)
    at::Tensor weight = at::randn({out, in}), bias = at::randn({out});
    for (int64_t rows : {1, 3, 16}) {
      at::Tensor x = at::randn({rows, in});
      const std::string label = "out " + std::to_string(out) + ", rows " + std::to_string(rows);
      expect_close(sp::model::few_rows_linear(x, weight), at::linear(x, weight), in, label.c_str());
      expect_close(sp::model::few_rows_linear(x, weight, bias), at::linear(x, weight, bias), in,
                   (label + ", bias").c_str());
    }
    at::Tensor x3 = at::randn({2, 1, in});  // (batch, one token, hidden): a decoding step's shape
    expect_close(sp::model::few_rows_linear(x3, weight, bias), at::linear(x3, weight, bias), in, "3-D input");
  }
}

void falls_back_to_at_linear_exactly_elsewhere(void**) {
  at::manual_seed(8);
  const int64_t in = 512, out = 1024;
  at::Tensor weight = at::randn({out, in});
  at::Tensor many = at::randn({17, in});  // more rows than the batched form takes
  assert_true(at::equal(sp::model::few_rows_linear(many, weight), at::linear(many, weight)));
  at::Tensor small_weight = at::randn({64, 64}), x = at::randn({1, 64});
  assert_true(at::equal(sp::model::few_rows_linear(x, small_weight), at::linear(x, small_weight)));
  at::Tensor half_weight = weight.to(at::kBFloat16), half_x = at::randn({1, in}).to(at::kBFloat16);
  assert_true(at::equal(sp::model::few_rows_linear(half_x, half_weight), at::linear(half_x, half_weight)));
  // Gradients still flow (autograd sees the batched form's operations).
  at::Tensor input = at::randn({1, in}).requires_grad_(true);
  sp::model::few_rows_linear(input, weight).sum().backward();
  at::Tensor expected = weight.sum(0, true);
  assert_true(max_abs(input.grad() - expected) <= tolerance_rule_bound(std::ldexp(1.0, -24), out, max_abs(expected)));
}

}  // namespace

int main(int argc, char** argv) {
  std::string models_root;
  if (!core_test::read_models_folder(argc, argv, models_root)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(agrees_with_at_linear_where_it_takes_the_batched_form),
      cmocka_unit_test(falls_back_to_at_linear_exactly_elsewhere),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
