#include "objectives/classification.h"

#include "util/errors.h"

namespace sp::objectives {

TargetLosses class_losses(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& rows) {
  const at::Tensor labelled = labels.ne(kIgnoredLabel).nonzero().reshape({-1});
  if (labelled.size(0) == 0) fail(ErrorKind::InvalidArgument, "the batch has no labelled item (every label is -100)");
  TargetLosses losses;
  losses.token_losses = at::cross_entropy_loss(logits.index_select(0, labelled).to(at::kFloat),
                                               labels.index_select(0, labelled), {}, at::Reduction::None);
  losses.rows = rows.index_select(0, labelled);
  return losses;
}

}  // namespace sp::objectives
