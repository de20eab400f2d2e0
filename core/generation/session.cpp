#include "generation/session.h"

#include "methods/parameter_shapes.h"
#include "prompting/model_inputs.h"
#include "prompting/seq2seq_inputs.h"
#include "util/errors.h"

namespace sp::generation {

namespace {
// OutOfRange or OutOfMemory when a cache of `rows` x `positions` does not fit the model's learned
// positions or, on the CPU, the machine's memory; `why` says what the positions are.
void check_cache(const model::Transformer& model, int64_t rows, int64_t positions, const std::string& why) {
  const model::ModelConfig& config = model.config();
  if (config.position == model::PositionKind::Learned && positions > config.max_position_embeddings)
    fail(ErrorKind::OutOfRange,
         why + " exceeds the model's " + std::to_string(config.max_position_embeddings) + " learned positions");
  // Keys and values of every layer, row and position, and a byte per row and position for the mask.
  const double elements = 2.0 * static_cast<double>(config.generating_layers()) * static_cast<double>(rows) *
                          static_cast<double>(config.num_kv_heads) * static_cast<double>(positions) *
                          static_cast<double>(config.head_dim);
  const double bytes = elements * static_cast<double>(at::elementSize(model.dtype())) +
                       static_cast<double>(rows) * static_cast<double>(positions);
  if (model.device().is_cpu() && bytes > static_cast<double>(methods::physical_memory_bytes()))
    fail(ErrorKind::OutOfMemory, "the key/value cache needs " + std::to_string(static_cast<uint64_t>(bytes)) +
                                     " bytes, more than this machine's physical memory; lower max_batch_size or "
                                     "max_length");
}
}  // namespace

Session::Session(std::shared_ptr<const model::Transformer> model,
                 std::shared_ptr<const prompting::CompiledPrompt> prompt, int64_t max_rows, int64_t max_length,
                 bool recompute)
    : model_(std::move(model)),
      prompt_(std::move(prompt)),
      recompute_(recompute),
      max_rows_(max_rows),
      max_length_(max_length) {
  reserve_prefix(prompt_->num_virtual_tokens());
}

void Session::reserve_prefix(int64_t prefix) {
  const int64_t capacity = prefix + max_length_;
  if (!cache_.keys.empty() && capacity <= cache_.capacity()) return;
  check_cache(*model_, max_rows_, capacity,
              "sp_context_params.max_length " + std::to_string(max_length_) +
                  (prefix > 0 ? " plus " + std::to_string(prefix) + " virtual tokens" : std::string()));
  reset();
  cache_ = model_->allocate_cache(max_rows_, capacity);
  key_mask_ = at::zeros({max_rows_, capacity}, at::TensorOptions().dtype(at::kBool).device(model_->device()));
}

PromptLimits Session::limits() const {
  return {model_->config().vocab_size, prompt_->num_tasks(), max_rows_, max_length_};
}

int64_t Session::room() const { return rows_ == 0 ? 0 : max_length_ - longest_prompt_ - decoded_; }

void Session::reset() {
  cache_.length = 0;
  rows_ = 0;
  padded_ = false;
  longest_prompt_ = decoded_ = 0;
}

void Session::put_prefix(const std::vector<model::KeyValuePrefix>& prefix, int64_t rows) {
  const int64_t n = prefix.front().key.size(2);
  for (std::size_t layer = 0; layer < prefix.size(); ++layer) {
    cache_.keys[layer].narrow(0, 0, rows).narrow(2, 0, n).copy_(prefix[layer].key);
    cache_.values[layer].narrow(0, 0, rows).narrow(2, 0, n).copy_(prefix[layer].value);
  }
  cache_.length = n;
}

const prompting::CompiledPrompt* Session::uniform_prompt(const Prompts& prompts, std::size_t first,
                                                         std::size_t count) const {
  if (prompts.row_prompts.empty()) return prompt_.get();
  const prompting::CompiledPrompt* prompt = prompts.row_prompts[first].get();
  for (std::size_t row = first; row < first + count; ++row)
    if (prompts.row_prompts[row].get() != prompt)
      fail(ErrorKind::Unsupported,
           "rows with different adapters share a call only on decoder-only models without "
           "dynamic RoPE; " +
               model_->config().model_type + " needs one call per adapter here");
  return prompt;
}

std::unique_ptr<prompting::ModelInputs> Session::inputs_for(const Prompts& prompts, std::size_t first,
                                                            std::size_t count, const prompting::Batch& batch) const {
  const auto rows = static_cast<int64_t>(count);
  const at::Tensor task_ids = batch.task_ids.defined() ? batch.task_ids.to(model_->device()) : at::Tensor();
  if (!prompting::reusable_prompt_keys(*model_)) {
    const prompting::CompiledPrompt* prompt = uniform_prompt(prompts, first, count);
    const prompting::PromptSnapshot none;
    const prompting::PromptSnapshot& snapshot = prompt ? prompt->snapshot() : none;
    return std::make_unique<prompting::ModelInputs>(*model_, snapshot.for_rows(rows, task_ids),
                                                    snapshot.num_virtual_tokens(), batch,
                                                    prompting::PositionRule::PerRow);
  }
  // Each row's compiled prompt; recompiled for this call when asked (kept alive until the inputs
  // hold their keys).
  std::vector<std::shared_ptr<const prompting::CompiledPrompt>> recompiled;
  prompting::RowPrompts row_prompts;
  row_prompts.task_ids = task_ids;
  for (std::size_t row = first; row < first + count; ++row) {
    const prompting::CompiledPrompt* prompt =
        prompts.row_prompts.empty() ? prompt_.get() : prompts.row_prompts[row].get();
    if (prompt && recompute_) {
      std::size_t done = 0;
      while (done < recompiled.size() && recompiled[done]->shared_snapshot() != prompt->shared_snapshot()) ++done;
      if (done == recompiled.size())
        recompiled.push_back(prompting::CompiledPrompt::compile(*model_, prompt->shared_snapshot()));
      prompt = recompiled[done].get();
    }
    row_prompts.of_row.push_back(prompt);
  }
  return std::make_unique<prompting::ModelInputs>(*model_, row_prompts, batch, prompting::PositionRule::PerRow);
}

at::Tensor Session::prefill_encoder_decoder(const Prompts& prompts, const at::Tensor& task_ids) {
  const auto rows = static_cast<int64_t>(prompts.rows.size());
  prompting::Batch batch = padded_batch(prompts, 0, prompts.rows.size(), Padding::Right);
  const prompting::CompiledPrompt* prompt = uniform_prompt(prompts, 0, prompts.rows.size());
  const prompting::PromptSnapshot none;
  const prompting::PromptSnapshot& snapshot = prompt ? prompt->snapshot() : none;
  prompting::Seq2SeqInputs inputs(*model_, snapshot.for_rows(rows, task_ids), snapshot.num_virtual_tokens(), batch);
  encoder_memory_ = inputs.encode(*model_);
  if (!inputs.decoder_prefix().empty()) put_prefix(inputs.decoder_prefix(), rows);
  const int64_t start = model_->config().decoder_start_token_id;
  model::ForwardInputs forward;
  forward.embeddings =
      model_->embed_tokens(at::full({rows, 1}, start, at::TensorOptions().dtype(at::kLong).device(model_->device())));
  forward.encoder = &encoder_memory_;
  forward.cache = &cache_;
  return model_->forward(forward);
}

at::Tensor Session::prefill(const Prompts& prompts, int64_t extra) {
  check_prompts(prompts, limits(), extra, "prompts");
  reset();
  c10::InferenceMode guard;
  const at::Device device = model_->device();
  const auto rows = static_cast<int64_t>(prompts.rows.size());
  if (model_->config().topology == model::Topology::EncoderDecoder) {
    const at::Tensor task_ids =
        prompts.task_ids.empty() ? at::Tensor() : at::tensor(prompts.task_ids, at::kLong).to(device);
    const at::Tensor hidden = prefill_encoder_decoder(prompts, task_ids);
    rows_ = rows;
    longest_prompt_ = 1;  // the decoder's cache holds the start token; the prompts are the encoder's
    decoded_ = 0;
    return model_->lm_head(hidden.select(1, 0)).to(at::kFloat);
  }
  prompting::Batch batch = padded_batch(prompts, 0, prompts.rows.size(), Padding::Left);
  const std::unique_ptr<prompting::ModelInputs> inputs = inputs_for(prompts, 0, prompts.rows.size(), batch);
  model::ForwardInputs forward = inputs->forward_inputs();
  // A prefix enters the cache as its first entries; the prompt then follows it.
  if (forward.kv_prefix) {
    reserve_prefix(forward.kv_prefix->front().key.size(2));
    put_prefix(*forward.kv_prefix, rows);
    forward.kv_prefix = nullptr;
  }
  forward.cache = &cache_;
  at::Tensor hidden = model_->forward(forward);  // appends the prompt (and virtual tokens) to the cache

  // Which entries are real, kept only when some are padding (else decoding needs no mask).
  padded_ = inputs->attention_mask().defined();
  if (padded_) key_mask_.narrow(0, 0, rows).narrow(1, 0, cache_.length).copy_(inputs->attention_mask());

  // Each row's next position: one past its last token's.
  next_position_ = inputs->forward_inputs().position_ids.select(1, -1) + 1;
  rows_ = rows;
  longest_prompt_ = batch.input_ids.size(1);
  decoded_ = 0;
  // Left padding puts every row's last token in the last column.
  return model_->lm_head(hidden.select(1, hidden.size(1) - 1)).to(at::kFloat);
}

at::Tensor Session::decode(const at::Tensor& tokens) {
  if (rows_ == 0) fail(ErrorKind::InvalidArgument, "nothing to decode from: prefill prompts first");
  if (tokens.numel() != rows_)
    fail(ErrorKind::InvalidArgument, "decoding takes one id per row of the latest prefill (" + std::to_string(rows_) +
                                         "), got " + std::to_string(tokens.numel()));
  if (room() <= 0)
    fail(ErrorKind::OutOfRange,
         "the context is full: prompts plus generated tokens would pass max_length " + std::to_string(max_length_));
  c10::InferenceMode guard;
  const at::Device device = model_->device();
  at::Tensor ids = tokens.to(device, at::kLong).reshape({rows_, 1});
  const int64_t slot = cache_.length;
  model::ForwardInputs forward;
  forward.embeddings = model_->embed_tokens(ids);
  if (model_->config().topology == model::Topology::EncoderDecoder) {  // relative positions: none to give
    forward.encoder = &encoder_memory_;
    forward.cache = &cache_;
    forward.few_rows = true;
    const at::Tensor hidden = model_->forward(forward);
    ++decoded_;
    return model_->lm_head(hidden.select(1, 0), true).to(at::kFloat);
  }
  forward.position_ids = next_position_.unsqueeze(1);
  if (padded_) {
    key_mask_.narrow(0, 0, rows_).select(1, slot).fill_(true);
    forward.attention_mask = key_mask_.narrow(0, 0, rows_).narrow(1, 0, slot + 1);
  }
  forward.cache = &cache_;
  forward.few_rows = true;
  at::Tensor hidden = model_->forward(forward);
  next_position_ += 1;
  ++decoded_;
  return model_->lm_head(hidden.select(1, 0), true).to(at::kFloat);
}

}  // namespace sp::generation
