// Mixed-adapter batches: every row with its own compiled prompt (or none) in one forward pass.
#include <map>

#include "prompting/compiled_prompt.h"
#include "prompting/model_inputs.h"
#include "util/errors.h"

namespace sp::prompting {

ModelInputs::ModelInputs(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch,
                         PositionRule positions) {
  assemble_rows(model, prompts, batch, positions);
}

void ModelInputs::assemble_rows(const model::Transformer& model, const RowPrompts& prompts, const Batch& batch,
                                PositionRule positions) {
  const at::Device device = model.device();
  const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1);
  if (static_cast<int64_t>(prompts.of_row.size()) != B)
    fail(ErrorKind::InvalidArgument, "a mixed-adapter batch needs one prompt entry per row");
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  embeddings_ = model.embed_tokens(batch.input_ids.to(device));
  if (batch.attention_mask.defined()) caller_mask_ = batch.attention_mask.to(device);
  if (batch.labels.defined()) labels_ = batch.labels.to(device);

  // The rows of each distinct prompt (in first-seen order, so the work does not depend on addresses).
  std::vector<const CompiledPrompt*> distinct;
  std::vector<std::vector<int64_t>> rows_of;
  std::vector<int64_t> offsets(static_cast<std::size_t>(B), 0);
  int64_t N = 0;  // the longest prefix
  for (int64_t row = 0; row < B; ++row) {
    const CompiledPrompt* prompt = prompts.of_row[static_cast<std::size_t>(row)];
    if (!prompt || prompt->num_virtual_tokens() == 0) continue;
    if (!prompt->compiled()) fail(ErrorKind::Unsupported, "this model cannot reuse a soft prompt's keys across rows");
    std::size_t index = 0;
    while (index < distinct.size() && distinct[index] != prompt) ++index;
    if (index == distinct.size()) {
      distinct.push_back(prompt);
      rows_of.emplace_back();
    }
    rows_of[index].push_back(row);
    offsets[static_cast<std::size_t>(row)] = prompt->num_virtual_tokens();
    N = std::max(N, prompt->num_virtual_tokens());
  }
  const at::Tensor offset = at::tensor(offsets, at::kLong).to(device).unsqueeze(1);  // (B, 1): n_r
  position_ids_ = positions == PositionRule::Column ? at::arange(S, long_options).unsqueeze(0) + offset
                                                    : per_row_positions(caller_mask_, B, S, 0, device) + offset;
  attention_mask_ = caller_mask_;
  if (N == 0) return;

  // One prompt for every row, without tasks: its keys expanded, nothing masked.
  const bool shared = distinct.size() == 1 && static_cast<int64_t>(rows_of[0].size()) == B &&
                      distinct[0]->keys().front().key.size(0) == 1;
  const CompiledPrompt& first = *distinct.front();
  at::Tensor prefix_real = at::zeros({B, N}, at::TensorOptions().dtype(at::kBool).device(device));
  at::Tensor has_virtual = at::zeros({B}, at::TensorOptions().dtype(at::kBool).device(device));
  at::Tensor last_hidden;
  if (shared) {
    for (const auto& layer : first.keys())
      kv_prefix_.push_back({layer.key.expand({B, -1, -1, -1}), layer.value.expand({B, -1, -1, -1})});
    prefix_real.fill_(true);
    if (first.last_hidden().defined()) {
      last_hidden = first.last_hidden().expand({B, -1});
      has_virtual.fill_(true);
    }
  } else {
    // Zeros, not empty memory: a masked slot gets no weight, but 0 * NaN would still be NaN.
    for (const auto& layer : first.keys())
      kv_prefix_.push_back({at::zeros({B, layer.key.size(1), N, layer.key.size(3)}, layer.key.options()),
                            at::zeros({B, layer.value.size(1), N, layer.value.size(3)}, layer.value.options())});
    for (std::size_t p = 0; p < distinct.size(); ++p) {
      const CompiledPrompt& prompt = *distinct[p];
      const int64_t n = prompt.num_virtual_tokens();
      const at::Tensor rows = at::tensor(rows_of[p], at::kLong).to(device);
      // Which of the prompt's K rows each batch row takes: its task (MPT), else the only one.
      at::Tensor pick = at::zeros_like(rows);
      if (prompt.num_tasks() > 0) {
        if (!prompts.task_ids.defined())
          fail(ErrorKind::InvalidArgument, "multitask prompt tuning needs a task id per row");
        pick = prompts.task_ids.index_select(0, rows);
      }
      if (prompt.keys().size() != kv_prefix_.size())
        fail(ErrorKind::InvalidArgument, "the batch's adapters do not belong to the same model");
      for (std::size_t layer = 0; layer < kv_prefix_.size(); ++layer) {
        kv_prefix_[layer].key.narrow(2, N - n, n).index_copy_(0, rows, prompt.keys()[layer].key.index_select(0, pick));
        kv_prefix_[layer]
            .value.narrow(2, N - n, n)
            .index_copy_(0, rows, prompt.keys()[layer].value.index_select(0, pick));
      }
      prefix_real.narrow(1, N - n, n).index_fill_(0, rows, true);
      if (prompt.last_hidden().defined()) {
        if (!last_hidden.defined())
          last_hidden = at::zeros({B, prompt.last_hidden().size(1)}, prompt.last_hidden().options());
        last_hidden.index_copy_(0, rows, prompt.last_hidden().index_select(0, pick));
        has_virtual.index_fill_(0, rows, true);
      }
    }
  }
  // The mask over the prefix slots and the caller's tokens; none where nothing is hidden.
  if (!shared) absent_prefix_ = prefix_real.logical_not();
  if (caller_mask_.defined() || !shared) {
    const at::Tensor caller = caller_mask_.defined() ? caller_mask_.ne(0) : at::ones({B, S}, prefix_real.options());
    attention_mask_ =
        at::cat({prefix_real, caller}, 1).to(caller_mask_.defined() ? caller_mask_.scalar_type() : at::kLong);
  }
  if (last_hidden.defined()) {
    // The last virtual output predicts the first token, where the row has one; elsewhere that
    // token is no target (as alone: nothing before it predicts it).
    last_virtual_hidden_ = last_hidden;
    num_prepended_ = 1;
    if (labels_.defined()) {
      labels_ = at::constant_pad_nd(labels_, {1, 0}, -100);
      labels_.select(1, 1).masked_fill_(has_virtual.logical_not(), -100);
    }
  }
}

}  // namespace sp::prompting
