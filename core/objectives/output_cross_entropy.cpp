#include "objectives/output_cross_entropy.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

namespace sp::objectives {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Fills `losses` (N) and, when `gradient` is defined, the gradient of each row's loss with respect
// to its hidden state, (N, d) in the hidden dtype: (softmax - one_hot(target)) x weight.
void blockwise(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets, int64_t logits_per_block,
               at::Tensor& losses, at::Tensor gradient) {
  const int64_t rows = hidden.size(0), vocab = weight.size(0);
  const int64_t block = std::max<int64_t>(1, logits_per_block / vocab);
  for (int64_t first = 0; first < rows; first += block) {
    const int64_t count = std::min(block, rows - first);
    const at::Tensor logits = at::linear(hidden.narrow(0, first, count), weight).to(at::kFloat);
    const at::Tensor target = targets.narrow(0, first, count);
    const at::Tensor log_probs = at::log_softmax(logits, 1);
    losses.narrow(0, first, count).copy_(-log_probs.gather(1, target.unsqueeze(1)).squeeze(1));
    if (gradient.defined()) {
      at::Tensor probs = log_probs.exp_();
      probs.scatter_add_(1, target.unsqueeze(1), at::full({count, 1}, -1.0f, probs.options()));
      gradient.narrow(0, first, count).copy_(at::mm(probs.to(weight.scalar_type()), weight));
    }
  }
}

struct OutputCrossEntropy : torch::autograd::Function<OutputCrossEntropy> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& targets, int64_t logits_per_block) {
    at::Tensor losses = at::empty({hidden.size(0)}, hidden.options().dtype(at::kFloat));
    at::Tensor gradient = at::empty_like(hidden);
    blockwise(hidden, weight, targets, logits_per_block, losses, gradient);
    ctx->save_for_backward({gradient});
    return losses;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor gradient = ctx->get_saved_variables()[0];
    return {gradient * grads[0].unsqueeze(1).to(gradient.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor output_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                int64_t logits_per_block) {
  if (at::GradMode::is_enabled() && hidden.requires_grad() && !weight.requires_grad())
    return OutputCrossEntropy::apply(hidden, weight, targets, logits_per_block);
  at::Tensor losses = at::empty({hidden.size(0)}, hidden.options().dtype(at::kFloat));
  blockwise(hidden, weight, targets, logits_per_block, losses, at::Tensor());
  return losses;
}

}  // namespace sp::objectives
