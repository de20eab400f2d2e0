// A frozen transformer: the building blocks of model/blocks.h and model/attention.h composed by one
// forward per topology (model/decoder_stack.cpp: llama, mistral, qwen2, gpt2; model/encoder_stack.cpp:
// bert, roberta; model/encoder_decoder_stack.cpp: t5), loaded by model/loader.cpp from the names the
// family table gives.
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

#include "model/attention.h"
#include "model/blocks.h"
#include "model/config.h"

namespace sp::model {

// Keys and values kept between calls (generation): per layer (rows, num_kv_heads, capacity, head_dim)
// in the model dtype, allocated once. Slots [0, length) hold entries; a call appends its S
// positions' keys and values at `length` and attends over [0, length + S). A call may use fewer
// rows than were allocated (the first ones).
struct KeyValueCache {
  std::vector<at::Tensor> keys, values;
  int64_t length = 0;
  int64_t capacity() const { return keys.empty() ? 0 : keys.front().size(2); }
};

// What the decoder of an encoder-decoder model attends to: every decoder layer's keys and values of
// the encoder output (computed once per encoded batch; generation reuses them at every step) and
// which encoder positions are real.
struct EncoderMemory {
  std::vector<KeyValuePrefix> cross;  // one per decoder layer, (B, heads, S_enc, head_dim)
  at::Tensor visible;                 // (B, 1, 1, S_enc) booleans; undefined = every position real
  // The first `rows` rows (a generation call may use fewer rows than it encoded).
  EncoderMemory first_rows(int64_t rows) const;
};

struct ForwardInputs {
  at::Tensor embeddings;      // (B, S, hidden) in the model's dtype and device
  at::Tensor token_type_ids;  // (B, S) int64, encoders with token types only; undefined = all 0
  at::Tensor attention_mask;  // (B, P + S), nonzero = may be attended to; undefined = everything visible
  // (B, P) true where a row has no such earlier key (mixed-adapter batches pad shorter prefixes to
  // the longest): hidden by attention_mask too, and never seen even by a query that sees nothing
  // else (see build_attention_mask). Undefined: every row has all P.
  at::Tensor absent_keys;
  at::Tensor position_ids;  // (B, S) int64; undefined = P, P+1, ..., P+S-1 (plus config().position_offset)
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
  // Encoder-decoder models: set, the call runs the decoder over this memory (a prefix and a cache
  // are the decoder self-attention's); unset, it runs the encoder.
  const EncoderMemory* encoder = nullptr;
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

  // Final hidden states, (B, S, hidden): after the last norm (decoders, and each stack of an
  // encoder-decoder model), the last block's output (encoders). Throws Unsupported when the model's
  // sliding window applies to the call (more attended positions, prefix included, than the window).
  at::Tensor forward(const ForwardInputs& inputs) const;
  // Encoder-decoder models: what the decoder needs from the encoder's output (B, S_enc, hidden) and
  // its key mask (B, S_enc) (nonzero = real; undefined = all real).
  EncoderMemory encoder_memory(const at::Tensor& encoder_hidden, const at::Tensor& encoder_mask) const;
  // Whether the model has an output layer over the vocabulary (the decoders; an encoder's
  // checkpoint may hold a masked-LM head, which softprompt does not run).
  bool has_lm_head() const { return lm_head_weight_.defined(); }
  // Hidden states -> logits over the vocabulary, (..., vocab_size), in the model dtype (T5 v1 first
  // scales them by hidden_size^-0.5). `few_rows`: as ForwardInputs::few_rows. Decoders only
  // (has_lm_head()).
  at::Tensor lm_head(const at::Tensor& hidden, bool few_rows = false) const;
  // What the output layer multiplies: the hidden states, scaled by hidden_size^-0.5 where the model
  // says so (T5 v1). Losses that apply lm_head_weight() themselves start from it.
  at::Tensor output_layer_input(const at::Tensor& hidden) const;
  // The output layer's weight, (vocab_size, hidden) in the model dtype (the token embedding when
  // tied); undefined without one.
  const at::Tensor& lm_head_weight() const { return lm_head_weight_; }
  // BERT's pooler (dense + tanh over the first position's hidden state), part of the frozen base
  // model; its weight is undefined for families without one.
  const Linear& pooler() const { return pooler_; }
  // An empty cache for `rows` rows of `capacity` positions of the stack that generates (the decoder)
  // (OutOfMemory when it cannot be allocated).
  KeyValueCache allocate_cache(int64_t rows, int64_t capacity) const;

  // One layer: attention and feed-forward, each with its norm (before it in decoders, after the
  // residual sum in encoders); an encoder-decoder model's decoder layers attend to the encoder
  // output in between.
  struct Block {
    Norm attention_norm;
    SelfAttention attention;
    Norm cross_norm;
    CrossAttention cross;
    Norm mlp_norm;
    FeedForward mlp;
  };

 private:
  Transformer() = default;
  friend class TransformerLoader;

  // The topologies' forwards over checked inputs, `positions` (B, S) and the P earlier positions.
  at::Tensor decoder_forward(const ForwardInputs& inputs, const at::Tensor& positions, int64_t P) const;
  at::Tensor encoder_forward(const ForwardInputs& inputs, const at::Tensor& positions, int64_t P) const;
  at::Tensor encoder_decoder_forward(const ForwardInputs& inputs, int64_t P) const;
  // Per-layer view of the earlier keys (prefix, cache, packing) for layer `index`.
  EarlierKeys earlier_keys(const ForwardInputs& inputs, std::size_t index, int64_t P) const;
  // `seq_len`: max(positions) + 1, the length dynamic rope scales for.
  std::pair<at::Tensor, at::Tensor> rotary_cos_sin(const at::Tensor& positions, int64_t seq_len) const;
  void refuse_applying_window(int64_t attended_positions) const;

  ModelConfig config_;
  std::string folder_;
  std::string embedding_fingerprint_;
  std::vector<float> embedding_sample_;
  at::Device device_ = at::kCPU;
  at::ScalarType dtype_ = at::kFloat;
  at::Tensor token_embedding_, position_embedding_, token_type_embedding_, lm_head_weight_;
  Norm final_norm_;          // decoders, and the encoder of encoder-decoder models: after the last block
  Norm decoder_final_norm_;  // encoder-decoder models
  Norm embedding_norm_;      // encoders: after the embeddings' sum
  Linear pooler_;
  at::Tensor rope_inv_freq_;           // float32, (head_dim / 2); "dynamic" rope recomputes them for long calls
  std::vector<Block> layers_;          // the encoder's in encoder-decoder models
  std::vector<Block> decoder_layers_;  // encoder-decoder models
  // Encoder-decoder models: each stack's relative-bias table, (buckets, heads).
  at::Tensor encoder_relative_bias_, decoder_relative_bias_;
};

}  // namespace sp::model
