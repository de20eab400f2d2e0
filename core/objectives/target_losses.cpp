#include "objectives/target_losses.h"

namespace sp::objectives {

at::Tensor mean_loss(const TargetLosses& losses) { return losses.token_losses.mean(); }

at::Tensor row_log_likelihood(const TargetLosses& losses, int64_t batch_size) {
  at::Tensor sums = at::zeros({batch_size}, losses.token_losses.options());
  return -sums.index_add(0, losses.rows, losses.token_losses);
}

}  // namespace sp::objectives
