#include "prompting/losses.h"

#include "objectives/classification.h"
#include "objectives/seq2seq_lm.h"
#include "prompting/seq2seq_inputs.h"
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
  if (model.config().topology == model::Topology::EncoderDecoder) {  // the base model, or SEQ_2_SEQ_LM
    if (!batch.labels.defined())
      fail(ErrorKind::InvalidArgument, "a sequence-to-sequence loss needs the decoder's targets (the batch's labels)");
    Seq2SeqInputs inputs(model, method, batch, training);
    return objectives::seq2seq_losses(model, inputs.decoder_hidden(model), inputs.labels());
  }
  if (task.type == SP_TASK_CAUSAL_LM) {
    ModelInputs inputs(model, method, with_default_labels(batch), training, /*pack=*/true);
    return input_losses(model, inputs, model.forward(inputs.forward_inputs()));
  }
  if (task.type == SP_TASK_FEATURE_EXTRACTION)
    fail(ErrorKind::Unsupported,
         "a FEATURE_EXTRACTION adapter has no loss (PEFT defines none): it gives hidden states only");
  // The labels first: a batch without them costs no forward pass.
  const bool per_row = task.type == SP_TASK_SEQ_CLS;
  const at::Tensor& labels = per_row ? batch.row_labels : batch.labels;
  if (!labels.defined())
    fail(ErrorKind::InvalidArgument, per_row
                                         ? "a SEQ_CLS adapter's loss needs each row's class (the batch's row_labels)"
                                         : "a TOKEN_CLS adapter's loss needs each token's class (the batch's labels)");
  ModelInputs inputs(model, method, batch, training);
  const at::Tensor forward_hidden = model.forward(inputs.forward_inputs());
  const at::Tensor logits = class_logits(model, task, *method->head(), inputs, forward_hidden);
  // One item per row (SEQ_CLS) or per caller position (TOKEN_CLS), each with its row.
  const at::Tensor targets = labels.to(forward_hidden.device()).reshape({-1});
  const int64_t B = labels.size(0);
  return objectives::class_losses(logits.reshape({targets.size(0), -1}), targets,
                                  at::arange(B, targets.options()).repeat_interleave(targets.size(0) / B));
}

}  // namespace sp::prompting
