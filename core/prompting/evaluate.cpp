#include "prompting/evaluate.h"

#include "prompting/losses.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch) {
  c10::InferenceMode guard;
  ModelInputs inputs(model, method, with_default_labels(batch), /*training=*/false, /*pack=*/true);
  objectives::TargetLosses losses = input_losses(model, inputs, model.forward(inputs.forward_inputs()));
  Evaluation evaluation;
  evaluation.mean_loss = objectives::mean_loss(losses).item<double>();
  evaluation.row_log_likelihood = objectives::row_log_likelihood(losses, batch.input_ids.size(0)).to(at::kCPU);
  return evaluation;
}

}  // namespace sp::prompting
