// A batch as callers give it, and the single place that turns a batch plus a method's contribution
// into model inputs: prepend embeddings, extend masks and labels, build key/value prefixes.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "methods/method.h"
#include "model/transformer.h"

namespace sp::prompting {

// CPU int64 tensors of shape (B, S). `attention_mask` undefined = no padding; `labels` undefined =
// none given (no loss can be computed), -100 = ignored position.
struct Batch {
  at::Tensor input_ids;
  at::Tensor attention_mask;
  at::Tensor labels;
  at::Tensor task_ids;  // (B) int64: one task per row (multitask prompt tuning); undefined otherwise
};

// Model inputs for one forward pass. Owns everything ForwardInputs points to.
class PreparedInputs {
 public:
  // `training` turns on dropout inside prompt encoders.
  PreparedInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                 bool training = false);
  PreparedInputs(const PreparedInputs&) = delete;
  PreparedInputs& operator=(const PreparedInputs&) = delete;

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
