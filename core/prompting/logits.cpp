#include "prompting/logits.h"

#include "prompting/model_inputs.h"
#include "prompting/seq2seq_inputs.h"

namespace sp::prompting {

namespace {

// The logits `selection` asks for, from a forward pass over `inputs` (built from `batch`).
at::Tensor selected_logits(const model::Transformer& model, const ModelInputs& inputs, const Batch& batch,
                           LogitsSelection selection) {
  at::Tensor hidden = inputs.output_hidden(model.forward(inputs.forward_inputs()));
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

}  // namespace

at::Tensor compute_logits(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                          LogitsSelection selection) {
  c10::InferenceMode guard;
  if (model.config().topology == model::Topology::EncoderDecoder) {
    // The decoder's positions; the last is each row's last decoder input (decoder rows carry no
    // padding mask: padding after the targets cannot change what comes before it).
    const at::Tensor hidden = Seq2SeqInputs(model, method, batch).decoder_hidden(model);
    const at::Tensor selected = selection == LogitsSelection::AllTokens ? hidden : hidden.select(1, -1);
    return model.lm_head(selected).to(at::kCPU, at::kFloat);
  }
  return selected_logits(model, ModelInputs(model, method, batch), batch, selection);
}

at::Tensor compute_logits(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch,
                          LogitsSelection selection) {
  c10::InferenceMode guard;
  return selected_logits(model, ModelInputs(model, prompts, batch, PositionRule::Column), batch, selection);
}

}  // namespace sp::prompting
