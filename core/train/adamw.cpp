#include "train/adamw.h"

#include <cmath>

#include "util/errors.h"

namespace sp::train {

AdamW::AdamW(std::vector<at::Tensor> parameters, AdamWOptions options)
    : parameters_(std::move(parameters)), options_(options) {
  for (const auto& parameter : parameters_) {
    exp_avg_.push_back(at::zeros_like(parameter, at::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(at::zeros_like(parameter, at::MemoryFormat::Preserve));
    steps_.push_back(0);
  }
}

void AdamW::restore(AdamWState state) {
  const std::size_t n = parameters_.size();
  bool fits = state.exp_avg.size() == n && state.exp_avg_sq.size() == n && state.steps.size() == n;
  for (std::size_t i = 0; fits && i < n; ++i)
    fits = state.exp_avg[i].sizes() == parameters_[i].sizes() && state.exp_avg_sq[i].sizes() == parameters_[i].sizes();
  if (!fits) fail(ErrorKind::Internal, "an AdamW state for other parameters");
  exp_avg_ = std::move(state.exp_avg);
  exp_avg_sq_ = std::move(state.exp_avg_sq);
  steps_ = std::move(state.steps);
  steps_taken_ = state.steps_taken;
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++steps_taken_;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& parameter = parameters_[i];
    const at::Tensor& grad = parameter.grad();
    if (!grad.defined()) continue;
    const auto step = static_cast<double>(++steps_[i]);
    const double bias_correction1 = 1 - std::pow(options_.beta1, step);
    const double bias_correction2 = 1 - std::pow(options_.beta2, step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
    if (options_.weight_decay != 0) parameter.mul_(1 - lr * options_.weight_decay);
    exp_avg_[i].lerp_(grad, 1 - options_.beta1);
    exp_avg_sq_[i].mul_(options_.beta2).addcmul_(grad, grad, 1 - options_.beta2);
    at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias_correction2_sqrt).add_(options_.eps);
    parameter.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

}  // namespace sp::train
