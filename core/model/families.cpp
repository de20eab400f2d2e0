#include "model/families.h"

#include "model/config_reader.h"
#include "util/errors.h"

namespace sp::model {

namespace {

std::string layer_prefix(const char* stem, int64_t layer) { return std::string(stem) + std::to_string(layer) + "."; }

// --- RoPE: both the transformers-5 form ("rope_parameters") and the older one ("rope_theta" +
// "rope_scaling") are found in the wild; real Llama-3 checkpoints use the older one.
void read_rope(const ConfigReader& reader, RopeConfig& rope) {
  const nlohmann::json* parameters = reader.object("rope_parameters");
  const nlohmann::json* scaling = parameters ? parameters : reader.object("rope_scaling");
  rope.theta = reader.number("rope_theta", 10000.0);
  if (!scaling) return;
  ConfigReader scaling_reader(*scaling, reader.source() + (parameters ? " rope_parameters" : " rope_scaling"));
  rope.theta = scaling_reader.number("rope_theta", rope.theta);
  rope.type = scaling_reader.string("rope_type", scaling_reader.string("type", "default"));
  if (scaling_reader.number("partial_rotary_factor", 1.0) != 1.0)
    scaling_reader.unsupported("partial_rotary_factor other than 1 is not supported");
  if (rope.type == "default") return;
  if (rope.type != "llama3") scaling_reader.unsupported("unsupported rope_type \"" + rope.type + "\" (supported: default, llama3)");
  rope.factor = scaling_reader.number("factor", 8.0);
  rope.low_freq_factor = scaling_reader.number("low_freq_factor", 1.0);
  rope.high_freq_factor = scaling_reader.number("high_freq_factor", 4.0);
  rope.original_max_position_embeddings =
      scaling_reader.integer("original_max_position_embeddings", reader.integer("max_position_embeddings", 8192));
  if (rope.factor <= 0 || rope.high_freq_factor <= rope.low_freq_factor)
    scaling_reader.unsupported("llama3 rope scaling needs factor > 0 and high_freq_factor > low_freq_factor");
}

// --- llama (also Mistral-shaped configs without sliding windows) and qwen2 share one reader.
void read_llama_like(const ConfigReader& reader, ModelConfig& config, int64_t default_max_positions) {
  config.vocab_size = reader.integer("vocab_size");
  config.hidden_size = reader.integer("hidden_size");
  config.num_layers = reader.integer("num_hidden_layers");
  config.num_heads = reader.integer("num_attention_heads");
  config.num_kv_heads = reader.integer("num_key_value_heads", config.num_heads);
  config.head_dim = reader.integer("head_dim", config.num_heads > 0 ? config.hidden_size / config.num_heads : 0);
  config.intermediate_size = reader.integer("intermediate_size");
  config.max_position_embeddings = reader.integer("max_position_embeddings", default_max_positions);
  config.norm_eps = reader.number("rms_norm_eps", 1e-6);
  config.norm = NormKind::RmsNorm;
  config.position = PositionKind::Rotary;
  config.mlp = MlpKind::GatedSilu;
  config.tie_word_embeddings = reader.boolean("tie_word_embeddings", false);
  const std::string activation = reader.string("hidden_act", "silu");
  if (activation != "silu") reader.unsupported("unsupported hidden_act \"" + activation + "\" (supported: silu)");
  read_rope(reader, config.rope);
}

void read_llama(const ConfigReader& reader, ModelConfig& config) {
  read_llama_like(reader, config, 2048);
  config.attention_qkv_bias = config.attention_output_bias = reader.boolean("attention_bias", false);
  config.mlp_bias = reader.boolean("mlp_bias", false);
  if (reader.has("sliding_window") && reader.boolean("use_sliding_window", true) && reader.integer("sliding_window", 0) > 0)
    reader.unsupported("sliding-window attention is not supported");
}

void read_qwen2(const ConfigReader& reader, ModelConfig& config) {
  read_llama_like(reader, config, 32768);
  config.attention_qkv_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias
  config.attention_output_bias = false;
  if (reader.boolean("use_sliding_window", false)) reader.unsupported("sliding-window attention is not supported");
}

ModelWeightNames llama_model_names() {
  ModelWeightNames names;
  names.token_embedding = "model.embed_tokens.weight";
  names.final_norm_weight = "model.norm.weight";
  names.lm_head = "lm_head.weight";
  return names;
}

LayerWeightNames llama_layer_names(int64_t layer, const ModelConfig& config) {
  const std::string p = layer_prefix("model.layers.", layer);
  LayerWeightNames names;
  names.attn_norm_weight = p + "input_layernorm.weight";
  names.q_weight = p + "self_attn.q_proj.weight";
  names.k_weight = p + "self_attn.k_proj.weight";
  names.v_weight = p + "self_attn.v_proj.weight";
  if (config.attention_qkv_bias) {
    names.q_bias = p + "self_attn.q_proj.bias";
    names.k_bias = p + "self_attn.k_proj.bias";
    names.v_bias = p + "self_attn.v_proj.bias";
  }
  names.o_weight = p + "self_attn.o_proj.weight";
  if (config.attention_output_bias) names.o_bias = p + "self_attn.o_proj.bias";
  names.mlp_norm_weight = p + "post_attention_layernorm.weight";
  names.gate_weight = p + "mlp.gate_proj.weight";
  names.up_weight = p + "mlp.up_proj.weight";
  names.down_weight = p + "mlp.down_proj.weight";
  if (config.mlp_bias) {
    names.up_bias = p + "mlp.up_proj.bias";
    names.down_bias = p + "mlp.down_proj.bias";
  }
  return names;
}

// --- gpt2
void read_gpt2(const ConfigReader& reader, ModelConfig& config) {
  config.vocab_size = reader.integer("vocab_size");
  config.hidden_size = reader.integer("n_embd");
  config.num_layers = reader.integer("n_layer");
  config.num_heads = config.num_kv_heads = reader.integer("n_head");
  config.head_dim = config.num_heads > 0 ? config.hidden_size / config.num_heads : 0;
  config.intermediate_size = reader.integer("n_inner", 4 * config.hidden_size);
  config.max_position_embeddings = reader.integer("n_positions", 1024);
  config.norm_eps = reader.number("layer_norm_epsilon", 1e-5);
  config.norm = NormKind::LayerNorm;
  config.position = PositionKind::Learned;
  config.mlp = MlpKind::GeluNew;
  config.attention_qkv_bias = config.attention_output_bias = config.mlp_bias = true;
  config.tie_word_embeddings = reader.boolean("tie_word_embeddings", true);
  const std::string activation = reader.string("activation_function", "gelu_new");
  if (activation != "gelu_new") reader.unsupported("unsupported activation_function \"" + activation + "\" (supported: gelu_new)");
  if (!reader.boolean("scale_attn_weights", true)) reader.unsupported("scale_attn_weights = false is not supported");
  if (reader.boolean("scale_attn_by_inverse_layer_idx", false))
    reader.unsupported("scale_attn_by_inverse_layer_idx is not supported");
  if (reader.boolean("add_cross_attention", false)) reader.unsupported("cross-attention is not supported");
  if (config.num_heads > 0 && config.hidden_size % config.num_heads != 0)
    fail(ErrorKind::Format, reader.source() + ": n_embd is not a multiple of n_head");
}

ModelWeightNames gpt2_model_names() {
  ModelWeightNames names;
  names.token_embedding = "wte.weight";
  names.position_embedding = "wpe.weight";
  names.final_norm_weight = "ln_f.weight";
  names.final_norm_bias = "ln_f.bias";
  names.lm_head = "lm_head.weight";
  names.transposed_matrices = true;
  return names;
}

LayerWeightNames gpt2_layer_names(int64_t layer, const ModelConfig&) {
  const std::string p = layer_prefix("h.", layer);
  LayerWeightNames names;
  names.attn_norm_weight = p + "ln_1.weight";
  names.attn_norm_bias = p + "ln_1.bias";
  names.fused_qkv_weight = p + "attn.c_attn.weight";
  names.fused_qkv_bias = p + "attn.c_attn.bias";
  names.o_weight = p + "attn.c_proj.weight";
  names.o_bias = p + "attn.c_proj.bias";
  names.mlp_norm_weight = p + "ln_2.weight";
  names.mlp_norm_bias = p + "ln_2.bias";
  names.up_weight = p + "mlp.c_fc.weight";
  names.up_bias = p + "mlp.c_fc.bias";
  names.down_weight = p + "mlp.c_proj.weight";
  names.down_bias = p + "mlp.c_proj.bias";
  return names;
}

const Family kFamilies[] = {
    {"gpt2", read_gpt2, gpt2_model_names, gpt2_layer_names},
    {"llama", read_llama, llama_model_names, llama_layer_names},
    {"qwen2", read_qwen2, llama_model_names, llama_layer_names},
};

}  // namespace

const Family* find_family(const std::string& model_type) {
  for (const auto& family : kFamilies)
    if (model_type == family.model_type) return &family;
  return nullptr;
}

std::string supported_model_types() {
  std::string list;
  for (const auto& family : kFamilies) list += (list.empty() ? "" : ", ") + std::string(family.model_type);
  return list;
}

std::vector<std::string> checkpoint_prefixes(const ModelConfig& config) {
  if (config.model_type == "gpt2") return {"", "transformer."};
  return {""};
}

}  // namespace sp::model
