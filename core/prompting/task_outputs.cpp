#include "prompting/task_outputs.h"

namespace sp::prompting {

at::Tensor caller_hidden(const ModelInputs& inputs, const at::Tensor& forward_hidden) {
  const at::Tensor hidden = inputs.output_hidden(forward_hidden);
  const int64_t prepended = inputs.num_prepended();
  return hidden.narrow(1, prepended, hidden.size(1) - prepended);
}

at::Tensor class_logits(const model::Transformer& model, const objectives::TaskConfig& task,
                        const objectives::ClassificationHead& head, const ModelInputs& inputs,
                        const at::Tensor& forward_hidden) {
  if (task.type == SP_TASK_TOKEN_CLS) return head.token_logits(caller_hidden(inputs, forward_hidden));
  const at::Tensor hidden = inputs.output_hidden(forward_hidden);
  if (head.pooling() != model::SequencePooling::LastToken) return head.sequence_logits(model, hidden.select(1, 0));
  // The rightmost real token of each row (transformers takes the rightmost id that is not the pad
  // id; the mask says the same for data padded with it, and needs no pad id).
  const int64_t B = hidden.size(0), S = hidden.size(1) - inputs.num_prepended();
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(hidden.device());
  at::Tensor last = at::full({B}, S - 1, long_options);
  if (inputs.caller_mask().defined())
    last = (inputs.caller_mask().ne(0).to(at::kLong) * at::arange(S, long_options)).argmax(1);
  const at::Tensor pooled = hidden.index({at::arange(B, long_options), last + inputs.num_prepended()});
  return head.sequence_logits(model, pooled);
}

}  // namespace sp::prompting
