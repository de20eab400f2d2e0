// The single place that turns a batch plus a method's contribution into model inputs: prepended
// embeddings, extended masks and labels, key/value prefixes, positions.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"

namespace sp::prompting {

class CompiledPrompt;

// Each row's soft prompt in a mixed-adapter batch (prompting/row_prompts.cpp).
struct RowPrompts {
  std::vector<const CompiledPrompt*> of_row;  // one per row, compiled(); null: no soft prompt
  at::Tensor task_ids;                        // (B) int64 on the model's device; read for rows whose prompt has tasks
};

// Where the caller's tokens sit.
enum class PositionRule {
  // PEFT's forward: the token at column j is at position n + j (n: virtual tokens or prefix
  // length), whatever the padding. Training, logits and evaluation use it, as PEFT does.
  Column,
  // Generation and scoring: each row's real tokens are numbered from n without counting its
  // padding, so a left-padded row is placed exactly as it would be alone (prompt methods' virtual
  // tokens stay at 0 .. n-1).
  PerRow,
};

// Per-row positions of the caller's tokens, (B, S) int64: offset + (real tokens before this one)
// under `mask` (undefined: none padded). Padding gets position offset (any valid position would do:
// nothing attends to it).
at::Tensor per_row_positions(const at::Tensor& mask, int64_t B, int64_t S, int64_t offset, at::Device device);

// What `method` (null: the base model, nothing) contributes to a forward pass over `batch`'s rows
// (with its task ids); `training` turns on dropout inside prompt encoders.
methods::PromptContribution contribution_for(const model::Transformer& model, const methods::SoftPromptMethod* method,
                                             const Batch& batch, bool training);

// Model inputs for one forward pass. Owns everything ForwardInputs points to.
class ModelInputs {
 public:
  // `method` may be null (the base model alone). `training` turns on dropout inside prompt encoders.
  // `pack` (for losses): a padded batch's rows are packed one after another without their padding
  // (model::ForwardInputs::row_lengths) where that gives the same losses; see packed().
  ModelInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
              bool training = false, bool pack = false);
  // A contribution computed beforehand (for the batch's rows) by a method with `num_virtual_tokens`.
  ModelInputs(const model::Transformer& model, methods::PromptContribution contribution, int64_t num_virtual_tokens,
              const Batch& batch, PositionRule positions);
  // A mixed-adapter batch on a decoder-only model: row r's compiled prompt enters as its own key/value
  // prefix (n_r entries, right-aligned in a prefix as long as the longest, the slots before them
  // masked), its tokens at n_r + column (Column) or n_r + real tokens before (PerRow), and, for prompt
  // methods, its last virtual output in front of its outputs (num_prepended() 1; rows without one
  // get zeros there and their first token is no target), so that every row computes what it
  // computes alone. Never packed.
  ModelInputs(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch, PositionRule positions);
  ModelInputs(const ModelInputs&) = delete;
  ModelInputs& operator=(const ModelInputs&) = delete;

  model::ForwardInputs forward_inputs() const;
  // The final hidden states the outputs (loss, logits) are read from, given forward()'s for these
  // inputs: prompt methods' last virtual position (which predicts the caller's first token, as in
  // PEFT) in front of the caller's positions. Packed: (M, hidden), one row per packed target below.
  at::Tensor output_hidden(const at::Tensor& hidden) const;
  // Whether the rows were packed. Then output_hidden() is (M, hidden), packed_targets() (M) holds
  // the label each of those positions predicts (-100: none) and packed_rows() (M) its batch row,
  // and labels() is the unpacked labels, for reference only.
  bool packed() const { return !row_lengths_.empty(); }
  const at::Tensor& packed_targets() const { return packed_targets_; }
  const at::Tensor& packed_rows() const { return packed_rows_; }
  // Labels aligned with output_hidden() (prepended positions are -100), on the model's device;
  // undefined when the batch had none.
  const at::Tensor& labels() const { return labels_; }
  // Positions of output_hidden() that precede the caller's tokens: prompt methods' last virtual
  // position (all n of them where the virtual tokens stay in front of the tokens: dynamic RoPE, and
  // per-row positions with no prompt shared by two rows); 0 for the base model and prefix tuning.
  int64_t num_prepended() const { return num_prepended_; }
  // Caller's attention mask on the model's device, (B, S); undefined when there was none.
  const at::Tensor& caller_mask() const { return caller_mask_; }
  // The mask over every key position (prefix or virtual tokens, then the caller's), (B, n + S);
  // undefined when nothing is masked.
  const at::Tensor& attention_mask() const { return attention_mask_; }
  // The key/value prefix (prefix tuning, and prompt methods' virtual tokens), one entry per layer;
  // empty for the base model.
  const std::vector<model::KeyValuePrefix>& kv_prefix() const { return kv_prefix_; }

 private:
  void assemble(const model::Transformer& model, methods::PromptContribution contribution, int64_t num_virtual_tokens,
                const Batch& batch, PositionRule positions);
  void pack_rows(const model::ModelConfig& config, int64_t num_virtual_tokens);
  void assemble_rows(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch,
                     PositionRule positions);

  at::Tensor embeddings_, attention_mask_, labels_, caller_mask_, position_ids_, token_type_ids_;
  at::Tensor last_virtual_hidden_;    // (B, hidden) when prompt methods' virtual tokens ran apart
  at::Tensor absent_prefix_;          // (B, n) mixed-adapter batches: prefix slots a row does not have
  std::vector<int64_t> row_lengths_;  // packed: real tokens per row
  at::Tensor packed_targets_, packed_rows_;
  std::vector<model::KeyValuePrefix> kv_prefix_;
  int64_t num_prepended_ = 0;
};

}  // namespace sp::prompting
