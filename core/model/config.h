// What a frozen base model is: sizes and the few switches in which the supported families differ.
// Parsed from a Hugging Face `config.json`; the per-family rules live in model/families.cpp.
//
// Every key that changes the forward pass in transformers' modeling code for these families is either
// represented here (and implemented) or refused by the family reader with Unsupported; the sizes are
// checked against plausible bounds (kMax* below) before anything is allocated from them.
#pragma once

#include <cstdint>
#include <string>

namespace sp::model {

enum class NormKind { RmsNorm, LayerNorm };
// Rotary (llama), learned absolute (gpt2, bert), or T5's bucketed relative bias added to the
// attention scores (shared by the layers of a stack, computed from its first layer's table).
enum class PositionKind { Rotary, Learned, RelativeBias };
enum class MlpKind {
  GatedSilu /* SwiGLU: down(silu(gate(x)) * up(x)) */,
  GeluNew /* down(gelu_tanh(up(x))): GPT-2 */,
  Gelu /* down(gelu_erf(up(x))): BERT, RoBERTa */,
  Relu /* down(relu(up(x))): T5 v1 */,
  GatedGeluNew /* down(gelu_tanh(gate(x)) * up(x)): T5 v1.1, Flan-T5 */
};
// How the blocks are composed (one forward each): pre-norm causal blocks with a final norm
// (decoders), embeddings normalised then post-norm bidirectional blocks (BERT-style encoders), or
// a pre-norm bidirectional encoder whose output every block of a pre-norm causal decoder attends to
// (T5).
enum class Topology { DecoderOnly, EncoderOnly, EncoderDecoder };

// RoPE frequency rules as Hugging Face names them (`rope_type`): "default", "linear", "dynamic",
// "yarn" or "llama3". Fields unused by a type keep their defaults.
struct RopeConfig {
  std::string type = "default";
  double theta = 10000.0;
  double factor = 1.0;                           // linear, dynamic, yarn, llama3
  double low_freq_factor = 1.0;                  // llama3
  double high_freq_factor = 4.0;                 // llama3
  int64_t original_max_position_embeddings = 0;  // llama3, yarn
  double beta_fast = 32.0, beta_slow = 1.0;      // yarn: the ramp's boundaries in rotations
  bool truncate = true;                          // yarn: round the ramp's boundaries outwards
  double attention_factor = 1.0;                 // yarn: multiplies cos and sin (resolved at parse time)
};

struct ModelConfig {
  std::string model_type;  // "llama", "mistral", "qwen2", "gpt2", "bert", "roberta", "t5" (config.json's)
  Topology topology = Topology::DecoderOnly;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;  // the encoder's for encoder-decoder models (PEFT's num_layers)
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  double norm_eps = 1e-5;
  NormKind norm = NormKind::RmsNorm;
  PositionKind position = PositionKind::Rotary;
  MlpKind mlp = MlpKind::GatedSilu;
  bool attention_qkv_bias = false;
  bool attention_output_bias = false;
  bool mlp_bias = false;  // gated MLP: gate, up and down; GeluNew: up and down
  bool tie_word_embeddings = false;
  RopeConfig rope;
  // Sliding-window attention as transformers applies it: a query sees only the `sliding_window` most
  // recent keys (itself included), on every layer (mistral) or on those layer_types or
  // max_window_layers mark (qwen2). 0 = no layer has one.
  int64_t sliding_window = 0;
  // Encoders: token-type (segment) embeddings added to every position (0 = none), and where learned
  // positions start (RoBERTa numbers them from pad_token_id + 1).
  int64_t type_vocab_size = 0;
  int64_t position_offset = 0;
  int64_t pad_token_id = -1;  // -1: none
  // The standard deviation transformers draws a missing head's weights with (config.json
  // "initializer_range"): a classification head starts from it.
  double initializer_range = 0.02;
  // Encoder-decoder models (T5): the decoder's layers, the relative-bias buckets and the distance
  // from which they all share the last one, the token the decoder starts from, and whether the
  // decoder output is scaled by hidden_size^-0.5 before the output layer (T5 v1: tied embeddings).
  int64_t num_decoder_layers = 0;
  int64_t relative_attention_num_buckets = 0;
  int64_t relative_attention_max_distance = 0;
  int64_t decoder_start_token_id = -1;
  bool scale_decoder_output = false;
  // Attention scores are q.k / sqrt(head_dim), except in T5 (q.k: its initialisation folds the
  // scale into the weights).
  bool unscaled_attention = false;

  // The layers of the stack a causal language-model step runs through: the decoder's.
  int64_t generating_layers() const { return topology == Topology::EncoderDecoder ? num_decoder_layers : num_layers; }
};

// Plausible upper bounds of the sizes a config.json may state (far above any released model of these
// families, far below what would exhaust a machine's memory or overflow a product of two of them).
constexpr int64_t kMaxVocabSize = int64_t{1} << 24;
constexpr int64_t kMaxHiddenSize = int64_t{1} << 17;
constexpr int64_t kMaxLayers = int64_t{1} << 12;
constexpr int64_t kMaxHeads = int64_t{1} << 12;
constexpr int64_t kMaxHeadDim = int64_t{1} << 12;
constexpr int64_t kMaxIntermediateSize = int64_t{1} << 20;
constexpr int64_t kMaxPositions = int64_t{1} << 31;

// Parses config.json text. Throws Unsupported for an unknown model_type or feature, Format for
// missing, ill-typed or impossible values (including sizes beyond the bounds above).
ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name);

}  // namespace sp::model
