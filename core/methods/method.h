// The interface every soft-prompt method implements. A method owns its trainable tensors (float32
// master copies on the model's device) and says what it contributes to a forward pass; where that
// contribution enters the model is decided in prompting/, not here.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "model/transformer.h"

namespace sp::methods {

struct PromptContribution {
  at::Tensor prepend_embeddings;                   // (B, n, hidden) float32, or undefined
  std::vector<model::KeyValuePrefix> kv_prefix;    // one per layer, or empty
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class SoftPromptMethod {
 public:
  virtual ~SoftPromptMethod() = default;

  // PEFT's name for the method ("PROMPT_TUNING", ...).
  virtual const char* peft_type() const = 0;
  virtual int64_t num_virtual_tokens() const = 0;
  // What a batch of `batch_size` rows receives. Differentiable with respect to parameters().
  virtual PromptContribution contribute(int64_t batch_size) const = 0;
  // Trainable tensors by name (the names used by sp_adapter_get_parameter and gradients).
  virtual NamedTensors parameters() const = 0;
  // The tensors PEFT stores in adapter_model.safetensors, by PEFT's keys.
  virtual NamedTensors tensors_for_saving() const = 0;
  // Adds the method's own fields to a PEFT adapter_config.json object.
  virtual void write_peft_config(nlohmann::json& config) const = 0;
};

}  // namespace sp::methods
