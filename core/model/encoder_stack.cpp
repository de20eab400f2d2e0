// The encoder-only topology (bert, roberta): word + token-type + learned position embeddings,
// normalised; post-norm bidirectional blocks (each sub-layer's output added to its input, then
// normalised); no final norm. A key/value prefix is seen by every query; padding is masked as a key.
#include "model/transformer.h"

namespace sp::model {

at::Tensor Transformer::encoder_forward(const ForwardInputs& inputs, const at::Tensor& positions, int64_t P) const {
  const int64_t S = inputs.embeddings.size(1);
  at::Tensor x = inputs.embeddings;
  // transformers' order: (words + token types) + positions, then LayerNorm.
  if (config_.type_vocab_size > 0) {
    at::Tensor types = inputs.token_type_ids.defined() ? inputs.token_type_ids.to(device_)
                                                       : at::zeros_like(positions, positions.options());
    x = x + at::embedding(token_type_embedding_, types);
  }
  x = embedding_norm_(x + at::embedding(position_embedding_, positions));

  at::Tensor mask;
  if (inputs.attention_mask.defined()) mask = build_attention_mask(inputs.attention_mask, S, P, device_, false);
  for (std::size_t index = 0; index < layers_.size(); ++index) {
    const Block& block = layers_[index];
    x = block.attention_norm(x + block.attention(x, {}, {}, mask, earlier_keys(inputs, index, P), false));
    x = block.mlp_norm(x + block.mlp(x));
  }
  return x;
}

}  // namespace sp::model
