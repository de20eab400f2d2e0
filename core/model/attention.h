// Multi-head attention as one building block for every topology: causal (decoders) or
// bidirectional (encoders), with grouped key/value heads, rotary positions, a key/value prefix
// (prefix tuning, prompt methods' virtual tokens), a key/value cache (generation) and packed rows
// (a padded batch's real tokens one row after another).
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "model/blocks.h"

namespace sp::model {

// One layer's key/value prefix: key and value are (batch, num_kv_heads, prefix_length, head_dim).
struct KeyValuePrefix {
  at::Tensor key;
  at::Tensor value;
};

// The keys and values a layer's queries see besides the call's own: `prefix` is concatenated in
// front; with `cache`, the call's own are written into its slots from `cache_length` first.
struct EarlierKeys {
  const KeyValuePrefix* prefix = nullptr;
  at::Tensor cache_keys, cache_values;  // this layer's cache, narrowed to the call's rows
  int64_t cache_length = 0;
  // When set, receives this layer's keys and values of the call's positions, rotated.
  std::vector<KeyValuePrefix>* keys_out = nullptr;
  // Packed rows: the real tokens of each row, one row after another (ForwardInputs::row_lengths).
  const std::vector<int64_t>* row_lengths = nullptr;
};

struct SelfAttention {
  int64_t num_heads = 0, num_kv_heads = 0, head_dim = 0;
  bool causal = true;     // a query sees only keys at or before its own position (and every earlier key)
  bool unscaled = false;  // scores are q.k (T5) instead of q.k / sqrt(head_dim)
  Linear qkv;             // q, k, v fused along the output axis
  Linear output;

  // Attention of the (already normalised) x (B, S, hidden) over the earlier keys and its own.
  // cos, sin: rotary embedding (undefined: no rotation). mask: (B or 1, 1, S, P + S) booleans, true =
  // may attend, or (B or 1, H, S, P + S) floats added to the scores (a relative position bias with
  // -inf where a key is hidden); undefined: see attend().
  at::Tensor operator()(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& mask,
                        const EarlierKeys& earlier, bool few_rows) const;
  // Scaled dot-product attention of q (B, H, S, hd) over k, v (B, kv_heads, P + S, hd) with `mask`;
  // without one, every query sees the P earlier keys and (causal) its own past or (bidirectional)
  // every key.
  at::Tensor attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& mask) const;
  // Whether S unpadded queries behind P earlier keys need an explicit mask for the causal rule: on
  // the CPU (its fused kernel is faster with one) and where P > S; else attend() gives the rule itself.
  bool prefix_needs_mask(int64_t P, int64_t S, at::Device device) const;
  double score_scale() const;
};

// Attention of a decoder's positions over the encoder's output (T5's EncDecAttention): queries from
// the decoder, keys and values from the encoder output, computed once per encoded batch (memory()).
struct CrossAttention {
  int64_t num_heads = 0, head_dim = 0;
  bool unscaled = false;
  Linear query;
  Linear key_value;  // k, v fused along the output axis
  Linear output;

  // The encoder output's keys and values, (B, num_heads, S_enc, head_dim) each.
  KeyValuePrefix memory(const at::Tensor& encoder_hidden) const;
  // x (B, S, hidden), already normalised; mask: (B or 1, 1, S or 1, S_enc) booleans over the
  // encoder's positions, or undefined (all visible).
  at::Tensor operator()(const at::Tensor& x, const KeyValuePrefix& memory, const at::Tensor& mask, bool few_rows) const;
};

// Boolean (B or 1, 1, S, P + S) mask, true = may attend: every query sees the P earlier keys and, when
// causal, the keys at or before its own position (else all S), minus keys key_mask (B, P + S) zeroes.
// A query left with nothing to see (a pad before any real token) sees every key instead, as
// transformers lets it, except `absent_keys` (B, P), earlier slots its row does not have at all.
at::Tensor build_attention_mask(const at::Tensor& key_mask, int64_t S, int64_t P, at::Device device, bool causal,
                                const at::Tensor& absent_keys = {});

}  // namespace sp::model
