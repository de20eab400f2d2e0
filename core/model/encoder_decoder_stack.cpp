// The encoder-decoder topology (t5): each stack runs pre-norm blocks without positions in its
// inputs: a relative position bias, computed from the stack's first-layer table, is added to every
// layer's attention scores (bidirectional buckets in the encoder, causal ones in the decoder). Each
// decoder block attends to the encoder output between its self-attention and its feed-forward.
// Each stack ends with its own norm.
#include <limits>

#include "model/relative_position.h"
#include "model/transformer.h"

namespace sp::model {

namespace {

// transformers clamps T5's float16 hidden states after every sub-layer (their activations overflow
// float16): to +-(max - 1000) when any value is infinite, else to +-max, which turns infinities
// into finite values. Other dtypes pass unchanged.
at::Tensor clamp_float16(const at::Tensor& x) {
  if (x.scalar_type() != at::kHalf) return x;
  const double largest = 65504.0;  // torch.finfo(torch.float16).max
  const at::Tensor limit = at::where(x.isinf().any(), at::scalar_tensor(largest - 1000, x.options()),
                                     at::scalar_tensor(largest, x.options()));
  return at::clamp(x, -limit, limit);
}

}  // namespace

EncoderMemory EncoderMemory::first_rows(int64_t rows) const {
  EncoderMemory narrowed;
  for (const auto& layer : cross)
    narrowed.cross.push_back({layer.key.narrow(0, 0, rows), layer.value.narrow(0, 0, rows)});
  if (visible.defined()) narrowed.visible = visible.size(0) == 1 ? visible : visible.narrow(0, 0, rows);
  return narrowed;
}

EncoderMemory Transformer::encoder_memory(const at::Tensor& encoder_hidden, const at::Tensor& encoder_mask) const {
  EncoderMemory memory;
  for (const Block& block : decoder_layers_) memory.cross.push_back(block.cross.memory(encoder_hidden));
  if (encoder_mask.defined()) memory.visible = encoder_mask.to(device_).ne(0).unsqueeze(1).unsqueeze(1);
  return memory;
}

at::Tensor Transformer::encoder_decoder_forward(const ForwardInputs& inputs, int64_t P) const {
  const bool decoding = inputs.encoder != nullptr;
  const std::vector<Block>& layers = decoding ? decoder_layers_ : layers_;
  const int64_t S = inputs.embeddings.size(1);
  // The scores' additive term, shared by the layers: the bias of the call's S queries (after P
  // earlier keys: a prefix or a cache) over all P + S keys, -inf where a key is hidden.
  const at::Tensor bias = relative_position_bias(decoding ? decoder_relative_bias_ : encoder_relative_bias_, P, S,
                                                 P + S, !decoding, config_.relative_attention_max_distance);
  const at::Tensor visible = build_attention_mask(inputs.attention_mask, S, P, device_, decoding);
  const at::Tensor scores_term = at::where(visible, bias, -std::numeric_limits<double>::infinity());
  const at::Tensor cross_visible = decoding ? inputs.encoder->visible : at::Tensor();

  at::Tensor x = inputs.embeddings;
  for (std::size_t index = 0; index < layers.size(); ++index) {
    const Block& block = layers[index];
    x = clamp_float16(x + block.attention(block.attention_norm(x), {}, {}, scores_term, earlier_keys(inputs, index, P),
                                          inputs.few_rows));
    if (decoding)
      x = clamp_float16(x +
                        block.cross(block.cross_norm(x), inputs.encoder->cross[index], cross_visible, inputs.few_rows));
    x = clamp_float16(x + block.mlp(block.mlp_norm(x), inputs.few_rows));
  }
  if (inputs.cache) inputs.cache->length += S;
  return (decoding ? decoder_final_norm_ : final_norm_)(x);
}

}  // namespace sp::model
