#include "train/trainer.h"

#include <cmath>

#include "objectives/target_losses.h"
#include "prompting/losses.h"
#include "util/errors.h"

namespace sp::train {

namespace {
std::vector<at::Tensor> tensors_of(const methods::NamedTensors& named) {
  std::vector<at::Tensor> tensors;
  for (const auto& entry : named) tensors.push_back(entry.second);
  return tensors;
}
}  // namespace

Trainer::Trainer(std::shared_ptr<const model::Transformer> model, methods::SoftPromptMethod& method,
                 TrainerConfig config)
    : model_(std::move(model)),
      method_(method),
      config_((validate(config), config)),
      parameters_(method.parameters()),
      optimizer_(tensors_of(parameters_), config.adamw) {}

void Trainer::resume(AdamWState optimizer, int64_t micro_steps) {
  optimizer_.restore(std::move(optimizer));
  micro_steps_ = micro_steps;
  last_gradients_.clear();
}

StepResult Trainer::step(const prompting::Batch& batch) {
  at::AutoGradMode enable_grad(true);
  objectives::TargetLosses losses = prompting::batch_losses(*model_, &method_, batch, /*training=*/true);
  at::Tensor loss = objectives::mean_loss(losses);
  (loss / static_cast<double>(config_.accumulation_steps)).backward();

  StepResult result;
  result.loss = loss.item<double>();
  ++micro_steps_;
  if (micro_steps_ % config_.accumulation_steps == 0) {
    at::NoGradGuard no_grad;
    last_gradients_.clear();
    double squared_norm = 0;
    for (const auto& [name, parameter] : parameters_) {
      at::Tensor grad = parameter.grad().defined() ? parameter.grad() : at::zeros_like(parameter);
      last_gradients_.emplace_back(name, grad.clone());
      squared_norm += std::pow(grad.norm().item<double>(), 2);
    }
    result.grad_norm = std::sqrt(squared_norm);
    if (config_.max_grad_norm > 0) {
      // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
      const double coefficient = std::min(1.0, config_.max_grad_norm / (result.grad_norm + 1e-6));
      for (auto& entry : parameters_)
        if (entry.second.grad().defined()) entry.second.mutable_grad().mul_(coefficient);
    }
    result.learning_rate = config_.schedule.rate(optimizer_.steps_taken());
    optimizer_.step(result.learning_rate);
    for (auto& entry : parameters_) entry.second.mutable_grad() = at::Tensor();
    result.updated = true;
  }
  result.updates_done = optimizer_.steps_taken();
  return result;
}

}  // namespace sp::train
