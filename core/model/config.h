// What a frozen base model is: sizes and the few switches in which the supported families differ.
// Parsed from a Hugging Face `config.json`; the per-family rules live in model/families.cpp.
#pragma once

#include <cstdint>
#include <string>

namespace sp::model {

enum class NormKind { RmsNorm, LayerNorm };
enum class PositionKind { Rotary, Learned };
enum class MlpKind { GatedSilu /* SwiGLU: down(silu(gate(x)) * up(x)) */, GeluNew /* down(gelu_tanh(up(x))) */ };

// RoPE frequency rules as Hugging Face names them (`rope_type`): "default" or "llama3".
struct RopeConfig {
  std::string type = "default";
  double theta = 10000.0;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;
};

struct ModelConfig {
  std::string model_type;  // "llama", "qwen2", "gpt2" (the config.json value)
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
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
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  RopeConfig rope;
};

// Parses config.json text. Throws Unsupported for an unknown model_type or feature
// (e.g. sliding-window attention), Format for missing or ill-typed keys.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name);

}  // namespace sp::model
