// Rotary-embedding inverse frequencies, computed exactly as transformers 5.24 computes them
// (modeling_rope_utils.py: float32 tensor arithmetic in the same order, Python-double scalars where
// transformers has Python scalars), for the "default", "linear", "dynamic", "yarn" and "llama3" types.
#pragma once

#include <ATen/ATen.h>

#include "model/config.h"

namespace sp::model {

// float32 CPU, (head_dim / 2). For "dynamic" these are the unscaled frequencies transformers starts
// from (and keeps while no call is longer than max_position_embeddings).
at::Tensor rope_inverse_frequencies(const ModelConfig& config);

// "dynamic" (NTK-aware) frequencies for a call whose largest position is seq_len - 1, where
// seq_len > max_position_embeddings. transformers recomputes them when a call grows past the longest
// length it has seen and keeps them for later calls until one is shorter than max_position_embeddings
// (state in the rotary module); we compute them from each call's own length, so a call is never
// affected by the ones before it. The two agree on every call whose length is either within
// max_position_embeddings or the longest seen so far.
at::Tensor dynamic_rope_inverse_frequencies(const ModelConfig& config, int64_t seq_len);

}  // namespace sp::model
