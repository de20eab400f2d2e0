// The single place that turns a batch plus a method's contribution into model inputs: prepended
// embeddings, extended masks and labels, key/value prefixes.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"

namespace sp::prompting {

// Model inputs for one forward pass. Owns everything ForwardInputs points to.
class ModelInputs {
 public:
  // `method` may be null (the base model alone). `training` turns on dropout inside prompt encoders.
  ModelInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
              bool training = false);
  ModelInputs(const ModelInputs&) = delete;
  ModelInputs& operator=(const ModelInputs&) = delete;

  model::ForwardInputs forward_inputs() const;
  // Labels aligned with the model's output positions (prepended virtual positions are -100), on the
  // model's device; undefined when the batch had none.
  const at::Tensor& labels() const { return labels_; }
  // Output positions that precede the caller's tokens (virtual tokens of prompt methods).
  int64_t num_prepended() const { return num_prepended_; }
  // Caller's attention mask on the model's device, (B, S); undefined when there was none.
  const at::Tensor& caller_mask() const { return caller_mask_; }

 private:
  at::Tensor embeddings_, attention_mask_, labels_, caller_mask_;
  std::vector<model::KeyValuePrefix> kv_prefix_;
  int64_t num_prepended_ = 0;
};

}  // namespace sp::prompting
