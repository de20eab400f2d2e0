#include "model/transformer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>

#include "model/embedding_sample.h"
#include "model/families.h"
#include "model/few_rows_linear.h"
#include "model/fused_ops.h"
#include "model/rope.h"
#include "model/weight_source.h"
#include "util/errors.h"
#include "util/shape_text.h"

namespace sp::model {

namespace {

// GPT-2's "gelu_new", written as transformers writes it so that results match to the last bits.
at::Tensor gelu_new(const at::Tensor& x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + at::tanh(k * (x + 0.044715 * at::pow(x, 3.0))));
}

// Boolean (B or 1, 1, S, P + S) mask, true = may attend: every query sees the prefix and the keys at or
// before its own position, minus keys the caller masked out.
at::Tensor build_attention_mask(const at::Tensor& key_mask, int64_t S, int64_t P, at::Device device) {
  auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor keys = at::arange(P + S, long_options);
  at::Tensor queries = at::arange(P, P + S, long_options);
  at::Tensor mask = keys.unsqueeze(0).le(queries.unsqueeze(1)).unsqueeze(0).unsqueeze(0);
  if (key_mask.defined()) mask = mask.logical_and(key_mask.to(device).ne(0).unsqueeze(1).unsqueeze(1));
  // A query that may see nothing (a pad before any real token) would produce NaN; let it see
  // everything instead. Its output is padding and is never used.
  return mask.logical_or(mask.any(-1, true).logical_not());
}

}  // namespace

// Reads and checks every weight of a model folder, converting to the requested dtype and device.
class TransformerLoader {
 public:
  TransformerLoader(const std::string& path, at::Device device, at::ScalarType dtype)
      : path_(path), device_(device), dtype_(dtype) {}

  std::shared_ptr<const Transformer> load() {
    source_ = open_weight_source(path_);
    std::shared_ptr<Transformer> model(new Transformer());
    model->config_ = parse_model_config(source_->config_json(), source_->config_name());
    model->folder_ = path_;
    model->device_ = device_;
    model->dtype_ = dtype_;
    config_ = &model->config_;
    family_ = find_family(config_->model_type);  // parse_model_config refused unknown types
    prefixes_ = checkpoint_prefixes(*family_);
    names_ = family_->model_names();

    // First every weight's presence, shape and dtype against the config, on meta tensors (which own
    // no memory), so that a config whose sizes contradict the files fails before anything is allocated.
    checking_ = true;
    Transformer scratch;  // receives the meta tensors; fill_weights reads only the loader's config
    fill_weights(scratch);
    checking_ = false;
    source_->check_unused(used_);
    embedding_name_ = resolve(names_.token_embedding);
    fill_weights(*model);
    model->embedding_fingerprint_ = source_->stored_bytes_fingerprint(embedding_name_);
    model->embedding_sample_ = std::move(embedding_sample_);
    if (config_->position == PositionKind::Rotary)
      model->rope_inv_freq_ = rope_inverse_frequencies(*config_).to(device_);
    return model;
  }

 private:
  void fill_weights(Transformer& model) {
    const ModelConfig& c = *config_;
    model.token_embedding_ = weight(names_.token_embedding, {c.vocab_size, c.hidden_size}, false);
    if (c.position == PositionKind::Learned)
      model.position_embedding_ = weight(names_.position_embedding, {c.max_position_embeddings, c.hidden_size}, false);
    model.final_norm_weight_ = weight(names_.final_norm_weight, {c.hidden_size}, false);
    if (!names_.final_norm_bias.empty())
      model.final_norm_bias_ = weight(names_.final_norm_bias, {c.hidden_size}, false);
    model.lm_head_weight_ = c.tie_word_embeddings ? model.token_embedding_
                                                  : unprefixed_weight(names_.lm_head, {c.vocab_size, c.hidden_size});
    for (int64_t layer = 0; layer < c.num_layers; ++layer)
      model.layers_.push_back(load_layer(family_->layer_names(layer, c)));
  }

  Transformer::Layer load_layer(const LayerWeightNames& n) {
    const ModelConfig& c = *config_;
    const int64_t d = c.hidden_size, q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
    Transformer::Layer layer;
    layer.attn_norm_weight = weight(n.attn_norm_weight, {d}, false);
    layer.mlp_norm_weight = weight(n.mlp_norm_weight, {d}, false);
    if (!n.attn_norm_bias.empty()) layer.attn_norm_bias = weight(n.attn_norm_bias, {d}, false);
    if (!n.mlp_norm_bias.empty()) layer.mlp_norm_bias = weight(n.mlp_norm_bias, {d}, false);
    if (!n.fused_qkv_weight.empty()) {
      layer.qkv_weight = weight(n.fused_qkv_weight, {q_out + 2 * kv_out, d}, true);
      if (!n.fused_qkv_bias.empty()) layer.qkv_bias = weight(n.fused_qkv_bias, {q_out + 2 * kv_out}, false);
    } else {
      layer.qkv_weight = at::cat({weight(n.q_weight, {q_out, d}, true), weight(n.k_weight, {kv_out, d}, true),
                                  weight(n.v_weight, {kv_out, d}, true)});
      if (!n.q_bias.empty())
        layer.qkv_bias = at::cat(
            {weight(n.q_bias, {q_out}, false), weight(n.k_bias, {kv_out}, false), weight(n.v_bias, {kv_out}, false)});
    }
    layer.o_weight = weight(n.o_weight, {d, q_out}, true);
    if (!n.o_bias.empty()) layer.o_bias = weight(n.o_bias, {d}, false);
    if (c.mlp == MlpKind::GatedSilu) {
      layer.gate_up_weight = at::cat(
          {weight(n.gate_weight, {c.intermediate_size, d}, true), weight(n.up_weight, {c.intermediate_size, d}, true)});
      if (!n.gate_bias.empty())
        layer.gate_up_bias = at::cat(
            {weight(n.gate_bias, {c.intermediate_size}, false), weight(n.up_bias, {c.intermediate_size}, false)});
    } else {
      layer.up_weight = weight(n.up_weight, {c.intermediate_size, d}, true);
    }
    if (c.mlp != MlpKind::GatedSilu && !n.up_bias.empty())
      layer.up_bias = weight(n.up_bias, {c.intermediate_size}, false);
    layer.down_weight = weight(n.down_weight, {d, c.intermediate_size}, true);
    if (!n.down_bias.empty()) layer.down_bias = weight(n.down_bias, {d}, false);
    return layer;
  }

  // The checkpoint name of a body weight: the first prefix under which the store has it.
  std::string resolve(const std::string& body_name) const {
    for (const auto& prefix : prefixes_)
      if (source_->find(prefix + body_name)) return prefix + body_name;
    fail(ErrorKind::Format, source_->description() + " lacks " + source_->weight_text(body_name));
  }

  // `expected` is the Linear layout (out, in); families with Conv1D storage keep matrices as (in, out).
  at::Tensor weight(const std::string& body_name, std::vector<int64_t> expected, bool matrix) {
    return convert(resolve(body_name), expected, matrix && names_.transposed_matrices);
  }

  at::Tensor unprefixed_weight(const std::string& name, std::vector<int64_t> expected) {
    if (!source_->find(name))
      fail(ErrorKind::Format, source_->description() + " lacks " + source_->weight_text(name) +
                                  " (its config says tie_word_embeddings is false)");
    return convert(name, expected, false);
  }

  at::Tensor convert(const std::string& name, std::vector<int64_t> expected, bool transposed) {
    const WeightSource::Entry entry = *source_->find(name);
    std::vector<int64_t> stored_expected = expected;
    if (transposed) std::reverse(stored_expected.begin(), stored_expected.end());
    if (entry.shape != stored_expected)
      fail(ErrorKind::ShapeMismatch, source_->description() + ": " + source_->weight_text(name) + " has shape " +
                                         shape_text(entry.shape) + " but the config implies " +
                                         shape_text(stored_expected));
    if (!entry.floating)
      fail(ErrorKind::Format,
           source_->description() + ": " + source_->weight_text(name) + " is not a floating-point tensor");
    if (checking_) {  // the shape the real pass produces, without any storage (nothing read yet)
      used_.insert(name);
      at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(dtype_).device(at::kMeta));
      return transposed ? tensor.t() : tensor;
    }
    at::Tensor tensor = source_->read(name);
    // The base-model sample from the values as stored, before any dtype conversion; taken here so
    // that a GGUF embedding is dequantized once.
    if (name == embedding_name_) embedding_sample_ = sample_embedding(tensor);
    if (transposed) tensor = tensor.t();
    return tensor.to(device_, dtype_).contiguous();
  }

  std::string path_;
  at::Device device_;
  at::ScalarType dtype_;
  bool checking_ = false;  // the meta-tensor pass of load()
  const ModelConfig* config_ = nullptr;
  const Family* family_ = nullptr;
  std::unique_ptr<WeightSource> source_;
  std::string embedding_name_;           // the token embedding's checkpoint name
  std::vector<float> embedding_sample_;  // taken when convert() reads it
  std::set<std::string> used_;           // checkpoint names the checking pass converted
  std::vector<std::string> prefixes_;
  ModelWeightNames names_;
};

std::shared_ptr<const Transformer> Transformer::load(const std::string& folder, at::Device device,
                                                     at::ScalarType dtype) {
  return TransformerLoader(folder, device, dtype).load();
}

at::Tensor Transformer::embed_tokens(const at::Tensor& ids) const { return at::embedding(token_embedding_, ids); }

at::Tensor Transformer::lm_head(const at::Tensor& hidden, bool few_rows) const {
  return product(hidden, lm_head_weight_, at::Tensor(), few_rows);
}

at::Tensor Transformer::product(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                bool few_rows) const {
  return few_rows ? few_rows_linear(x, weight, bias) : at::linear(x, weight, bias);
}

at::Tensor Transformer::norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) const {
  if (config_.norm == NormKind::LayerNorm)
    return at::layer_norm(x, {config_.hidden_size}, weight, bias, config_.norm_eps);
  return rms_norm(x, weight, config_.norm_eps);
}

KeyValueCache Transformer::allocate_cache(int64_t rows, int64_t capacity) const {
  KeyValueCache cache;
  const auto options = at::TensorOptions().dtype(dtype_).device(device_);
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    cache.keys.push_back(at::empty({rows, config_.num_kv_heads, capacity, config_.head_dim}, options));
    cache.values.push_back(at::empty({rows, config_.num_kv_heads, capacity, config_.head_dim}, options));
  }
  return cache;
}

at::Tensor Transformer::attention(const Layer& layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const at::Tensor& mask, const EarlierKeys& earlier, bool few_rows) const {
  const int64_t B = x.size(0), S = x.size(1);
  const int64_t H = config_.num_heads, Hkv = config_.num_kv_heads, hd = config_.head_dim;
  at::Tensor qkv =
      product(norm(x, layer.attn_norm_weight, layer.attn_norm_bias), layer.qkv_weight, layer.qkv_bias, few_rows);
  auto parts = qkv.split_with_sizes({H * hd, Hkv * hd, Hkv * hd}, -1);
  at::Tensor q = parts[0].view({B, S, H, hd});
  at::Tensor k = parts[1].view({B, S, Hkv, hd});
  if (cos.defined()) {
    q = rotary(q, cos, sin);
    k = rotary(k, cos, sin);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  at::Tensor v = parts[2].view({B, S, Hkv, hd}).transpose(1, 2);
  if (earlier.keys_out) earlier.keys_out->push_back({k, v});
  if (earlier.row_lengths) {
    // Packed rows: each row's queries see its own keys (and its row of the prefix) only.
    std::vector<at::Tensor> rows;
    int64_t offset = 0;
    for (std::size_t row = 0; row < earlier.row_lengths->size(); ++row) {
      const int64_t length = (*earlier.row_lengths)[row];
      at::Tensor row_k = k.narrow(2, offset, length), row_v = v.narrow(2, offset, length);
      if (earlier.prefix) {
        const auto index = static_cast<int64_t>(row);
        row_k = at::cat({earlier.prefix->key.narrow(0, index, 1).to(k.scalar_type()), row_k}, 2);
        row_v = at::cat({earlier.prefix->value.narrow(0, index, 1).to(v.scalar_type()), row_v}, 2);
      }
      const int64_t P = row_k.size(2) - length;
      rows.push_back(
          attend(q.narrow(2, offset, length), row_k, row_v,
                 prefix_needs_mask(P, length) ? build_attention_mask(at::Tensor(), length, P, device_) : at::Tensor()));
      offset += length;
    }
    at::Tensor out = at::cat(rows, 2);
    return product(out.transpose(1, 2).reshape({B, S, H * hd}), layer.o_weight, layer.o_bias, few_rows);
  }
  if (earlier.prefix) {  // prefix keys are used as stored: never rotated
    k = at::cat({earlier.prefix->key.to(k.scalar_type()), k}, 2);
    v = at::cat({earlier.prefix->value.to(v.scalar_type()), v}, 2);
  } else if (earlier.cache_keys.defined()) {
    const int64_t P = earlier.cache_length;
    earlier.cache_keys.narrow(2, P, S).copy_(k);
    earlier.cache_values.narrow(2, P, S).copy_(v);
    k = earlier.cache_keys.narrow(2, 0, P + S);
    v = earlier.cache_values.narrow(2, 0, P + S);
  }
  at::Tensor out = attend(q, k, v, mask);
  return product(out.transpose(1, 2).reshape({B, S, H * hd}), layer.o_weight, layer.o_bias, few_rows);
}

bool Transformer::prefix_needs_mask(int64_t P, int64_t S) const {
  return P > 0 && S > 1 && (P > S || device_.is_cpu());
}

at::Tensor Transformer::attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& mask) const {
  const int64_t S = q.size(2), H = config_.num_heads, Hkv = config_.num_kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim));
  const int64_t P = k.size(2) - S;  // earlier keys: prefix or cache
  at::Tensor out;
  if (!mask.defined() && P > 0 && S > 1) {  // CUDA only: forward() gives the CPU a mask
    // Every query sees all P earlier keys and its own causal past: the fused kernel's causal rule
    // (query i sees keys 0..i) gives exactly that to the queries behind P placeholder rows, whose
    // outputs are dropped. forward() passes no mask here only when P <= S, so the placeholders at
    // most double the (cheap) attention products, while a mask would cost the fused kernel.
    out = at::scaled_dot_product_attention(at::constant_pad_nd(q, {0, 0, P, 0}), k, v, {}, 0.0, true, scale, H != Hkv)
              .narrow(2, P, S);
  } else if (!mask.defined()) {
    out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, S > 1, scale, H != Hkv);
  } else {
    // With a mask, CUDA's fused kernels take no grouped heads: expand them first (as transformers
    // does). The CPU's flash kernel takes both, and is faster without the copies.
    const bool grouped_kernel = H != Hkv && device_.is_cpu();
    if (H != Hkv && !grouped_kernel) {
      k = k.repeat_interleave(H / Hkv, 1);
      v = v.repeat_interleave(H / Hkv, 1);
    }
    out = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale, grouped_kernel);
  }
  return out;
}

at::Tensor Transformer::mlp(const Layer& layer, const at::Tensor& x, bool few_rows) const {
  at::Tensor h = norm(x, layer.mlp_norm_weight, layer.mlp_norm_bias);
  if (config_.mlp == MlpKind::GatedSilu) {
    h = swiglu(product(h, layer.gate_up_weight, layer.gate_up_bias, few_rows));
  } else {
    h = gelu_new(product(h, layer.up_weight, layer.up_bias, few_rows));
  }
  return product(h, layer.down_weight, layer.down_bias, few_rows);
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

at::Tensor Transformer::forward(const ForwardInputs& inputs) const {
  const at::Tensor& embeddings = inputs.embeddings;
  const int64_t B = embeddings.size(0), S = embeddings.size(1);
  KeyValueCache* cache = inputs.cache;
  const int64_t P = inputs.kv_prefix ? inputs.kv_prefix->front().key.size(2) : cache ? cache->length : 0;
  const bool packed = !inputs.row_lengths.empty();
  if (inputs.kv_prefix && static_cast<int64_t>(inputs.kv_prefix->size()) != config_.num_layers)
    fail(ErrorKind::Internal, "key/value prefix has the wrong number of layers");
  if (cache && (inputs.kv_prefix || static_cast<int64_t>(cache->keys.size()) != config_.num_layers ||
                cache->length + S > cache->capacity() || B > cache->keys.front().size(0)))
    fail(ErrorKind::Internal, "the key/value cache does not fit the call");
  if (packed &&
      (B != 1 || cache || inputs.attention_mask.defined() || !inputs.position_ids.defined() ||
       std::accumulate(inputs.row_lengths.begin(), inputs.row_lengths.end(), int64_t{0}) != S ||
       (inputs.kv_prefix && inputs.kv_prefix->front().key.size(0) != static_cast<int64_t>(inputs.row_lengths.size()))))
    fail(ErrorKind::Internal, "packed rows do not fit the call");
  refuse_applying_window(P + (packed ? *std::max_element(inputs.row_lengths.begin(), inputs.row_lengths.end()) : S));

  at::Tensor positions = inputs.position_ids;
  if (!positions.defined()) {
    if (config_.position == PositionKind::Learned && P + S > config_.max_position_embeddings)
      fail(ErrorKind::OutOfRange, "sequence of " + std::to_string(P + S) + " positions exceeds the model's " +
                                      std::to_string(config_.max_position_embeddings) + " learned positions");
    positions = at::arange(P, P + S, at::TensorOptions().dtype(at::kLong).device(device_)).unsqueeze(0).expand({B, S});
  }

  at::Tensor x = embeddings;
  at::Tensor cos, sin;
  if (config_.position == PositionKind::Learned) {
    x = x + at::embedding(position_embedding_, positions);
  } else {
    // transformers' dynamic rope length, max(position_ids) + 1: known on the host for the default
    // positions, so only explicit ones cost a device read.
    const int64_t seq_len =
        inputs.position_ids.defined() && config_.rope.type == "dynamic" ? positions.max().item<int64_t>() + 1 : P + S;
    std::tie(cos, sin) = rotary_cos_sin(positions, seq_len);
  }

  // Without padding no mask is needed: a single query (a decoding step) sees every earlier key, and
  // on CUDA attention() gives longer calls their causal rule behind up to S earlier keys. The CPU's
  // fused kernel is faster with a mask than with placeholder queries.
  at::Tensor mask;
  if (!packed && (inputs.attention_mask.defined() || prefix_needs_mask(P, S)))
    mask = build_attention_mask(inputs.attention_mask, S, P, device_);

  for (std::size_t index = 0; index < layers_.size(); ++index) {
    const Layer& layer = layers_[index];
    EarlierKeys earlier;
    if (inputs.kv_prefix) earlier.prefix = &(*inputs.kv_prefix)[index];
    earlier.keys_out = inputs.keys_out;
    if (packed) earlier.row_lengths = &inputs.row_lengths;
    if (cache) {
      earlier.cache_keys = cache->keys[index].narrow(0, 0, B);
      earlier.cache_values = cache->values[index].narrow(0, 0, B);
      earlier.cache_length = P;
    }
    x = x + attention(layer, x, cos, sin, mask, earlier, inputs.few_rows);
    x = x + mlp(layer, x, inputs.few_rows);
  }
  if (cache) cache->length += S;
  return norm(x, final_norm_weight_, final_norm_bias_);
}

}  // namespace sp::model
