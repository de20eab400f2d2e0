// The training pieces one by one, each against its definition written out here in double:
//   - the causal-LM loss (shift by one, -100 ignored, cross-entropy from a hand-made log-softmax),
//   - AdamW (PyTorch's single-tensor update: moments, bias correction, decoupled weight decay),
//   - the linear schedule (transformers' get_linear_schedule_with_warmup; total 0 = constant),
//   - the trainer settings' rules (each bad value refused with InvalidArgument naming the setting).
//
//   test_train_pieces <models-folder>
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "model/transformer.h"
#include "objectives/causal_lm.h"
#include "train/adamw.h"
#include "train/schedule.h"
#include "train/trainer_config.h"
#include "util/errors.h"

#include "core_test_support.h"  // last: it includes cmocka

namespace {

using core_test::expect_error;

std::string models_root;

// ---------------------------------------------------------------------------------------------
// Loss. The model is llama-tied: its output layer is the token embedding, so the logits of a hidden
// state h are h . E[v] for every row E[v] of the embedding table, computed here in double.

struct ExpectedTarget {
  int64_t row;
  double loss;  // -log softmax(logits)[target]
};

std::vector<ExpectedTarget> expected_targets(const at::Tensor& hidden, const at::Tensor& labels,
                                             const at::Tensor& table) {
  const at::Tensor h = hidden.to(at::kDouble).contiguous(), e = table.to(at::kDouble).contiguous();
  const at::Tensor y = labels.contiguous();
  const int64_t B = h.size(0), T = h.size(1), D = h.size(2), V = e.size(0);
  const double* hp = h.data_ptr<double>();
  const double* ep = e.data_ptr<double>();
  const int64_t* yp = y.data_ptr<int64_t>();
  std::vector<ExpectedTarget> out;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) {  // position t predicts label t + 1; the last predicts nothing
      const int64_t target = yp[b * T + t + 1];
      if (target == -100) continue;
      std::vector<double> logits(V);
      for (int64_t v = 0; v < V; ++v) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += hp[(b * T + t) * D + d] * ep[v * D + d];
        logits[v] = dot;
      }
      const double top = *std::max_element(logits.begin(), logits.end());
      double sum = 0;
      for (double logit : logits) sum += std::exp(logit - top);
      out.push_back({b, top + std::log(sum) - logits[target]});
    }
  return out;
}

void loss_matches_hand_computed_cross_entropy(void**) {
  auto model = sp::model::Transformer::load(sp::io::join_path(models_root, "llama-tied"), at::kCPU, at::kFloat);
  const auto& c = model->config();
  assert_true(c.tie_word_embeddings);
  c10::InferenceMode guard;
  const at::Tensor table = model->embed_tokens(at::arange(c.vocab_size, at::kLong).unsqueeze(0))[0];

  const int64_t B = 3, T = 5;
  at::manual_seed(7);
  const at::Tensor hidden = at::randn({B, T, c.hidden_size}) * 0.5;
  // Row 0: every label is a target (label 0 is never one: nothing precedes it). Row 1: -100 in the
  // middle and at the end. Row 2: only its first label is set, which no position predicts, so the
  // row has no target at all.
  const at::Tensor labels = at::tensor(std::vector<int64_t>{11, 42, 7, 255, 0,     //
                                                            3, 9, -100, 17, -100,  //
                                                            5, -100, -100, -100, -100},
                                       at::kLong)
                                .reshape({B, T});
  const std::vector<ExpectedTarget> expected = expected_targets(hidden, labels, table);
  assert_int_equal(expected.size(), 4 + 2);

  const sp::objectives::TargetLosses losses = sp::objectives::target_losses(*model, hidden, labels);
  assert_int_equal(losses.token_losses.scalar_type(), at::kFloat);
  assert_int_equal(losses.token_losses.numel(), expected.size());
  assert_int_equal(losses.rows.numel(), expected.size());
  double sum = 0, worst = 0;
  std::vector<double> row_sums(B, 0.0);
  for (size_t i = 0; i < expected.size(); ++i) {
    const double got = losses.token_losses[static_cast<int64_t>(i)].item<double>();
    worst = std::max(worst, std::abs(got - expected[i].loss));
    assert_int_equal(losses.rows[static_cast<int64_t>(i)].item<int64_t>(), expected[i].row);
    sum += expected[i].loss;
    row_sums[expected[i].row] += expected[i].loss;
  }
  std::printf("    per-target loss: max |diff| vs double = %.3g (losses around %.3g)\n", worst, sum / expected.size());
  assert_true(worst < 1e-4);

  const double mean = sp::objectives::mean_loss(losses).item<double>();
  assert_true(std::abs(mean - sum / static_cast<double>(expected.size())) < 1e-4);

  const at::Tensor rows = sp::objectives::row_log_likelihood(losses, B);
  assert_int_equal(rows.numel(), B);
  for (int64_t b = 0; b < B; ++b) assert_true(std::abs(rows[b].item<double>() - -row_sums[b]) < 1e-4);
  assert_true(rows[2].item<double>() == 0.0);  // no target: log-likelihood of nothing
}

void loss_without_targets_is_refused(void**) {
  auto model = sp::model::Transformer::load(sp::io::join_path(models_root, "llama-tied"), at::kCPU, at::kFloat);
  c10::InferenceMode guard;
  const at::Tensor hidden = at::randn({2, 4, model->config().hidden_size});
  // Only the first position of each row has a label: after the shift nothing is predicted.
  const at::Tensor labels =
      at::tensor(std::vector<int64_t>{8, -100, -100, -100, 9, -100, -100, -100}, at::kLong).reshape({2, 4});
  expect_error([&] { sp::objectives::target_losses(*model, hidden, labels); }, sp::ErrorKind::InvalidArgument, "-100");
}

// ---------------------------------------------------------------------------------------------
// AdamW, as torch.optim.AdamW (foreach=False, amsgrad=False, maximize=False) defines one update:
//   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

struct Reference {
  std::vector<double> p, m, v;
  int64_t t = 0;
};

void reference_step(Reference& r, const std::vector<double>& g, double lr, const sp::train::AdamWOptions& o) {
  ++r.t;
  for (size_t i = 0; i < r.p.size(); ++i) {
    r.p[i] *= 1 - lr * o.weight_decay;
    r.m[i] = o.beta1 * r.m[i] + (1 - o.beta1) * g[i];
    r.v[i] = o.beta2 * r.v[i] + (1 - o.beta2) * g[i] * g[i];
    const double m_hat = r.m[i] / (1 - std::pow(o.beta1, r.t));
    const double v_hat_sqrt = std::sqrt(r.v[i]) / std::sqrt(1 - std::pow(o.beta2, r.t));
    r.p[i] -= lr * m_hat / (v_hat_sqrt + o.eps);
  }
}

void check_adamw(at::ScalarType dtype, const sp::train::AdamWOptions& options, double tolerance) {
  const std::vector<double> start = {0.5, -1.25, 2.0, 0.0, -0.003};
  const std::vector<std::vector<double>> grads = {{0.1, -0.2, 0.3, 1.0, -0.5},
                                                  {-0.4, 0.05, 0.0, 2.0, 1e-4},
                                                  {0.2, 0.2, -0.7, -1.5, 3.0},
                                                  {1e-3, -3.0, 0.25, 0.0, -0.01}};
  const std::vector<double> rates = {1e-2, 5e-3, 2e-2, 1e-3};
  const auto n = static_cast<int64_t>(start.size());
  at::Tensor parameter = at::tensor(start, at::kDouble).to(dtype).set_requires_grad(true);
  // A second tensor that never receives a gradient: AdamW must leave it untouched.
  at::Tensor idle = at::tensor(std::vector<double>{1.0, -2.0}, at::kDouble).to(dtype).set_requires_grad(true);
  sp::train::AdamW optimizer({parameter, idle}, options);
  Reference r{start, std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  double worst = 0;
  for (size_t step = 0; step < grads.size(); ++step) {
    parameter.mutable_grad() = at::tensor(grads[step], at::kDouble).to(dtype);
    optimizer.step(rates[step]);
    reference_step(r, grads[step], rates[step], options);
    assert_int_equal(optimizer.steps_taken(), static_cast<int64_t>(step + 1));
    const at::Tensor got = parameter.detach().to(at::kDouble);
    for (int64_t i = 0; i < n; ++i) {
      const double diff = std::abs(got[i].item<double>() - r.p[i]);
      worst = std::max(worst, diff);
      if (diff > tolerance)
        fail_msg("step %zu element %lld: %.17g, expected %.17g", step + 1, static_cast<long long>(i),
                 got[i].item<double>(), r.p[i]);
    }
  }
  assert_true(idle.detach()[0].item<double>() == 1.0 && idle.detach()[1].item<double>() == -2.0);
  std::printf("    AdamW %s wd=%g: max |diff| after %zu steps = %.3g\n", c10::toString(dtype), options.weight_decay,
              grads.size(), worst);
}

void adamw_follows_the_closed_form_update(void**) {
  sp::train::AdamWOptions options;  // PyTorch's defaults but weight decay 0.01
  check_adamw(at::kDouble, options, 1e-13);
  check_adamw(at::kFloat, options, 1e-6);
  options.weight_decay = 0;
  options.beta1 = 0.8;
  options.beta2 = 0.95;
  options.eps = 1e-6;
  check_adamw(at::kDouble, options, 1e-13);
  options.weight_decay = 0.5;  // large enough for the decay term to matter at these rates
  check_adamw(at::kDouble, options, 1e-13);
}

void adamw_first_step_moves_each_element_by_about_lr(void**) {
  // With bias correction the first update is lr * g / (|g| + eps'): about lr against the gradient's
  // sign, whatever the gradient's size (the defining property of Adam's first step).
  sp::train::AdamWOptions options;
  options.weight_decay = 0;
  at::Tensor parameter = at::zeros({3}, at::kDouble).set_requires_grad(true);
  sp::train::AdamW optimizer({parameter}, options);
  parameter.mutable_grad() = at::tensor(std::vector<double>{1e3, -1e-2, 5.0}, at::kDouble);
  optimizer.step(0.1);
  const at::Tensor p = parameter.detach();
  assert_true(std::abs(p[0].item<double>() + 0.1) < 1e-9);
  assert_true(std::abs(p[1].item<double>() - 0.1) < 1e-6);
  assert_true(std::abs(p[2].item<double>() + 0.1) < 1e-9);
}

void adamw_counts_steps_per_parameter(void**) {
  // PyTorch keeps each parameter's step count in its own state and raises it only when that
  // parameter has a gradient: a tensor whose first gradient arrives at the optimizer's second step
  // gets a first-step update (bias correction with t = 1), about lr against its gradient's sign.
  sp::train::AdamWOptions options;
  options.weight_decay = 0;
  at::Tensor early = at::zeros({1}, at::kDouble).set_requires_grad(true);
  at::Tensor late = at::zeros({1}, at::kDouble).set_requires_grad(true);
  sp::train::AdamW optimizer({early, late}, options);
  early.mutable_grad() = at::tensor(std::vector<double>{1.0}, at::kDouble);
  optimizer.step(0.1);
  assert_true(late.detach()[0].item<double>() == 0.0);
  late.mutable_grad() = at::tensor(std::vector<double>{2.0}, at::kDouble);
  optimizer.step(0.1);
  Reference first{{0.0}, {0.0}, {0.0}};
  reference_step(first, {2.0}, 0.1, options);  // its own first step: t = 1
  const double got = late.detach()[0].item<double>();
  if (std::abs(got - first.p[0]) > 1e-15) fail_msg("late tensor moved to %.17g, expected %.17g", got, first.p[0]);
  assert_int_equal(optimizer.steps_taken(), 2);
}

// ---------------------------------------------------------------------------------------------
// Schedule: transformers' lr_lambda(step) = step / max(1, warmup) while step < warmup, then
// max(0, (total - step) / max(1, total - warmup)); softprompt's total 0 = constant after warm-up.

double transformers_rate(double base, int64_t warmup, int64_t total, int64_t step) {
  if (step < warmup) return base * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (total == 0) return base;
  return base *
         std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
}

void schedule_follows_transformers_linear_warmup(void**) {
  struct Case {
    int64_t warmup, total;
  } cases[] = {{0, 0}, {0, 10}, {3, 10}, {4, 0}, {10, 10}, {1, 1}, {5, 3}, {2, 7}};
  const double base = 3e-3;
  for (const Case& c : cases) {
    sp::train::LinearSchedule schedule{base, c.warmup, c.total};
    for (int64_t step = 0; step <= std::max<int64_t>(c.total, c.warmup) + 3; ++step) {
      const double expected = transformers_rate(base, c.warmup, c.total, step);
      const double got = schedule.rate(step);
      if (std::abs(got - expected) > 1e-15)
        fail_msg("warmup %lld total %lld step %lld: %.17g, expected %.17g", static_cast<long long>(c.warmup),
                 static_cast<long long>(c.total), static_cast<long long>(step), got, expected);
    }
  }
  // A few values written out: warm-up starts at 0, peaks at the base rate, decays to 0 and stays there.
  sp::train::LinearSchedule s{1.0, 2, 6};
  const double written[] = {0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0};
  for (int64_t step = 0; step < 8; ++step) assert_true(std::abs(s.rate(step) - written[step]) < 1e-15);
  sp::train::LinearSchedule constant{0.25, 0, 0};
  for (int64_t step : {0, 1, 1000, 1000000}) assert_true(constant.rate(step) == 0.25);
}

// ---------------------------------------------------------------------------------------------
// Trainer settings.

void trainer_config_refuses_each_bad_value(void**) {
  using sp::train::TrainerConfig;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  sp::train::validate(TrainerConfig{});  // the defaults pass
  {
    TrainerConfig edge;  // the edges of the allowed ranges pass too
    edge.schedule.base_lr = 0;
    edge.adamw.beta1 = 0;
    edge.adamw.beta2 = 0;
    edge.adamw.weight_decay = 0;
    edge.max_grad_norm = 0;
    edge.schedule.warmup_steps = 0;
    edge.schedule.total_steps = 0;
    edge.accumulation_steps = 1;
    sp::train::validate(edge);
  }
  struct Case {
    const char* setting;
    std::function<void(TrainerConfig&)> spoil;
  } cases[] = {
      {"learning_rate", [&](TrainerConfig& c) { c.schedule.base_lr = nan; }},
      {"learning_rate", [&](TrainerConfig& c) { c.schedule.base_lr = inf; }},
      {"learning_rate", [](TrainerConfig& c) { c.schedule.base_lr = -1e-3; }},
      {"beta1", [](TrainerConfig& c) { c.adamw.beta1 = 1.0; }},
      {"beta1", [](TrainerConfig& c) { c.adamw.beta1 = -0.1; }},
      {"beta1", [&](TrainerConfig& c) { c.adamw.beta1 = nan; }},
      {"beta2", [](TrainerConfig& c) { c.adamw.beta2 = 1.0; }},
      {"beta2", [&](TrainerConfig& c) { c.adamw.beta2 = nan; }},
      {"eps", [](TrainerConfig& c) { c.adamw.eps = 0.0; }},
      {"eps", [](TrainerConfig& c) { c.adamw.eps = -1e-8; }},
      {"eps", [&](TrainerConfig& c) { c.adamw.eps = inf; }},
      {"eps", [&](TrainerConfig& c) { c.adamw.eps = nan; }},
      {"weight_decay", [](TrainerConfig& c) { c.adamw.weight_decay = -0.01; }},
      {"weight_decay", [&](TrainerConfig& c) { c.adamw.weight_decay = nan; }},
      {"max_grad_norm", [](TrainerConfig& c) { c.max_grad_norm = -1.0; }},
      {"max_grad_norm", [&](TrainerConfig& c) { c.max_grad_norm = inf; }},
      {"warmup_steps", [](TrainerConfig& c) { c.schedule.warmup_steps = -1; }},
      {"total_steps", [](TrainerConfig& c) { c.schedule.total_steps = -5; }},
      {"accumulation_steps", [](TrainerConfig& c) { c.accumulation_steps = 0; }},
      {"accumulation_steps", [](TrainerConfig& c) { c.accumulation_steps = -2; }},
  };
  for (const Case& c : cases) {
    TrainerConfig config;
    c.spoil(config);
    expect_error([&] { sp::train::validate(config); }, sp::ErrorKind::InvalidArgument, c.setting);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!core_test::read_models_folder(argc, argv, models_root)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loss_matches_hand_computed_cross_entropy),
      cmocka_unit_test(loss_without_targets_is_refused),
      cmocka_unit_test(adamw_follows_the_closed_form_update),
      cmocka_unit_test(adamw_first_step_moves_each_element_by_about_lr),
      cmocka_unit_test(adamw_counts_steps_per_parameter),
      cmocka_unit_test(schedule_follows_transformers_linear_warmup),
      cmocka_unit_test(trainer_config_refuses_each_bad_value),
  };
  return cmocka_run_group_tests_name("training pieces", tests, nullptr, nullptr);
}
