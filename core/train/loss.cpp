#include "train/loss.h"

namespace sp::train {

namespace {
at::Tensor shifted_labels(const at::Tensor& labels) {
  return at::constant_pad_nd(labels, {0, 1}, kIgnoredLabel).slice(1, 1);
}
}  // namespace

at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t vocab = logits.size(-1);
  return at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, vocab}), shifted_labels(labels).reshape({-1}), {},
                                at::Reduction::Mean, kIgnoredLabel);
}

at::Tensor row_log_likelihood(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t B = logits.size(0), T = logits.size(1), vocab = logits.size(-1);
  at::Tensor per_token = at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, vocab}),
                                                shifted_labels(labels).reshape({-1}), {}, at::Reduction::None,
                                                kIgnoredLabel);
  return -per_token.view({B, T}).sum(1);
}

int64_t count_targets(const at::Tensor& labels) {
  return shifted_labels(labels).ne(kIgnoredLabel).sum().item<int64_t>();
}

}  // namespace sp::train
