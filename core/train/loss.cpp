#include "train/loss.h"

#include "util/errors.h"

namespace sp::train {

TargetLosses target_losses(const model::Transformer& model, const at::Tensor& hidden, const at::Tensor& labels) {
  const int64_t T = hidden.size(1);
  at::Tensor shifted = at::constant_pad_nd(labels, {0, 1}, kIgnoredLabel).slice(1, 1).reshape({-1});
  at::Tensor positions = shifted.ne(kIgnoredLabel).nonzero().reshape({-1});
  if (positions.size(0) == 0)
    fail(ErrorKind::InvalidArgument, "the batch has no target tokens (every shifted label is -100)");
  at::Tensor selected = hidden.reshape({-1, hidden.size(2)}).index_select(0, positions);
  at::Tensor logits = model.lm_head(selected).to(at::kFloat);
  TargetLosses losses;
  losses.token_losses = at::cross_entropy_loss(logits, shifted.index_select(0, positions), {}, at::Reduction::None);
  losses.rows = at::floor_divide(positions, T);
  return losses;
}

at::Tensor mean_loss(const TargetLosses& losses) { return losses.token_losses.mean(); }

at::Tensor row_log_likelihood(const TargetLosses& losses, int64_t batch_size) {
  at::Tensor sums = at::zeros({batch_size}, losses.token_losses.options());
  return -sums.index_add(0, losses.rows, losses.token_losses);
}

}  // namespace sp::train
