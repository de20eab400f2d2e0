// Prompt tuning (Lester et al. 2021) as PEFT implements it: a (num_virtual_tokens, hidden) table
// whose rows are prepended to the input embeddings.
#pragma once

#include <memory>

#include "methods/method.h"

namespace sp::methods {

class PromptTuning final : public SoftPromptMethod {
 public:
  // Initialises the table as PEFT does (see initial_prompt_table).
  PromptTuning(const MethodConfig& config, const model::Transformer& model, bool loading);

  PromptContribution contribute(const PromptRequest& request) const override;
  NamedTensors prompt_parameters() const override { return {{"embedding.weight", table_}}; }
  NamedTensors prompt_tensors_for_saving() const override { return {{"prompt_embeddings", table_.detach()}}; }

 private:
  at::Tensor table_;  // (n, hidden) float32, trainable
};

}  // namespace sp::methods
