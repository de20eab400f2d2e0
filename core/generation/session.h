// Runs a model with a soft prompt over a key/value cache: prefill (the prompts, left-padded, each
// row placed as if alone) then one token per row at a time. Both return the next-token logits of
// every row, float32 on the model's device. The cache is allocated at construction, and grows once
// when a call's rows bring longer prompts than the session's own.
// Every row may bring its own compiled prompt (Prompts::row_prompts): on decoder-only models each
// enters as that row's key/value prefix (prompting::RowPrompts), so that rows of different adapters
// share one forward pass.
// Encoder-decoder models: prefill encodes the prompts (right-padded) once and runs the decoder's
// first step (decoder_start_token_id, behind prefix tuning's prefix); decoding then appends to the
// decoder's cache, every step attending to the kept encoder output.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "generation/prompts.h"
#include "model/transformer.h"
#include "prompting/compiled_prompt.h"
#include "prompting/model_inputs.h"

namespace sp::generation {

class Session {
 public:
  // Room for `max_rows` rows of `max_length` tokens each, after the prompt's virtual tokens.
  // `recompute`: compile each call's prompts again instead of reusing their compiled keys (the same
  // values, computed in every call: to measure what compiling saves).
  Session(std::shared_ptr<const model::Transformer> model, std::shared_ptr<const prompting::CompiledPrompt> prompt,
          int64_t max_rows, int64_t max_length, bool recompute);

  const model::Transformer& model() const { return *model_; }
  PromptLimits limits() const;
  // Model inputs for rows [first, first + count) of `prompts`, padded into `batch` (per-row
  // positions), each row with its own prompt or the session's.
  std::unique_ptr<prompting::ModelInputs> inputs_for(const Prompts& prompts, std::size_t first, std::size_t count,
                                                     const prompting::Batch& batch) const;

  // Replaces the cache's contents with `prompts` (checked against limits(), with `extra` tokens to
  // come per row) and returns (rows, vocab) logits.
  at::Tensor prefill(const Prompts& prompts, int64_t extra);
  // Appends one token per row of the latest prefill; (rows) int64 ids on any device.
  at::Tensor decode(const at::Tensor& tokens);
  // Tokens each row may still append.
  int64_t room() const;
  int64_t rows() const { return rows_; }
  void reset();

 private:
  // prefill's body for encoder-decoder models: returns the first decoder step's hidden states.
  at::Tensor prefill_encoder_decoder(const Prompts& prompts, const at::Tensor& task_ids);
  // The one prompt of rows [first, first + count) where rows cannot have their own (null: none);
  // Unsupported when they name different ones.
  const prompting::CompiledPrompt* uniform_prompt(const Prompts& prompts, std::size_t first, std::size_t count) const;
  // The cache's first n entries of every row: a prefix (prefix tuning's, or compiled prompts').
  void put_prefix(const std::vector<model::KeyValuePrefix>& prefix, int64_t rows);
  // Room for `prefix` entries before max_length tokens in every row, reallocating the cache if needed.
  void reserve_prefix(int64_t prefix);

  std::shared_ptr<const model::Transformer> model_;
  std::shared_ptr<const prompting::CompiledPrompt> prompt_;
  bool recompute_;
  int64_t max_rows_, max_length_;
  model::KeyValueCache cache_;
  at::Tensor key_mask_;       // (max_rows, capacity) bool: a real entry; kept below cache_.length when padded_
  bool padded_ = false;       // some entry below cache_.length is padding
  at::Tensor next_position_;  // (rows) int64: the position of each row's next token
  model::EncoderMemory encoder_memory_;  // encoder-decoder models: the latest prefill's encoder output
  int64_t rows_ = 0;
  int64_t longest_prompt_ = 0, decoded_ = 0;
};

}  // namespace sp::generation
