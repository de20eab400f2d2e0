// A method's contribution computed once and kept (a context's view of its adapter): generation then
// runs without the adapter's lock, and training the adapter later does not change it.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "methods/method.h"
#include "model/transformer.h"

namespace sp::prompting {

class PromptSnapshot {
 public:
  PromptSnapshot() = default;  // the base model: contributes nothing
  // Runs the method (inference mode: no dropout) and copies what it gives; the method's tensors are
  // not referenced afterwards. Multitask prompt tuning is run for each of its tasks.
  static PromptSnapshot take(const methods::SoftPromptMethod& method);

  int64_t num_virtual_tokens() const { return num_virtual_tokens_; }
  int64_t num_tasks() const { return num_tasks_; }  // 0: the method takes no task ids

  // The contribution for `rows` rows; `task_ids` (rows) int64 on the model's device, needed exactly
  // when num_tasks() > 0.
  methods::PromptContribution for_rows(int64_t rows, const at::Tensor& task_ids) const;
  // What was copied: prompt methods' (tasks or 1, n, hidden) float32 table (undefined for prefix
  // tuning), prefix tuning's per-layer (1, kv_heads, n, head_dim) prefix (empty otherwise).
  const at::Tensor& prepended() const { return prepend_; }
  const std::vector<model::KeyValuePrefix>& prefix() const { return prefix_; }

 private:
  at::Tensor prepend_;                         // (tasks or 1, n, hidden) float32
  std::vector<model::KeyValuePrefix> prefix_;  // per layer (1, kv_heads, n, head_dim), model dtype
  int64_t num_virtual_tokens_ = 0, num_tasks_ = 0;
};

}  // namespace sp::prompting
