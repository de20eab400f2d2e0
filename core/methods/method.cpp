#include "methods/method.h"

#include "methods/init.h"

namespace sp::methods {

SoftPromptMethod::SoftPromptMethod(MethodConfig config, const model::Transformer& model)
    : config_(std::move(config)), model_(model.config()), generator_(make_generator(config_.seed)) {
  if (config_.task.classifies())
    head_.emplace(config_.task, model, generator_);
  else
    objectives::draw_initial_head(config_.task, model, generator_);
}

NamedTensors SoftPromptMethod::parameters() const {
  NamedTensors tensors = prompt_parameters();
  if (head_)
    for (const auto& entry : head_->parameters()) tensors.push_back(entry);
  return tensors;
}

NamedTensors SoftPromptMethod::tensors_for_saving() const {
  NamedTensors tensors = prompt_tensors_for_saving();
  if (head_)
    for (const auto& [name, tensor] : head_->parameters()) tensors.emplace_back(name, tensor.detach());
  return tensors;
}

}  // namespace sp::methods
