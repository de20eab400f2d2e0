// Causal language-modelling loss as transformers computes it: position i predicts label i + 1,
// -100 labels are ignored, float32 arithmetic.
#pragma once

#include <ATen/ATen.h>

namespace sp::train {

constexpr int64_t kIgnoredLabel = -100;

// Mean cross-entropy over all non-ignored shifted targets. logits (B, T, V), labels (B, T).
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);
// Sum of log-probabilities of each row's targets, (B) float32.
at::Tensor row_log_likelihood(const at::Tensor& logits, const at::Tensor& labels);
// Number of non-ignored shifted targets.
int64_t count_targets(const at::Tensor& labels);

}  // namespace sp::train
