#include "objectives/causal_lm.h"

#include <utility>

#include "objectives/output_cross_entropy.h"
#include "util/errors.h"

namespace sp::objectives {

namespace {

// [first, end) when every row has targets exactly in those columns (no padding, the same ignored
// columns in every row); {0, 0} otherwise.
std::pair<int64_t, int64_t> shared_target_columns(const at::Tensor& is_target) {
  const at::Tensor columns = is_target.all(0).to(at::kCPU), some = is_target.any(0).to(at::kCPU);
  if (!at::equal(columns, some)) return {0, 0};
  const at::Tensor present = columns.nonzero().reshape({-1});
  if (present.size(0) == 0) return {0, 0};
  const int64_t first = present[0].item<int64_t>(), last = present[-1].item<int64_t>();
  if (last - first + 1 != present.size(0)) return {0, 0};
  return {first, last + 1};
}

}  // namespace

TargetLosses target_losses(const model::Transformer& model, const at::Tensor& hidden, const at::Tensor& labels) {
  const int64_t B = hidden.size(0), T = hidden.size(1);
  at::Tensor shifted = at::constant_pad_nd(labels, {0, 1}, kIgnoredLabel).slice(1, 1);
  const auto [first, end] = shared_target_columns(shifted.ne(kIgnoredLabel));
  if (end <= first) {  // rows differ: every position, gathered where it has a target
    const at::Tensor rows = at::arange(B, labels.options()).repeat_interleave(T);
    return packed_target_losses(model, hidden.reshape({-1, hidden.size(2)}), shifted.reshape({-1}), rows);
  }
  // The same columns in every row: a slice, whose gradient is a copy (a gather's is a scatter).
  TargetLosses losses;
  const at::Tensor selected = hidden.narrow(1, first, end - first).reshape({-1, hidden.size(2)});
  const at::Tensor targets = shifted.narrow(1, first, end - first).reshape({-1});
  losses.rows = at::arange(B, labels.options()).repeat_interleave(end - first);
  losses.token_losses = output_cross_entropy(model.output_layer_input(selected), model.lm_head_weight(), targets);
  return losses;
}

TargetLosses packed_target_losses(const model::Transformer& model, const at::Tensor& hidden, const at::Tensor& targets,
                                  const at::Tensor& rows) {
  at::Tensor positions = targets.ne(kIgnoredLabel).nonzero().reshape({-1});
  if (positions.size(0) == 0)
    fail(ErrorKind::InvalidArgument, "the batch has no target tokens (every label a position predicts is -100)");
  TargetLosses losses;
  losses.token_losses = output_cross_entropy(model.output_layer_input(hidden.index_select(0, positions)),
                                             model.lm_head_weight(), targets.index_select(0, positions));
  losses.rows = rows.index_select(0, positions);
  return losses;
}

}  // namespace sp::objectives
