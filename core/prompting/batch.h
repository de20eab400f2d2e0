// A batch as the core receives it: CPU tensors of token ids, mask, labels and task ids.
#pragma once

#include <ATen/ATen.h>

namespace sp::prompting {

// CPU int64 tensors of shape (B, S). `attention_mask` undefined = no padding; `labels` undefined =
// none given (no loss can be computed), -100 = ignored position. Encoder-decoder models: input_ids
// and attention_mask are the encoder's; labels (B, T) are the decoder's targets.
struct Batch {
  at::Tensor input_ids;
  at::Tensor attention_mask;
  at::Tensor labels;
  at::Tensor task_ids;        // (B) int64: one task per row (multitask prompt tuning); undefined otherwise
  at::Tensor token_type_ids;  // (B, S) int64: segments (encoders with token types); undefined = all 0
  at::Tensor row_labels;      // (B) int64: each row's class (SEQ_CLS); undefined = none given
  // (B, T) int64: the decoder's inputs (encoder-decoder models); undefined = the labels shifted right
  at::Tensor decoder_input_ids;
};

// The batch with labels filled in when it has none: input ids, -100 where the attention mask is 0
// (the causal-LM default of transformers' data collators).
Batch with_default_labels(const Batch& batch);

}  // namespace sp::prompting
