#include "prompting/forward.h"

#include "train/loss.h"

namespace sp::prompting {

Batch with_default_labels(const Batch& batch) {
  if (batch.labels.defined()) return batch;
  Batch copy = batch;
  copy.labels = batch.input_ids.clone();
  if (batch.attention_mask.defined()) copy.labels.masked_fill_(batch.attention_mask.eq(0), train::kIgnoredLabel);
  return copy;
}

at::Tensor compute_logits(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                          LogitsSelection selection) {
  c10::InferenceMode guard;
  PreparedInputs inputs(model, method, batch);
  at::Tensor hidden = model.forward(inputs.forward_inputs());
  const int64_t B = hidden.size(0), first = inputs.num_prepended();
  if (selection == LogitsSelection::AllTokens) return model.lm_head(hidden.slice(1, first)).to(at::kCPU, at::kFloat);

  // Last attended position per row: mask * index, maximum.
  at::Tensor last;
  const int64_t S = batch.input_ids.size(1);
  if (inputs.caller_mask().defined()) {
    at::Tensor index = at::arange(S, at::TensorOptions().dtype(at::kLong).device(model.device()));
    last = (inputs.caller_mask().ne(0).to(at::kLong) * index).amax(1);
  } else {
    last = at::full({B}, S - 1, at::TensorOptions().dtype(at::kLong).device(model.device()));
  }
  const int64_t T = hidden.size(1);
  at::Tensor flat_index = at::arange(B, last.options()) * T + last + first;
  at::Tensor selected = hidden.reshape({B * T, hidden.size(2)}).index_select(0, flat_index);
  return model.lm_head(selected).to(at::kCPU, at::kFloat);
}

Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch) {
  c10::InferenceMode guard;
  PreparedInputs inputs(model, method, with_default_labels(batch));
  at::Tensor hidden = model.forward(inputs.forward_inputs());
  train::TargetLosses losses = train::target_losses(model, hidden, inputs.labels());
  Evaluation evaluation;
  evaluation.num_targets = losses.token_losses.size(0);
  evaluation.mean_loss = train::mean_loss(losses).item<double>();
  evaluation.row_log_likelihood = train::row_log_likelihood(losses, hidden.size(0)).to(at::kCPU);
  return evaluation;
}

}  // namespace sp::prompting
