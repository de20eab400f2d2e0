// What each task reads from a forward pass over ModelInputs: the caller's hidden states
// (FEATURE_EXTRACTION), the classification head's logits (SEQ_CLS at each row's pooled position,
// TOKEN_CLS at the caller's positions).
#pragma once

#include <ATen/ATen.h>

#include "model/transformer.h"
#include "objectives/classification_head.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

// The final hidden states at the caller's positions, (B, S, hidden).
at::Tensor caller_hidden(const ModelInputs& inputs, const at::Tensor& forward_hidden);

// The head's logits in the model dtype: SEQ_CLS (B, C) from position 0 of the whole sequence
// (encoders: the first virtual token for prompt methods, as in PEFT) or from each row's last real
// token (decoders); TOKEN_CLS (B, S, C) at the caller's positions. `task` says which.
at::Tensor class_logits(const model::Transformer& model, const objectives::TaskConfig& task,
                        const objectives::ClassificationHead& head, const ModelInputs& inputs,
                        const at::Tensor& forward_hidden);

}  // namespace sp::prompting
