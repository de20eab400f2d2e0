#include "prompting/model_inputs.h"

namespace sp::prompting {

namespace {

// Per-row positions of the caller's tokens: offset + (real tokens before this one). Padding gets
// position offset (any valid position would do: nothing attends to it).
at::Tensor per_row_positions(const at::Tensor& mask, int64_t B, int64_t S, int64_t offset, at::Device device) {
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  if (!mask.defined()) return at::arange(offset, offset + S, long_options).unsqueeze(0).expand({B, S});
  at::Tensor real = mask.ne(0).to(at::kLong);
  return (real.cumsum(1) - 1).clamp_min(0) + offset;
}

}  // namespace

ModelInputs::ModelInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                         bool training) {
  methods::PromptContribution contribution;
  int64_t n = 0;
  if (method) {
    methods::PromptRequest request;
    request.batch_size = batch.input_ids.size(0);
    request.training = training;
    if (batch.task_ids.defined()) request.task_ids = batch.task_ids.to(model.device());
    contribution = method->contribute(request);
    n = method->num_virtual_tokens();
  }
  assemble(model, std::move(contribution), n, batch, PositionRule::Column);
}

ModelInputs::ModelInputs(const model::Transformer& model, methods::PromptContribution contribution,
                         int64_t num_virtual_tokens, const Batch& batch, PositionRule positions) {
  assemble(model, std::move(contribution), num_virtual_tokens, batch, positions);
}

void ModelInputs::assemble(const model::Transformer& model, methods::PromptContribution contribution, int64_t n,
                           const Batch& batch, PositionRule positions) {
  const at::Device device = model.device();
  const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1);
  at::Tensor ids = batch.input_ids.to(device);
  embeddings_ = model.embed_tokens(ids);
  if (batch.attention_mask.defined()) caller_mask_ = batch.attention_mask.to(device);
  if (batch.labels.defined()) labels_ = batch.labels.to(device);
  attention_mask_ = caller_mask_;
  const bool has_prompt = contribution.prepend_embeddings.defined();
  const bool has_prefix = !contribution.kv_prefix.empty();
  if (positions == PositionRule::PerRow) {
    position_ids_ = per_row_positions(caller_mask_, B, S, has_prompt || has_prefix ? n : 0, device);
    if (has_prompt)  // the virtual tokens sit at 0 .. n-1 in every row
      position_ids_ = at::cat({at::arange(n, position_ids_.options()).unsqueeze(0).expand({B, n}), position_ids_}, 1);
  }

  if (has_prompt) {
    // Prompt methods: virtual vectors become ordinary leading positions; masks gain n ones, labels
    // n ignored entries. So the last virtual position predicts the first real token (PEFT's rule).
    num_prepended_ = contribution.prepend_embeddings.size(1);
    embeddings_ = at::cat({contribution.prepend_embeddings.to(embeddings_.scalar_type()), embeddings_}, 1);
    if (labels_.defined()) labels_ = at::cat({at::full({B, num_prepended_}, -100, labels_.options()), labels_}, 1);
    if (attention_mask_.defined())
      attention_mask_ = at::cat({at::ones({B, num_prepended_}, attention_mask_.options()), attention_mask_}, 1);
  }
  if (has_prefix) {
    // Prefix methods: every layer sees n extra keys; the mask grows by n ones in front.
    kv_prefix_ = std::move(contribution.kv_prefix);
    if (attention_mask_.defined())
      attention_mask_ = at::cat({at::ones({B, n}, attention_mask_.options()), attention_mask_}, 1);
  }
}

model::ForwardInputs ModelInputs::forward_inputs() const {
  model::ForwardInputs inputs;
  inputs.embeddings = embeddings_;
  inputs.attention_mask = attention_mask_;
  inputs.position_ids = position_ids_;
  inputs.kv_prefix = kv_prefix_.empty() ? nullptr : &kv_prefix_;
  return inputs;
}

}  // namespace sp::prompting
