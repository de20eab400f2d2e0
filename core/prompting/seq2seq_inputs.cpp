#include "prompting/seq2seq_inputs.h"

#include "objectives/seq2seq_lm.h"
#include "util/errors.h"

namespace sp::prompting {

Seq2SeqInputs::Seq2SeqInputs(const model::Transformer& model, const methods::SoftPromptMethod* method,
                             const Batch& batch, bool training) {
  assemble(model, contribution_for(model, method, batch, training), method ? method->num_virtual_tokens() : 0, batch);
}

Seq2SeqInputs::Seq2SeqInputs(const model::Transformer& model, methods::PromptContribution contribution,
                             int64_t num_virtual_tokens, const Batch& batch) {
  assemble(model, std::move(contribution), num_virtual_tokens, batch);
}

void Seq2SeqInputs::assemble(const model::Transformer& model, methods::PromptContribution contribution, int64_t n,
                             const Batch& batch) {
  const at::Device device = model.device();
  const model::ModelConfig& config = model.config();
  // The decoder's parts leave the contribution; what stays (prepended embeddings) is the encoder's.
  decoder_prefix_ = std::move(contribution.kv_prefix);
  contribution.kv_prefix.clear();
  decoder_prompts_ = contribution.decoder_prepend_embeddings;
  contribution.decoder_prepend_embeddings = at::Tensor();
  Batch encoder_batch;  // token types are dropped for SEQ_2_SEQ_LM (PEFT), and T5 has none
  encoder_batch.input_ids = batch.input_ids;
  encoder_batch.attention_mask = batch.attention_mask;
  encoder_.emplace(model, std::move(contribution), n, encoder_batch, PositionRule::Column);

  if (batch.labels.defined()) labels_ = batch.labels.to(device);
  if (batch.decoder_input_ids.defined())
    decoder_ids_ = batch.decoder_input_ids.to(device);
  else if (labels_.defined())
    decoder_ids_ = objectives::shift_right(labels_, config.decoder_start_token_id, config.pad_token_id);
}

model::EncoderMemory Seq2SeqInputs::encode(const model::Transformer& model) const {
  const at::Tensor hidden = model.forward(encoder_->forward_inputs());
  return model.encoder_memory(hidden, encoder_->attention_mask());
}

at::Tensor Seq2SeqInputs::decode(const model::Transformer& model, const model::EncoderMemory& memory) const {
  if (!decoder_ids_.defined())
    fail(ErrorKind::InvalidArgument,
         "an encoder-decoder call needs the decoder's side: the batch's labels (targets) or decoder_input_ids");
  model::ForwardInputs inputs;
  inputs.embeddings = model.embed_tokens(decoder_ids_);
  int64_t prepended = 0;
  if (decoder_prompts_.defined()) {  // MPT with m = 2: decoder prompts in front
    prepended = decoder_prompts_.size(1);
    inputs.embeddings = at::cat({decoder_prompts_.to(inputs.embeddings.scalar_type()), inputs.embeddings}, 1);
  }
  inputs.kv_prefix = decoder_prefix_.empty() ? nullptr : &decoder_prefix_;
  inputs.encoder = &memory;
  const at::Tensor hidden = model.forward(inputs);
  return hidden.narrow(1, prepended, hidden.size(1) - prepended);
}

at::Tensor Seq2SeqInputs::decoder_hidden(const model::Transformer& model) const { return decode(model, encode(model)); }

}  // namespace sp::prompting
