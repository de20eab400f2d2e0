#include "prompting/evaluate.h"

#include "prompting/model_inputs.h"
#include "train/loss.h"

namespace sp::prompting {

Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch) {
  c10::InferenceMode guard;
  ModelInputs inputs(model, method, with_default_labels(batch));
  at::Tensor hidden = inputs.output_hidden(model.forward(inputs.forward_inputs()));
  train::TargetLosses losses = train::target_losses(model, hidden, inputs.labels());
  Evaluation evaluation;
  evaluation.mean_loss = train::mean_loss(losses).item<double>();
  evaluation.row_log_likelihood = train::row_log_likelihood(losses, hidden.size(0)).to(at::kCPU);
  return evaluation;
}

}  // namespace sp::prompting
