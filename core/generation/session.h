// Runs a model with a prompt snapshot over a key/value cache: prefill (the prompts, left-padded,
// each row placed as if alone) then one token per row at a time. Both return the next-token logits
// of every row, float32 on the model's device. The cache is allocated once, at construction.
// Encoder-decoder models: prefill encodes the prompts (right-padded) once and runs the decoder's
// first step (decoder_start_token_id, behind prefix tuning's prefix); decoding then appends to the
// decoder's cache, every step attending to the kept encoder output.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "generation/prompts.h"
#include "model/transformer.h"
#include "prompting/prompt_snapshot.h"

namespace sp::generation {

class Session {
 public:
  // Room for `max_rows` rows of `max_length` tokens each, after the snapshot's virtual tokens.
  Session(std::shared_ptr<const model::Transformer> model, std::shared_ptr<const prompting::PromptSnapshot> snapshot,
          int64_t max_rows, int64_t max_length);

  const model::Transformer& model() const { return *model_; }
  const prompting::PromptSnapshot& snapshot() const { return *snapshot_; }
  PromptLimits limits() const;

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
  // The cache's first n entries of every row: prefix tuning's prefix.
  void put_prefix(const std::vector<model::KeyValuePrefix>& prefix, int64_t rows);

  std::shared_ptr<const model::Transformer> model_;
  std::shared_ptr<const prompting::PromptSnapshot> snapshot_;
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
