// Causal language-modelling loss as transformers computes it: position i predicts label i + 1,
// -100 labels are ignored, logits in float32. The output layer runs only at positions that have a
// target (padding and virtual-token positions cost nothing), which gives transformers' numbers,
// a block of rows at a time (objectives/output_cross_entropy.h).
#pragma once

#include <ATen/ATen.h>

#include "model/transformer.h"
#include "objectives/target_losses.h"

namespace sp::objectives {

// Per-target losses from final hidden states (B, T, hidden) and labels (B, T). Throws
// InvalidArgument when no position has a target (the mean would be 0/0).
TargetLosses target_losses(const model::Transformer& model, const at::Tensor& hidden, const at::Tensor& labels);
// Per-target losses from hidden states (M, hidden) and the label each one predicts, targets (M)
// (-100: none), with each one's batch row, rows (M): packed rows (prompting::ModelInputs::packed).
// Throws InvalidArgument when no position has a target.
TargetLosses packed_target_losses(const model::Transformer& model, const at::Tensor& hidden, const at::Tensor& targets,
                                  const at::Tensor& rows);

}  // namespace sp::objectives
