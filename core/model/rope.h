// Rotary-embedding inverse frequencies, computed exactly as transformers computes them
// (float32 arithmetic in the same order), for the "default" and "llama3" rope types.
#pragma once

#include <ATen/ATen.h>

#include "model/config.h"

namespace sp::model {

at::Tensor rope_inverse_frequencies(const ModelConfig& config);  // float32 CPU, (head_dim / 2)

}  // namespace sp::model
