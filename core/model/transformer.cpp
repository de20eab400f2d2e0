#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/rope.h"
#include "util/errors.h"
#include "util/shape_text.h"

namespace sp::model {

at::Tensor Transformer::embed_tokens(const at::Tensor& ids) const { return at::embedding(token_embedding_, ids); }

at::Tensor Transformer::lm_head(const at::Tensor& hidden, bool few_rows) const {
  if (!has_lm_head()) fail(ErrorKind::Unsupported, config_.model_type + " models have no language-modelling head");
  return Linear{lm_head_weight_, at::Tensor()}(output_layer_input(hidden), few_rows);
}

at::Tensor Transformer::output_layer_input(const at::Tensor& hidden) const {
  // transformers: sequence_output * (model_dim ** -0.5), a scalar product in the hidden dtype.
  if (!config_.scale_decoder_output) return hidden;
  return hidden * std::pow(static_cast<double>(config_.hidden_size), -0.5);
}

KeyValueCache Transformer::allocate_cache(int64_t rows, int64_t capacity) const {
  KeyValueCache cache;
  const auto options = at::TensorOptions().dtype(dtype_).device(device_);
  for (int64_t layer = 0; layer < config_.generating_layers(); ++layer) {
    cache.keys.push_back(at::empty({rows, config_.num_kv_heads, capacity, config_.head_dim}, options));
    cache.values.push_back(at::empty({rows, config_.num_kv_heads, capacity, config_.head_dim}, options));
  }
  return cache;
}

// cos and sin of every position's rotation angles, (B, S, head_dim) in the model dtype.
std::pair<at::Tensor, at::Tensor> Transformer::rotary_cos_sin(const at::Tensor& positions, int64_t seq_len) const {
  at::Tensor inv_freq = rope_inv_freq_;
  if (config_.rope.type == "dynamic") {
    if (seq_len > config_.max_position_embeddings)
      inv_freq = dynamic_rope_inverse_frequencies(config_, seq_len).to(device_);
  }
  at::Tensor freqs = positions.unsqueeze(-1).to(at::kFloat) * inv_freq;
  at::Tensor angles = at::cat({freqs, freqs}, -1);
  at::Tensor cos = angles.cos(), sin = angles.sin();
  if (config_.rope.attention_factor != 1.0) {  // yarn scales both, in float32, before the dtype cast
    cos = cos * config_.rope.attention_factor;
    sin = sin * config_.rope.attention_factor;
  }
  return {cos.to(dtype_), sin.to(dtype_)};
}

// A query of a windowed layer sees only the `sliding_window` most recent keys, itself included. When a
// call attends over no more positions than that, the window masks nothing; otherwise we refuse rather
// than compute full attention that transformers would not.
void Transformer::refuse_applying_window(int64_t attended_positions) const {
  if (config_.sliding_window > 0 && attended_positions > config_.sliding_window)
    fail(ErrorKind::Unsupported, "sliding_window " + std::to_string(config_.sliding_window) +
                                     " applies to this call (" + std::to_string(attended_positions) +
                                     " attended positions, virtual tokens and prefix included); windowed "
                                     "attention is not supported, so calls must not be longer than the window");
}

EarlierKeys Transformer::earlier_keys(const ForwardInputs& inputs, std::size_t index, int64_t P) const {
  EarlierKeys earlier;
  if (inputs.kv_prefix) earlier.prefix = &(*inputs.kv_prefix)[index];
  earlier.keys_out = inputs.keys_out;
  if (!inputs.row_lengths.empty()) earlier.row_lengths = &inputs.row_lengths;
  if (inputs.cache) {
    const int64_t B = inputs.embeddings.size(0);
    earlier.cache_keys = inputs.cache->keys[index].narrow(0, 0, B);
    earlier.cache_values = inputs.cache->values[index].narrow(0, 0, B);
    earlier.cache_length = P;
  }
  return earlier;
}

at::Tensor Transformer::forward(const ForwardInputs& inputs) const {
  const at::Tensor& embeddings = inputs.embeddings;
  const int64_t B = embeddings.size(0), S = embeddings.size(1);
  KeyValueCache* cache = inputs.cache;
  const int64_t P = inputs.kv_prefix ? inputs.kv_prefix->front().key.size(2) : cache ? cache->length : 0;
  const bool packed = !inputs.row_lengths.empty();
  const bool encoder_decoder = config_.topology == Topology::EncoderDecoder;
  const bool decoding = inputs.encoder != nullptr;
  if (decoding != (encoder_decoder && (inputs.encoder || cache)) ||
      (decoding && (packed || static_cast<int64_t>(inputs.encoder->cross.size()) != config_.num_decoder_layers ||
                    inputs.encoder->cross.front().key.size(0) != B)))
    fail(ErrorKind::Internal, "the encoder memory does not fit the call");
  const int64_t layers = decoding ? config_.num_decoder_layers : config_.num_layers;
  if (inputs.kv_prefix && static_cast<int64_t>(inputs.kv_prefix->size()) != layers)
    fail(ErrorKind::Internal, "key/value prefix has the wrong number of layers");
  if (cache && (inputs.kv_prefix || config_.topology == Topology::EncoderOnly ||
                static_cast<int64_t>(cache->keys.size()) != layers || cache->length + S > cache->capacity() ||
                B > cache->keys.front().size(0)))
    fail(ErrorKind::Internal, "the key/value cache does not fit the call");
  if (packed &&
      (B != 1 || cache || inputs.attention_mask.defined() || !inputs.position_ids.defined() ||
       std::accumulate(inputs.row_lengths.begin(), inputs.row_lengths.end(), int64_t{0}) != S ||
       (inputs.kv_prefix && inputs.kv_prefix->front().key.size(0) != static_cast<int64_t>(inputs.row_lengths.size()))))
    fail(ErrorKind::Internal, "packed rows do not fit the call");
  if (inputs.token_type_ids.defined() && config_.type_vocab_size == 0)
    fail(ErrorKind::Internal, "token type ids for a model without token types");
  refuse_applying_window(P + (packed ? *std::max_element(inputs.row_lengths.begin(), inputs.row_lengths.end()) : S));

  if (encoder_decoder) return encoder_decoder_forward(inputs, P);  // positions enter as a relative bias

  at::Tensor positions = inputs.position_ids;
  if (!positions.defined()) {
    const int64_t first = config_.position_offset + P;
    if (config_.position == PositionKind::Learned && first + S > config_.max_position_embeddings)
      fail(ErrorKind::OutOfRange, "sequence of " + std::to_string(P + S) + " positions exceeds the model's " +
                                      std::to_string(config_.max_position_embeddings - config_.position_offset) +
                                      " learned positions");
    positions =
        at::arange(first, first + S, at::TensorOptions().dtype(at::kLong).device(device_)).unsqueeze(0).expand({B, S});
  }
  return config_.topology == Topology::EncoderOnly ? encoder_forward(inputs, positions, P)
                                                   : decoder_forward(inputs, positions, P);
}

}  // namespace sp::model
