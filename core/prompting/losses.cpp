#include "prompting/losses.h"

#include "objectives/classification.h"
#include "prompting/task_outputs.h"
#include "util/errors.h"

namespace sp::prompting {

objectives::TargetLosses input_losses(const model::Transformer& model, const ModelInputs& inputs,
                                      const at::Tensor& forward_hidden) {
  const at::Tensor hidden = inputs.output_hidden(forward_hidden);
  if (inputs.packed())
    return objectives::packed_target_losses(model, hidden, inputs.packed_targets(), inputs.packed_rows());
  return objectives::target_losses(model, hidden, inputs.labels());
}

objectives::TargetLosses batch_losses(const model::Transformer& model, const methods::SoftPromptMethod* method,
                                      const Batch& batch, bool training) {
  const objectives::TaskConfig task = method ? method->task() : objectives::TaskConfig{};
  if (task.type == SP_TASK_CAUSAL_LM) {
    ModelInputs inputs(model, method, with_default_labels(batch), training, /*pack=*/true);
    return input_losses(model, inputs, model.forward(inputs.forward_inputs()));
  }
  if (task.type == SP_TASK_FEATURE_EXTRACTION)
    fail(ErrorKind::Unsupported,
         "a FEATURE_EXTRACTION adapter has no loss (PEFT defines none): it gives hidden states only");
  ModelInputs inputs(model, method, batch, training);
  const at::Tensor forward_hidden = model.forward(inputs.forward_inputs());
  switch (task.type) {
    case SP_TASK_SEQ_CLS: {
      if (!batch.row_labels.defined())
        fail(ErrorKind::InvalidArgument, "a SEQ_CLS adapter's loss needs each row's class (the batch's row_labels)");
      const at::Tensor labels = batch.row_labels.to(forward_hidden.device());
      const at::Tensor logits = class_logits(model, task, *method->head(), inputs, forward_hidden);
      return objectives::class_losses(logits, labels, at::arange(labels.size(0), labels.options()));
    }
    case SP_TASK_TOKEN_CLS: {
      if (!batch.labels.defined())
        fail(ErrorKind::InvalidArgument, "a TOKEN_CLS adapter's loss needs each token's class (the batch's labels)");
      const at::Tensor labels = batch.labels.to(forward_hidden.device());
      const at::Tensor logits = class_logits(model, task, *method->head(), inputs, forward_hidden);
      const int64_t B = labels.size(0), S = labels.size(1);
      return objectives::class_losses(logits.reshape({B * S, -1}), labels.reshape({-1}),
                                      at::arange(B, labels.options()).repeat_interleave(S));
    }
    default:
      fail(ErrorKind::Internal, "no loss for this task");
  }
}

}  // namespace sp::prompting
