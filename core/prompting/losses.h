// The loss of a forward pass over ModelInputs: the objective (objectives/) read at the positions the
// inputs say, padded or packed. Prompting's side of the objectives, which know nothing of prompts.
#pragma once

#include <ATen/ATen.h>

#include "methods/method.h"
#include "model/transformer.h"
#include "objectives/causal_lm.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

// Causal-LM losses of a forward pass over `inputs`, from its final hidden states.
objectives::TargetLosses input_losses(const model::Transformer& model, const ModelInputs& inputs,
                                      const at::Tensor& forward_hidden);

// The losses of one forward pass over `batch` with `method` (null: the base model), for the
// method's task: causal LM (labels defaulting to the input ids, padded rows packed), SEQ_CLS (the
// cross-entropy of batch.row_labels), TOKEN_CLS (of batch.labels at the caller's positions).
// InvalidArgument when the labels the task needs are missing; Unsupported for FEATURE_EXTRACTION,
// which has no loss. `training`: dropout in prompt encoders. Differentiable when gradients are on.
objectives::TargetLosses batch_losses(const model::Transformer& model, const methods::SoftPromptMethod* method,
                                      const Batch& batch, bool training);

}  // namespace sp::prompting
