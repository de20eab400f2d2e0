// Forward passes of a model with an optional soft-prompt method: logits and evaluation.
// Both run without autograd and change nothing.
#pragma once

#include <ATen/ATen.h>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"

namespace sp::prompting {

enum class LogitsSelection {
  LastToken,  // (B, V): each row's last position whose attention mask is 1
  AllTokens,  // (B, S, V): the caller's positions only; virtual positions are dropped
};

// float32 CPU logits.
at::Tensor compute_logits(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                          LogitsSelection selection);

struct Evaluation {
  double mean_loss = 0;
  at::Tensor row_log_likelihood;  // (B) float32 CPU: sum of log p(target) per row
  int64_t num_targets = 0;
};

// Labels default to the input ids with padded positions ignored (see with_default_labels).
Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch);

// The batch with labels filled in when it has none: input ids, -100 where the attention mask is 0.
Batch with_default_labels(const Batch& batch);

}  // namespace sp::prompting
