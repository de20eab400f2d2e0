#include "prompting/model_inputs.h"

namespace sp::prompting {

ModelInputs::ModelInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                         bool training) {
  const at::Device device = model.device();
  const int64_t B = batch.input_ids.size(0);
  at::Tensor ids = batch.input_ids.to(device);
  embeddings_ = model.embed_tokens(ids);
  if (batch.attention_mask.defined()) caller_mask_ = batch.attention_mask.to(device);
  if (batch.labels.defined()) labels_ = batch.labels.to(device);
  attention_mask_ = caller_mask_;

  if (!method) return;
  methods::PromptRequest request;
  request.batch_size = B;
  request.training = training;
  if (batch.task_ids.defined()) request.task_ids = batch.task_ids.to(device);
  methods::PromptContribution contribution = method->contribute(request);
  const int64_t n = method->num_virtual_tokens();
  if (contribution.prepend_embeddings.defined()) {
    // Prompt methods: virtual vectors become ordinary leading positions; masks gain n ones, labels
    // n ignored entries. So the last virtual position predicts the first real token (PEFT's rule).
    num_prepended_ = contribution.prepend_embeddings.size(1);
    embeddings_ = at::cat({contribution.prepend_embeddings.to(embeddings_.scalar_type()), embeddings_}, 1);
    if (labels_.defined()) labels_ = at::cat({at::full({B, num_prepended_}, -100, labels_.options()), labels_}, 1);
    if (attention_mask_.defined())
      attention_mask_ = at::cat({at::ones({B, num_prepended_}, attention_mask_.options()), attention_mask_}, 1);
  }
  if (!contribution.kv_prefix.empty()) {
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
  inputs.kv_prefix = kv_prefix_.empty() ? nullptr : &kv_prefix_;
  return inputs;
}

}  // namespace sp::prompting
