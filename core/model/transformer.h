// A frozen decoder-only transformer: one block implementation, parameterised by ModelConfig.
// Immutable after loading, so any number of threads may run forward passes at once.
//
// Soft prompts enter through ForwardInputs in the three ways PEFT uses:
//   - input embeddings instead of token ids (prompt tuning, P-tuning, MPT prepend vectors),
//   - an attention mask and explicit position ids,
//   - a per-layer key/value prefix (prefix tuning), used as already-rotated cache entries.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace sp::model {

// One layer's key/value prefix: key and value are (batch, num_kv_heads, prefix_length, head_dim).
struct KeyValuePrefix {
  at::Tensor key;
  at::Tensor value;
};

// Keys and values kept between calls (generation): per layer (rows, num_kv_heads, capacity, head_dim)
// in the model dtype, allocated once. Slots [0, length) hold entries; a call appends its S
// positions' keys and values at `length` and attends over [0, length + S). A call may use fewer
// rows than were allocated (the first ones).
struct KeyValueCache {
  std::vector<at::Tensor> keys, values;
  int64_t length = 0;
  int64_t capacity() const { return keys.empty() ? 0 : keys.front().size(2); }
};

struct ForwardInputs {
  at::Tensor embeddings;      // (B, S, hidden) in the model's dtype and device
  at::Tensor attention_mask;  // (B, P + S), nonzero = may be attended to; undefined = everything visible
  at::Tensor position_ids;    // (B, S) int64; undefined = P, P+1, ..., P+S-1
  // P, the earlier positions every query sees: a prefix (prefix tuning, never rotated) or a cache
  // (whose length is P; this call's keys and values are appended to it). At most one of the two.
  const std::vector<KeyValuePrefix>* kv_prefix = nullptr;  // one entry per layer, or nullptr
  KeyValueCache* cache = nullptr;
  // A decoding step (one token per row, no gradient): the products take few_rows_linear.
  bool few_rows = false;
  // When set, receives each layer's keys and values of this call's positions, rotated, as a
  // KeyValuePrefix for a later call (prompt methods' virtual tokens, computed once per prompt).
  std::vector<KeyValuePrefix>* keys_out = nullptr;
  // Packed rows (training and evaluation of padded batches, whose padding then costs nothing):
  // embeddings (1, N, hidden) hold the rows' tokens one row after another, row_lengths (on the
  // host) how many each row has, summing to N. Each row attends only to its own tokens and to its
  // row of kv_prefix (one row per packed row). Needs position_ids (1, N); no mask, no cache.
  std::vector<int64_t> row_lengths;
};

class Transformer {
 public:
  // Reads a Hugging Face model folder (config.json and safetensors weights) or a GGUF file
  // (model/weight_source.h).
  static std::shared_ptr<const Transformer> load(const std::string& path, at::Device device, at::ScalarType dtype);

  const ModelConfig& config() const { return config_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  // The folder or GGUF file the model was loaded from.
  const std::string& folder() const { return folder_; }
  // The fingerprint of the token embedding's stored bytes (dtype, shape, 64 evenly spaced rows) that
  // single files before format version 2 record; "" for GGUF models.
  const std::string& embedding_fingerprint() const { return embedding_fingerprint_; }
  // The sampled values of the token embedding as stored (model/embedding_sample.h), independent of
  // the dtype the model was loaded in; adapter files record it.
  const std::vector<float>& embedding_sample() const { return embedding_sample_; }

  // (B, S) int64 ids -> (B, S, hidden) in the model dtype (the word embeddings only; learned
  // positions are added inside forward, to every input position including prepended prompts).
  at::Tensor embed_tokens(const at::Tensor& ids) const;

  // Final hidden states after the last norm, (B, S, hidden). Throws Unsupported when the model's
  // sliding window applies to the call (more attended positions, prefix included, than the window).
  at::Tensor forward(const ForwardInputs& inputs) const;
  // Hidden states -> logits over the vocabulary, (..., vocab_size), in the model dtype. `few_rows`:
  // as ForwardInputs::few_rows.
  at::Tensor lm_head(const at::Tensor& hidden, bool few_rows = false) const;
  // The output layer's weight, (vocab_size, hidden) in the model dtype (the token embedding when tied).
  const at::Tensor& lm_head_weight() const { return lm_head_weight_; }
  // An empty cache for `rows` rows of `capacity` positions (OutOfMemory when it cannot be allocated).
  KeyValueCache allocate_cache(int64_t rows, int64_t capacity) const;

  struct Layer {
    at::Tensor attn_norm_weight, attn_norm_bias;
    at::Tensor qkv_weight, qkv_bias;  // q, k, v fused along the output axis
    at::Tensor o_weight, o_bias;
    at::Tensor mlp_norm_weight, mlp_norm_bias;
    at::Tensor gate_up_weight, gate_up_bias;  // GatedSilu: gate and up fused along the output axis
    at::Tensor up_weight, up_bias;            // GeluNew
    at::Tensor down_weight, down_bias;
  };

 private:
  Transformer() = default;
  friend class TransformerLoader;

  at::Tensor norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) const;
  // The keys and values a layer's queries see besides the call's own: `prefix` is concatenated in
  // front; with `cache`, the call's own are written into its slots from `cache_length` first.
  struct EarlierKeys {
    const KeyValuePrefix* prefix = nullptr;
    at::Tensor cache_keys, cache_values;  // this layer's cache, narrowed to the call's rows
    int64_t cache_length = 0;
    std::vector<KeyValuePrefix>* keys_out = nullptr;    // ForwardInputs::keys_out
    const std::vector<int64_t>* row_lengths = nullptr;  // ForwardInputs::row_lengths, when packed
  };
  at::Tensor attention(const Layer& layer, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                       const at::Tensor& mask, const EarlierKeys& earlier, bool few_rows) const;
  // Scaled dot-product attention of q (B, H, S, hd) over k, v (B, kv_heads, P + S, hd): `mask`
  // (B or 1, 1, S, P + S) when given, else every query sees the P earlier keys and its causal past.
  at::Tensor attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& mask) const;
  // Whether S queries behind P earlier keys (and no padding) need an explicit mask: on the CPU (its
  // fused kernel is faster with one) and where P > S; else attend() gives the causal rule itself.
  bool prefix_needs_mask(int64_t P, int64_t S) const;
  at::Tensor mlp(const Layer& layer, const at::Tensor& x, bool few_rows) const;
  at::Tensor product(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool few_rows) const;
  // `seq_len`: max(positions) + 1, the length dynamic rope scales for.
  std::pair<at::Tensor, at::Tensor> rotary_cos_sin(const at::Tensor& positions, int64_t seq_len) const;
  void refuse_applying_window(int64_t attended_positions) const;

  ModelConfig config_;
  std::string folder_;
  std::string embedding_fingerprint_;
  std::vector<float> embedding_sample_;
  at::Device device_ = at::kCPU;
  at::ScalarType dtype_ = at::kFloat;
  at::Tensor token_embedding_, position_embedding_, final_norm_weight_, final_norm_bias_, lm_head_weight_;
  at::Tensor rope_inv_freq_;  // float32, (head_dim / 2); "dynamic" rope recomputes them for long calls
  std::vector<Layer> layers_;
};

}  // namespace sp::model
