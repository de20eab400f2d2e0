#include "objectives/seq2seq_lm.h"

#include "objectives/causal_lm.h"

namespace sp::objectives {

at::Tensor shift_right(const at::Tensor& labels, int64_t decoder_start_token_id, int64_t pad_token_id) {
  at::Tensor shifted = at::constant_pad_nd(labels, {1, 0}, decoder_start_token_id).narrow(1, 0, labels.size(1));
  return shifted.masked_fill(shifted.eq(kIgnoredLabel), pad_token_id);
}

TargetLosses seq2seq_losses(const model::Transformer& model, const at::Tensor& decoder_hidden,
                            const at::Tensor& labels) {
  const int64_t B = labels.size(0), T = labels.size(1);
  const at::Tensor rows = at::arange(B, labels.options()).repeat_interleave(T);
  return packed_target_losses(model, decoder_hidden.reshape({B * T, decoder_hidden.size(2)}), labels.reshape({-1}),
                              rows);
}

}  // namespace sp::objectives
