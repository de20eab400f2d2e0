// Sequence-to-sequence language modelling as transformers' T5ForConditionalGeneration computes it:
// the decoder reads the targets shifted right behind decoder_start_token_id, and position i predicts
// target i (no shift at the output); -100 targets are ignored; the mean is over all targets.
#pragma once

#include <ATen/ATen.h>

#include "model/transformer.h"
#include "objectives/target_losses.h"

namespace sp::objectives {

// transformers' _shift_right: (B, T) targets -> decoder inputs [start, t0, ..., t(T-2)], with -100
// replaced by pad_token_id.
at::Tensor shift_right(const at::Tensor& labels, int64_t decoder_start_token_id, int64_t pad_token_id);

// Per-target losses from the decoder's final hidden states (B, T, hidden) and targets (B, T).
// Throws InvalidArgument when no target is given (every label -100).
TargetLosses seq2seq_losses(const model::Transformer& model, const at::Tensor& decoder_hidden,
                            const at::Tensor& labels);

}  // namespace sp::objectives
