// Logits of a model with an optional soft-prompt method. Runs without autograd and changes nothing.
#pragma once

#include <ATen/ATen.h>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

enum class LogitsSelection {
  // Encoder-decoder models give the decoder's: (B, V) at each row's last decoder position, (B, T, V).
  LastToken,  // (B, V): each row's last position whose attention mask is 1
  AllTokens,  // (B, S, V): the caller's positions only; virtual positions are dropped
};

// float32 CPU logits.
at::Tensor compute_logits(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                          LogitsSelection selection);
// The same for a mixed-adapter batch (decoder-only models): each row with its own compiled prompt.
at::Tensor compute_logits(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch,
                          LogitsSelection selection);

}  // namespace sp::prompting
