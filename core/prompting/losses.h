// The loss of a forward pass over ModelInputs: the objective (objectives/) read at the positions the
// inputs say, padded or packed. Prompting's side of the objectives, which know nothing of prompts.
#pragma once

#include <ATen/ATen.h>

#include "model/transformer.h"
#include "objectives/causal_lm.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

// Causal-LM losses of a forward pass over `inputs`, from its final hidden states.
objectives::TargetLosses input_losses(const model::Transformer& model, const ModelInputs& inputs,
                                      const at::Tensor& forward_hidden);

}  // namespace sp::prompting
