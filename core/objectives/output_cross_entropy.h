// The output layer and the cross-entropy of its logits as one operation, computed a block of rows
// at a time, so that the full-vocabulary logits (float32, rows x vocabulary: the largest tensor of
// a training step) never exist. While it has a block's probabilities at hand, the forward pass
// also computes that block's gradient with respect to the hidden states (what the backward pass
// would compute from stored logits); the backward pass only scales it. The same products as
// lm_head followed by cross_entropy, so the same work: only the memory differs.
#pragma once

#include <ATen/ATen.h>

namespace sp::objectives {

// Per-row cross-entropy, (N) float32, of the logits hidden (N, d) x weight (V, d)^T computed in the
// weight's dtype and read in float32 (as transformers upcasts them), against targets (N) int64 in
// [0, V). Differentiable with respect to `hidden` when gradients are enabled.
// `logits_per_block`: how many logits one block holds (rows = max(1, logits_per_block / V)); the
// default keeps a block at 64 MiB of float32.
constexpr int64_t kLogitsPerBlock = int64_t{1} << 24;
at::Tensor output_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                int64_t logits_per_block = kLogitsPerBlock);

}  // namespace sp::objectives
