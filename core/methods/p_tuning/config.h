// P-tuning's row of the method table.
#pragma once

#include "methods/registry.h"

namespace sp::methods {

extern const MethodRow kPTuningRow;

// The encoder's width: encoder_hidden_size, or the model's hidden size when it is 0 (PEFT's default).
int64_t p_tuning_encoder_width(const PTuningSettings& settings, const model::ModelConfig& model);

}  // namespace sp::methods
