// The two halves of an encoder-decoder call with a method's contribution, as PEFT's seq2seq forward
// builds them (spec 4.2): the encoder's inputs with prompt methods' virtual tokens in front (its mask
// gains n ones), the decoder's inputs (the targets shifted right behind decoder_start_token_id, or
// the caller's decoder ids) with MPT's decoder prompts in front, and prefix tuning's decoder
// self-attention prefix.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <vector>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"
#include "prompting/model_inputs.h"

namespace sp::prompting {

class Seq2SeqInputs {
 public:
  // `method` may be null (the base model alone). `training` turns on dropout inside prompt encoders.
  Seq2SeqInputs(const model::Transformer& model, const methods::SoftPromptMethod* method, const Batch& batch,
                bool training = false);
  // A contribution computed beforehand (for the batch's rows) by a method with `num_virtual_tokens`.
  Seq2SeqInputs(const model::Transformer& model, methods::PromptContribution contribution, int64_t num_virtual_tokens,
                const Batch& batch);
  Seq2SeqInputs(const Seq2SeqInputs&) = delete;
  Seq2SeqInputs& operator=(const Seq2SeqInputs&) = delete;

  // Runs the encoder: what every decoder call attends to.
  model::EncoderMemory encode(const model::Transformer& model) const;
  // Runs the decoder over `memory`: the final hidden states at the caller's decoder positions
  // (B, T, hidden). InvalidArgument when the batch had neither decoder inputs nor labels.
  at::Tensor decode(const model::Transformer& model, const model::EncoderMemory& memory) const;
  // encode() then decode().
  at::Tensor decoder_hidden(const model::Transformer& model) const;
  // The caller's targets (B, T) on the model's device; undefined when the batch had none.
  const at::Tensor& labels() const { return labels_; }
  // Prefix tuning's per-decoder-layer prefix; empty otherwise.
  const std::vector<model::KeyValuePrefix>& decoder_prefix() const { return decoder_prefix_; }

 private:
  void assemble(const model::Transformer& model, methods::PromptContribution contribution, int64_t num_virtual_tokens,
                const Batch& batch);

  std::optional<ModelInputs> encoder_;
  at::Tensor decoder_ids_, labels_, decoder_prompts_;
  std::vector<model::KeyValuePrefix> decoder_prefix_;
};

}  // namespace sp::prompting
