// The classification objectives (SEQ_CLS, TOKEN_CLS) as transformers' task classes compute them:
// cross-entropy of the head's logits read in float32, -100 labels ignored, mean over labelled items.
#pragma once

#include <ATen/ATen.h>

#include "objectives/target_losses.h"

namespace sp::objectives {

// Per-item cross-entropy of logits (N, C) against labels (N) int64 in [0, C) or -100 (ignored), each
// item in batch row rows (N). Throws InvalidArgument when every label is -100.
TargetLosses class_losses(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& rows);

}  // namespace sp::objectives
