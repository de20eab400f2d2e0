#include "prompting/evaluate.h"

#include "prompting/losses.h"

namespace sp::prompting {

Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch) {
  c10::InferenceMode guard;
  objectives::TargetLosses losses = batch_losses(model, method, batch, /*training=*/false);
  Evaluation evaluation;
  evaluation.mean_loss = objectives::mean_loss(losses).item<double>();
  evaluation.row_log_likelihood = objectives::row_log_likelihood(losses, batch.input_ids.size(0)).to(at::kCPU);
  return evaluation;
}

}  // namespace sp::prompting
