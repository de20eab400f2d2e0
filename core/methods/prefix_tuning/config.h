// Prefix tuning's row of the method table.
#pragma once

#include "methods/registry.h"

namespace sp::methods {

extern const MethodRow kPrefixTuningRow;

// PEFT sizes the prefix by key/value heads on grouped-query models (its config completion step):
// token_dim = head_dim * num_key_value_heads, num_attention_heads = num_key_value_heads.
PeftGeometry prefix_geometry(const model::ModelConfig& model);

// The projection MLP's width: encoder_hidden_size, or token_dim when it is 0 (PEFT's default).
int64_t prefix_encoder_width(const PrefixTuningSettings& settings, const model::ModelConfig& model);

}  // namespace sp::methods
