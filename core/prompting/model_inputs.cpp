#include "prompting/model_inputs.h"

#include "prompting/compiled_prompt.h"

namespace sp::prompting {

namespace {

// The distinct prompts of a contribution and each row's index into them; undefined when unknown.
std::pair<at::Tensor, at::Tensor> distinct_prompts(const methods::PromptContribution& contribution, int64_t B,
                                                   at::Device device) {
  if (contribution.distinct_prompts.defined()) return {contribution.distinct_prompts, contribution.prompt_of_row};
  const at::Tensor& prepend = contribution.prepend_embeddings;
  if (prepend.size(0) == 1 || prepend.stride(0) == 0)  // one prompt, expanded to every row
    return {prepend.narrow(0, 0, 1), at::zeros({B}, at::TensorOptions().dtype(at::kLong).device(device))};
  return {};
}

// Rows of a per-prompt tensor for every batch row: a view when there is one prompt.
at::Tensor for_each_row(const at::Tensor& per_prompt, const at::Tensor& prompt_of_row, int64_t B) {
  if (per_prompt.size(0) == 1) {
    std::vector<int64_t> sizes = per_prompt.sizes().vec();
    sizes[0] = B;
    return per_prompt.expand(sizes);
  }
  return per_prompt.index_select(0, prompt_of_row);
}

}  // namespace

at::Tensor per_row_positions(const at::Tensor& mask, int64_t B, int64_t S, int64_t offset, at::Device device) {
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  if (!mask.defined()) return at::arange(offset, offset + S, long_options).unsqueeze(0).expand({B, S});
  at::Tensor real = mask.ne(0).to(at::kLong);
  return (real.cumsum(1) - 1).clamp_min(0) + offset;
}

methods::PromptContribution contribution_for(const model::Transformer& model, const methods::SoftPromptMethod* method,
                                             const Batch& batch, bool training) {
  if (!method) return {};
  methods::PromptRequest request;
  request.batch_size = batch.input_ids.size(0);
  request.training = training;
  if (batch.task_ids.defined()) request.task_ids = batch.task_ids.to(model.device());
  return method->contribute(request);
}

ModelInputs::ModelInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                         bool training, bool pack) {
  methods::PromptContribution contribution = contribution_for(model, method, batch, training);
  const int64_t n = method ? method->num_virtual_tokens() : 0;
  if (method && !method->task().classifies() && batch.token_type_ids.defined()) {
    Batch without_types = batch;  // PEFT drops token types for every other task
    without_types.token_type_ids = at::Tensor();
    assemble(model, std::move(contribution), n, without_types, PositionRule::Column);
  } else {
    assemble(model, std::move(contribution), n, batch, PositionRule::Column);
  }
  if (pack) pack_rows(model.config(), n);
}

ModelInputs::ModelInputs(const model::Transformer& model, methods::PromptContribution contribution,
                         int64_t num_virtual_tokens, const Batch& batch, PositionRule positions) {
  assemble(model, std::move(contribution), num_virtual_tokens, batch, positions);
}

void ModelInputs::assemble(const model::Transformer& model, methods::PromptContribution contribution, int64_t n,
                           const Batch& batch, PositionRule positions) {
  const at::Device device = model.device();
  const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1);
  const model::ModelConfig& config = model.config();
  const bool encoder = config.topology != model::Topology::DecoderOnly;  // bidirectional attention
  at::Tensor ids = batch.input_ids.to(device);
  embeddings_ = model.embed_tokens(ids);
  if (batch.token_type_ids.defined() && config.type_vocab_size > 0) token_type_ids_ = batch.token_type_ids.to(device);
  if (batch.attention_mask.defined()) caller_mask_ = batch.attention_mask.to(device);
  if (batch.labels.defined()) labels_ = batch.labels.to(device);
  attention_mask_ = caller_mask_;
  // Encoders (and encoder-decoder models' encoders): virtual tokens attend to the caller's tokens
  // too, so they stay in every row.
  if (contribution.prepend_embeddings.defined() && config.rope.type != "dynamic" && !encoder) {
    auto [prompts, prompt_of_row] = distinct_prompts(contribution, B, device);
    // Training and evaluation always take the prefix form (the padded rows can then be packed);
    // generation and scoring only when rows share a prompt: with none to share, the separate call
    // would be pure overhead before the first token.
    if (prompts.defined() && (positions == PositionRule::Column || prompts.size(0) < B)) {
      // The virtual tokens become a key/value prefix computed once per distinct prompt; their last
      // output comes back in front of the call's (output_hidden) with one ignored label.
      VirtualTokenOutputs outputs = run_virtual_tokens(model, prompts);
      for (const auto& layer : outputs.keys)
        contribution.kv_prefix.push_back(
            {for_each_row(layer.key, prompt_of_row, B), for_each_row(layer.value, prompt_of_row, B)});
      last_virtual_hidden_ = for_each_row(outputs.last_hidden, prompt_of_row, B);
      num_prepended_ = 1;
      if (labels_.defined()) labels_ = at::constant_pad_nd(labels_, {1, 0}, -100);
      contribution.prepend_embeddings = at::Tensor();
    }
  }
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
    // Token types: n zeros in front (PEFT's rule for the classification tasks).
    if (token_type_ids_.defined())
      token_type_ids_ = at::cat({at::zeros({B, num_prepended_}, token_type_ids_.options()), token_type_ids_}, 1);
  } else if (positions == PositionRule::Column && config.position_offset > 0 &&
             config.position_offset + n + S <= config.max_position_embeddings) {  // else forward() refuses
    // RoBERTa numbers token ids that are not the pad id from position_offset (after the prefix), and
    // puts pads at pad_token_id; embeddings (prompt methods) are numbered in order instead.
    const int64_t P = contribution.kv_prefix.empty() ? 0 : n;
    const at::Tensor real = ids.ne(config.pad_token_id).to(at::kLong);
    position_ids_ = (real.cumsum(1) + P) * real + config.pad_token_id;
  }
  if (has_prefix) {
    // Prefix methods: every layer sees n extra keys; the mask grows by n ones in front.
    kv_prefix_ = std::move(contribution.kv_prefix);
    if (attention_mask_.defined())
      attention_mask_ = at::cat({at::ones({B, n}, attention_mask_.options()), attention_mask_}, 1);
  }
}

void ModelInputs::pack_rows(const model::ModelConfig& config, int64_t n) {
  // Only where packing changes nothing: padding present, labels given, virtual tokens (if any) run
  // apart, and no padded position's output is a prediction anyone reads (its next label is -100;
  // left padding, whose last pad predicts the first token, stays padded). A batch wider than
  // learned positions reach stays padded too, so that the forward pass refuses it by name, and so
  // does dynamic RoPE, whose frequencies follow the padded width.
  if (!caller_mask_.defined() || !labels_.defined() || num_prepended_ > 1 || config.rope.type == "dynamic" ||
      token_type_ids_.defined() || position_ids_.defined())
    return;
  const int64_t B = caller_mask_.size(0), S = caller_mask_.size(1);
  if (config.position == model::PositionKind::Learned && n + S > config.max_position_embeddings) return;
  const at::Tensor real = caller_mask_.ne(0);
  if (real.all().item<bool>()) return;
  const at::Tensor caller_labels = labels_.narrow(1, num_prepended_, S);
  const at::Tensor next_labels = at::constant_pad_nd(caller_labels, {0, 1}, -100).narrow(1, 1, S);
  if (next_labels.masked_select(real.logical_not()).ne(-100).any().item<bool>()) return;

  const at::Tensor flat = real.reshape({-1}).nonzero().reshape({-1});  // the real tokens, row by row
  const at::Tensor lengths = real.sum(1).to(at::kCPU, at::kLong);
  row_lengths_.assign(lengths.data_ptr<int64_t>(), lengths.data_ptr<int64_t>() + B);
  embeddings_ = embeddings_.reshape({B * S, -1}).index_select(0, flat).unsqueeze(0);
  // PEFT's column rule: the token at column j sits at position n + j (n with a prefix), padding or not.
  const int64_t offset = kv_prefix_.empty() ? 0 : n;
  position_ids_ = (flat.remainder(S) + offset).unsqueeze(0);
  attention_mask_ = at::Tensor();
  packed_targets_ = next_labels.reshape({-1}).index_select(0, flat);
  packed_rows_ = at::floor_divide(flat, S);
  if (last_virtual_hidden_.defined()) {  // each row's last virtual position predicts its column 0
    packed_targets_ = at::cat({caller_labels.select(1, 0), packed_targets_});
    packed_rows_ = at::cat({at::arange(B, packed_rows_.options()), packed_rows_});
  }
}

at::Tensor ModelInputs::output_hidden(const at::Tensor& hidden) const {
  if (packed()) {
    at::Tensor rows = hidden.reshape({-1, hidden.size(-1)});
    return last_virtual_hidden_.defined() ? at::cat({last_virtual_hidden_, rows}) : rows;
  }
  if (!last_virtual_hidden_.defined()) return hidden;
  return at::cat({last_virtual_hidden_.unsqueeze(1), hidden}, 1);
}

model::ForwardInputs ModelInputs::forward_inputs() const {
  model::ForwardInputs inputs;
  inputs.embeddings = embeddings_;
  inputs.attention_mask = attention_mask_;
  inputs.absent_keys = absent_prefix_;
  inputs.position_ids = position_ids_;
  inputs.token_type_ids = token_type_ids_;
  inputs.kv_prefix = kv_prefix_.empty() ? nullptr : &kv_prefix_;
  inputs.row_lengths = row_lengths_;
  return inputs;
}

}  // namespace sp::prompting
