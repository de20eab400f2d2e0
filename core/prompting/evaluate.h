// Evaluation (loss and per-row log-likelihood) of a model with an optional soft-prompt method.
// Runs without autograd and changes nothing.
#pragma once

#include <ATen/ATen.h>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

struct Evaluation {
  double mean_loss = 0;
  at::Tensor row_log_likelihood;  // (B) float32 CPU: sum of log p(target) per row
};

// Labels default to the input ids with padded positions ignored (see with_default_labels).
Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch);
// The causal-LM evaluation of a mixed-adapter batch (decoder-only models): each row with its own
// compiled prompt; the mean is over every row's targets.
Evaluation evaluate(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch);

}  // namespace sp::prompting
