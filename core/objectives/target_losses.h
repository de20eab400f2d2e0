// Every objective's losses in one form: a loss per target (a token, or a row's class) and the batch
// row it belongs to, from which the mean (what training minimises) and each row's log-likelihood
// (what evaluation reports) follow the same way for every task.
#pragma once

#include <ATen/ATen.h>

namespace sp::objectives {

constexpr int64_t kIgnoredLabel = -100;

struct TargetLosses {
  at::Tensor token_losses;  // (N) float32: cross-entropy of each target
  at::Tensor rows;          // (N) int64: the batch row of each target
};

// Mean over all targets (transformers' reduction="mean").
at::Tensor mean_loss(const TargetLosses& losses);
// Sum of log-probabilities of each row's targets, (batch_size) float32.
at::Tensor row_log_likelihood(const TargetLosses& losses, int64_t batch_size);

}  // namespace sp::objectives
