// Prefix tuning (Li & Liang 2021) as PEFT implements it: every attention layer receives n extra keys
// and values. Each virtual token owns a flat vector [K_0 | V_0 | ... | K_{L-1} | V_{L-1}], each block
// num_kv_heads * head_dim wide and head-major; with `prefix_projection` the vectors are produced by an
// MLP (Linear, tanh, Linear) from an (n, token_dim) table.
#pragma once

#include "methods/init.h"
#include "methods/method.h"

namespace sp::methods {

class PrefixTuning final : public SoftPromptMethod {
 public:
  PrefixTuning(const MethodConfig& config, const model::Transformer& model);

  PromptContribution contribute(const PromptRequest& request) const override;
  NamedTensors prompt_parameters() const override;
  NamedTensors prompt_tensors_for_saving() const override;

 private:
  bool projected() const { return settings_.prefix_projection && !config_.encoded_only; }
  at::Tensor flat_prefix() const;  // (n, 2 * L * token_dim) float32

  PrefixTuningSettings settings_;
  int64_t token_dim_;  // head_dim * num_key_value_heads (prefix_geometry)
  at::ScalarType model_dtype_;
  at::Tensor table_;       // (n, 2 L token_dim), or (n, token_dim) when projected
  Linear first_, second_;  // the projection (projected only)
};

}  // namespace sp::methods
