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
  NamedTensors parameters() const override;
  NamedTensors tensors_for_saving() const override;
  // PEFT sizes the prefix by key/value heads on grouped-query models (its config completion step).
  int64_t peft_token_dim() const override { return token_dim_; }
  int64_t peft_num_attention_heads() const override { return model_.num_kv_heads; }

 private:
  bool projected() const { return config_.prefix_projection && !config_.encoded_only; }
  at::Tensor flat_prefix() const;  // (n, 2 * L * token_dim) float32

  int64_t token_dim_;
  at::ScalarType model_dtype_;
  at::Tensor table_;             // (n, 2 L token_dim), or (n, token_dim) when projected
  Linear first_, second_;        // the projection (projected only)
};

}  // namespace sp::methods
