#include "prompting/evaluate.h"

#include "prompting/losses.h"

namespace sp::prompting {

namespace {
Evaluation evaluation_of(const objectives::TargetLosses& losses, const Batch& batch) {
  Evaluation evaluation;
  evaluation.mean_loss = objectives::mean_loss(losses).item<double>();
  evaluation.row_log_likelihood = objectives::row_log_likelihood(losses, batch.input_ids.size(0)).to(at::kCPU);
  return evaluation;
}
}  // namespace

Evaluation evaluate(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch) {
  c10::InferenceMode guard;
  return evaluation_of(batch_losses(model, method, batch, /*training=*/false), batch);
}

Evaluation evaluate(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch) {
  c10::InferenceMode guard;
  const ModelInputs inputs(model, prompts, with_default_labels(batch), PositionRule::Column);
  return evaluation_of(input_losses(model, inputs, model.forward(inputs.forward_inputs())), batch);
}

}  // namespace sp::prompting
