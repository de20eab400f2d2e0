// An adapter version's soft prompt in the form every request reuses ("compiled prompts"): on a
// decoder-only model the virtual tokens of prompt tuning, P-tuning and multitask prompt tuning sit
// at positions 0 .. n-1 and attend only to each other, so their per-layer keys and values, and the
// last one's final hidden state (which predicts the caller's first token), depend on the adapter
// alone. They are computed once here and then enter every call as a key/value prefix, as prefix
// tuning's prefix does. Immutable once built: calls share it across threads without a lock.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "model/transformer.h"
#include "prompting/prompt_snapshot.h"

namespace sp::prompting {

class CompiledPrompt {
 public:
  // Runs the snapshot's virtual tokens once (inference mode). Where the keys cannot be reused -
  // encoders and encoder-decoder models (virtual tokens attend to the caller's tokens there) and
  // dynamic RoPE (frequencies from each call's length) - only the snapshot is kept (compiled() false).
  static std::shared_ptr<const CompiledPrompt> compile(const model::Transformer& model,
                                                       std::shared_ptr<const PromptSnapshot> snapshot);

  const PromptSnapshot& snapshot() const { return *snapshot_; }
  const std::shared_ptr<const PromptSnapshot>& shared_snapshot() const { return snapshot_; }
  int64_t num_virtual_tokens() const { return snapshot_->num_virtual_tokens(); }
  int64_t num_tasks() const { return snapshot_->num_tasks(); }
  // Whether keys() and last_hidden() hold the prompt (always, for a model that allows it; the base
  // model's empty snapshot too, with nothing in them).
  bool compiled() const { return compiled_; }
  // Per layer (K, kv_heads, n, head_dim) in the model dtype, K the tasks (MPT) or 1; rotated where
  // the model rotates. Empty for the base model.
  const std::vector<model::KeyValuePrefix>& keys() const { return keys_; }
  // (K, hidden): prompt methods' last virtual position's output; undefined for prefix tuning.
  const at::Tensor& last_hidden() const { return last_hidden_; }

 private:
  std::shared_ptr<const PromptSnapshot> snapshot_;
  std::vector<model::KeyValuePrefix> keys_;
  at::Tensor last_hidden_;
  bool compiled_ = false;
};

// What the virtual positions give a call, one row per distinct prompt: every layer's keys and
// values, and the last position's final hidden state. `prompts` (K, n, hidden) float32 run at
// positions 0 .. n-1, alone: they attend only to each other, so this equals their part of any call
// they are prepended to (not for dynamic RoPE, whose frequencies follow the whole call's length).
struct VirtualTokenOutputs {
  std::vector<model::KeyValuePrefix> keys;
  at::Tensor last_hidden;  // (K, hidden)
};
VirtualTokenOutputs run_virtual_tokens(const model::Transformer& model, const at::Tensor& prompts);

// Whether `model` lets a soft prompt's keys be computed once for every call (see compile()).
bool reusable_prompt_keys(const model::Transformer& model);

}  // namespace sp::prompting
