// The fused element-wise ops (model/fused_ops.h) and the blockwise output layer + cross-entropy
// (objectives/output_cross_entropy.h) against their definitions written as LibTorch op sequences here,
// forward and backward (autograd through the definitions gives the reference gradients).
// Covered: float32 (fused) on 3-D inputs, a rotary input that is a strided view of a fused product
// and cos/sin shared by every row or given per row, gradients through strided views; bfloat16 (the
// op sequence itself); cross-entropy split into one, several and uneven blocks.
// Tolerance: the rule of tests/c/tolerance_rule.h, n = the longest reduction an output element
// comes from (the hidden size for the norm, the vocabulary or hidden size for the loss).
//
//   test_fused_ops <models-folder>   (the argument is unused: the suites share one command form)
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "model/fused_ops.h"
#include "objectives/output_cross_entropy.h"
#include "tolerance_rule.h"

#include "core_test_support.h"  // last: it includes cmocka

namespace {

double max_abs(const at::Tensor& t) { return t.abs().max().item<double>(); }

void expect_close(const at::Tensor& ours, const at::Tensor& reference, double length, const char* label) {
  assert_true(ours.sizes() == reference.sizes());
  const double u = reference.scalar_type() == at::kFloat ? std::ldexp(1.0, -24) : std::ldexp(1.0, -8);
  const double difference = max_abs(ours.to(at::kFloat) - reference.to(at::kFloat));
  const double bound = tolerance_rule_bound(u, length, max_abs(reference.to(at::kFloat)));
  std::printf("  %-44s max |diff| %.3g, bound %.3g\n", label, difference, bound);
  assert_true(difference <= bound);
}

at::Tensor definition_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor h = x.to(at::kFloat);
  h = h * at::rsqrt(h.pow(2).mean(-1, true) + eps);
  return weight * h.to(x.scalar_type());
}

at::Tensor definition_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return x * cos.unsqueeze(2) + rotated * sin.unsqueeze(2);
}

at::Tensor definition_swiglu(const at::Tensor& gate_up) {
  auto halves = gate_up.chunk(2, -1);
  return at::silu(halves[0]) * halves[1];
}

// The gradient of sum(op(x) * probe) with respect to x: a random probe makes every output count.
at::Tensor gradient_of(const std::function<at::Tensor(const at::Tensor&)>& op, const at::Tensor& x,
                       const at::Tensor& probe) {
  at::Tensor input = x.detach().clone().requires_grad_(true);
  (op(input) * probe).sum().backward();
  return input.grad();
}

void rms_norm_matches_its_definition(void**) {
  at::manual_seed(11);
  const int64_t hidden = 768;
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    at::Tensor x = (at::randn({3, 5, hidden}) * 3).to(dtype), weight = at::randn({hidden}).to(dtype);
    at::Tensor probe = at::randn({3, 5, hidden}).to(dtype);
    const std::string name = dtype == at::kFloat ? "float32" : "bfloat16";
    expect_close(sp::model::rms_norm(x, weight, 1e-6), definition_rms_norm(x, weight, 1e-6), hidden,
                 ("rms_norm " + name).c_str());
    auto ours = [&](const at::Tensor& in) { return sp::model::rms_norm(in, weight, 1e-6); };
    auto reference = [&](const at::Tensor& in) { return definition_rms_norm(in, weight, 1e-6); };
    expect_close(gradient_of(ours, x, probe), gradient_of(reference, x, probe), 2 * hidden,
                 ("rms_norm gradient " + name).c_str());
  }
}

void rotary_matches_its_definition(void**) {
  at::manual_seed(12);
  const int64_t B = 2, S = 7, heads = 3, hd = 16;
  // x: the query part of a fused (B, S, (heads + 2) * hd) product, viewed as (B, S, heads, hd).
  at::Tensor fused = at::randn({B, S, (heads + 2) * hd});
  at::Tensor x = fused.narrow(-1, 0, heads * hd).view({B, S, heads, hd});
  at::Tensor probe = at::randn({B, S, heads, hd});
  for (int64_t cos_rows : {int64_t{1}, B}) {
    at::Tensor angles = at::randn({cos_rows, S, hd});
    at::Tensor cos = angles.cos(), sin = angles.sin();
    const std::string name = cos_rows == 1 ? "shared cos/sin" : "per-row cos/sin";
    // Exact: the fused pass does the same two products and one sum per element.
    assert_true(at::equal(sp::model::rotary(x, cos, sin), definition_rotary(x, cos, sin)));
    auto ours = [&](const at::Tensor& in) { return sp::model::rotary(in, cos, sin); };
    auto reference = [&](const at::Tensor& in) { return definition_rotary(in, cos, sin); };
    expect_close(gradient_of(ours, x, probe), gradient_of(reference, x, probe), 2,
                 ("rotary gradient, " + name).c_str());
    // A gradient that arrives as a transposed view (attention's (B, heads, S, hd) layout).
    at::Tensor input = x.detach().clone().requires_grad_(true);
    at::Tensor transposed_probe = probe.transpose(1, 2).contiguous();
    (sp::model::rotary(input, cos, sin).transpose(1, 2) * transposed_probe).sum().backward();
    expect_close(input.grad(), gradient_of(reference, x, probe), 2, ("rotary gradient via a view, " + name).c_str());
  }
  at::Tensor half = x.to(at::kBFloat16), cos = at::randn({1, S, hd}).to(at::kBFloat16);
  assert_true(at::equal(sp::model::rotary(half, cos, cos), definition_rotary(half, cos, cos)));
}

void swiglu_matches_its_definition(void**) {
  at::manual_seed(13);
  const int64_t width = 96;
  at::Tensor gate_up = at::randn({2, 9, 2 * width}) * 4, probe = at::randn({2, 9, width});
  expect_close(sp::model::swiglu(gate_up), definition_swiglu(gate_up), 4, "swiglu");
  expect_close(gradient_of(sp::model::swiglu, gate_up, probe), gradient_of(definition_swiglu, gate_up, probe), 8,
               "swiglu gradient");
  at::Tensor half = gate_up.to(at::kBFloat16);
  assert_true(at::equal(sp::model::swiglu(half), definition_swiglu(half)));
}

void output_cross_entropy_matches_linear_then_cross_entropy(void**) {
  at::manual_seed(14);
  const int64_t rows = 37, hidden = 24, vocab = 301;
  at::Tensor hidden_states = at::randn({rows, hidden}), weight = at::randn({vocab, hidden});
  at::Tensor targets = at::randint(vocab, {rows}, at::kLong), probe = at::randn({rows});
  auto reference = [&](const at::Tensor& in) {
    return at::cross_entropy_loss(at::linear(in, weight).to(at::kFloat), targets, {}, at::Reduction::None);
  };
  const at::Tensor expected = reference(hidden_states);
  const at::Tensor expected_gradient = gradient_of(reference, hidden_states, probe);
  // One block, blocks of 10 rows (the last one 7), and one row per block.
  for (int64_t logits_per_block : {sp::objectives::kLogitsPerBlock, 10 * vocab, int64_t{1}}) {
    const std::string name = "blocks of " + std::to_string(std::max<int64_t>(1, logits_per_block / vocab)) + " rows";
    auto ours = [&](const at::Tensor& in) {
      return sp::objectives::output_cross_entropy(in, weight, targets, logits_per_block);
    };
    {
      at::NoGradGuard no_grad;
      expect_close(ours(hidden_states), expected, vocab + hidden, ("losses, " + name).c_str());
    }
    expect_close(gradient_of(ours, hidden_states, probe), expected_gradient, vocab + hidden,
                 ("gradient, " + name).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string models_root;
  if (!core_test::read_models_folder(argc, argv, models_root)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rms_norm_matches_its_definition),
      cmocka_unit_test(rotary_matches_its_definition),
      cmocka_unit_test(swiglu_matches_its_definition),
      cmocka_unit_test(output_cross_entropy_matches_linear_then_cross_entropy),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
