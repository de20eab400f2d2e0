#include "model/families.h"

#include <cmath>

#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::model {

namespace {

std::string layer_prefix(const char* stem, int64_t layer) { return std::string(stem) + std::to_string(layer) + "."; }

// --- RoPE: both the transformers-5 form ("rope_parameters") and the older one ("rope_theta" +
// "rope_scaling") are found in the wild; real Llama-3 checkpoints use the older one. Read as
// transformers' RotaryEmbeddingConfigMixin standardises them (modeling_rope_utils.py, 5.24).
const nlohmann::json* non_empty_object(const JsonReader& reader, const std::string& key) {
  const nlohmann::json* object = reader.object(key);
  return object && !object->empty() ? object : nullptr;
}

void refuse_partial_rotary(const JsonReader& reader) {
  if (reader.number("partial_rotary_factor", 1.0) != 1.0)
    reader.unsupported("partial_rotary_factor other than 1 is not supported");
}

// The pretraining context of llama3 and yarn: the rope dict's original_max_position_embeddings, else
// max_position_embeddings (transformers' standardisation; a top-level key of that name is not read).
int64_t original_context(const JsonReader& rope_reader, const ModelConfig& config) {
  return rope_reader.size("original_max_position_embeddings", kMaxPositions, config.max_position_embeddings);
}

double required_factor(const JsonReader& rope_reader, const std::string& type) {
  if (!rope_reader.has("factor")) rope_reader.format_error("rope type \"" + type + "\" needs \"factor\"");
  return rope_reader.positive("factor", 1.0);
}

// YaRN's attention factor: given, or 0.1 ln(factor) + 1 (scaled by mscale / mscale_all_dim when both are set).
double yarn_attention_factor(const JsonReader& rope_reader, double factor) {
  if (rope_reader.has("attention_factor")) return rope_reader.positive("attention_factor", 1.0);
  const double mscale = rope_reader.number("mscale", 0.0), mscale_all_dim = rope_reader.number("mscale_all_dim", 0.0);
  auto get_mscale = [factor](double m) { return factor <= 1 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; };
  const double value =
      mscale != 0 && mscale_all_dim != 0 ? get_mscale(mscale) / get_mscale(mscale_all_dim) : get_mscale(1.0);
  if (!std::isfinite(value) || value <= 0)
    rope_reader.format_error("mscale / mscale_all_dim give an attention factor of " + std::to_string(value) +
                             " (must be finite and > 0)");
  return value;
}

void read_rope(const JsonReader& reader, ModelConfig& config) {
  RopeConfig& rope = config.rope;
  refuse_partial_rotary(reader);
  rope.theta = reader.positive("rope_theta", 10000.0);
  // transformers: `rope_scaling or rope_parameters`, so a non-empty rope_scaling wins.
  const nlohmann::json* scaling = non_empty_object(reader, "rope_scaling");
  const nlohmann::json* dict = scaling ? scaling : non_empty_object(reader, "rope_parameters");
  if (!dict) return;
  JsonReader r(*dict, reader.source() + (scaling ? " rope_scaling" : " rope_parameters"));
  rope.theta = r.positive("rope_theta", rope.theta);
  rope.type = r.string("rope_type", r.string("type", "default"));
  refuse_partial_rotary(r);
  if (rope.type == "default") return;
  if (rope.type == "linear" || rope.type == "dynamic") {
    rope.factor = required_factor(r, rope.type);
  } else if (rope.type == "llama3") {
    rope.factor = r.positive("factor", 8.0);
    rope.low_freq_factor = r.positive("low_freq_factor", 1.0);
    rope.high_freq_factor = r.positive("high_freq_factor", 4.0);
    rope.original_max_position_embeddings = original_context(r, config);
    if (rope.high_freq_factor <= rope.low_freq_factor)
      r.format_error("llama3 rope scaling needs high_freq_factor > low_freq_factor, got " +
                     std::to_string(rope.high_freq_factor) + " <= " + std::to_string(rope.low_freq_factor));
  } else if (rope.type == "yarn") {
    rope.original_max_position_embeddings = original_context(r, config);
    if (!r.present("factor")) r.format_error("rope type \"yarn\" needs \"factor\"");
    // A null factor means max_position_embeddings / original_max_position_embeddings (transformers).
    rope.factor = r.has("factor") ? r.positive("factor", 1.0)
                                  : static_cast<double>(config.max_position_embeddings) /
                                        static_cast<double>(rope.original_max_position_embeddings);
    rope.attention_factor = yarn_attention_factor(r, rope.factor);
    // `beta_fast or 32`: zero (like null) means the default.
    const double beta_fast = r.number("beta_fast", 0.0), beta_slow = r.number("beta_slow", 0.0);
    rope.beta_fast = beta_fast != 0 ? beta_fast : 32.0;
    rope.beta_slow = beta_slow != 0 ? beta_slow : 1.0;
    if (!std::isfinite(rope.beta_fast) || rope.beta_fast < 0 || !std::isfinite(rope.beta_slow) || rope.beta_slow < 0)
      r.format_error("yarn beta_fast and beta_slow must be finite and > 0");
    rope.truncate = r.boolean("truncate", true);
  } else {
    r.unsupported("unsupported rope_type \"" + rope.type + "\" (supported: default, linear, dynamic, yarn, llama3)");
  }
}

// The window of a config's "sliding_window" key: transformers' class default when the key is absent,
// none (0) when it is null.
int64_t read_window(const JsonReader& reader, int64_t class_default) {
  if (!reader.present("sliding_window")) return class_default;
  return reader.has("sliding_window") ? reader.size("sliding_window", kMaxPositions) : 0;
}

struct LlamaLikeDefaults {
  int64_t max_positions;
  int64_t kv_heads_when_absent;  // 0 = num_attention_heads (a null value always means that)
};

// --- llama, mistral and qwen2 share one reader; the families differ in biases and windows.
void read_llama_like(const JsonReader& reader, ModelConfig& config, LlamaLikeDefaults defaults) {
  config.vocab_size = reader.size("vocab_size", kMaxVocabSize);
  config.hidden_size = reader.size("hidden_size", kMaxHiddenSize);
  config.num_layers = reader.size("num_hidden_layers", kMaxLayers);
  config.num_heads = reader.size("num_attention_heads", kMaxHeads);
  const int64_t absent_kv = defaults.kv_heads_when_absent ? defaults.kv_heads_when_absent : config.num_heads;
  config.num_kv_heads = reader.size("num_key_value_heads", kMaxHeads,
                                    reader.present("num_key_value_heads") ? config.num_heads : absent_kv);
  config.head_dim = reader.size("head_dim", kMaxHeadDim, config.hidden_size / config.num_heads);
  config.intermediate_size = reader.size("intermediate_size", kMaxIntermediateSize);
  config.max_position_embeddings = reader.size("max_position_embeddings", kMaxPositions, defaults.max_positions);
  config.norm_eps = reader.positive("rms_norm_eps", 1e-6);
  config.norm = NormKind::RmsNorm;
  config.position = PositionKind::Rotary;
  config.mlp = MlpKind::GatedSilu;
  config.tie_word_embeddings = reader.boolean("tie_word_embeddings", false);
  const std::string activation = reader.string("hidden_act", "silu");
  if (activation != "silu") reader.unsupported("unsupported hidden_act \"" + activation + "\" (supported: silu)");
  read_rope(reader, config);
  // Not refused, because transformers' modeling code for these families does not read them:
  // pretraining_tp (5.x never splits the projections), attention_dropout (training-mode dropout, which
  // this library never applies to the frozen model), and for llama every sliding-window key.
}

void read_llama(const JsonReader& reader, ModelConfig& config) {
  read_llama_like(reader, config, {2048, 0});
  config.attention_qkv_bias = config.attention_output_bias = reader.boolean("attention_bias", false);
  config.mlp_bias = reader.boolean("mlp_bias", false);
}

// Mistral: llama's weights without any bias (MistralAttention and MistralMLP have none, whatever
// attention_bias or mlp_bias say) and one sliding window on every layer (MistralModel ignores layer_types).
void read_mistral(const JsonReader& reader, ModelConfig& config) {
  read_llama_like(reader, config, {4096 * 32, 8});
  config.sliding_window = read_window(reader, 4096);  // every layer
}

// Qwen2: a window only when use_sliding_window is true, and then only on the layers layer_types marks
// "sliding_attention" (by default those from max_window_layers on).
void read_qwen2(const JsonReader& reader, ModelConfig& config) {
  read_llama_like(reader, config, {32768, 32});
  config.attention_qkv_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias
  config.attention_output_bias = false;
  const int64_t window = reader.boolean("use_sliding_window", false) ? read_window(reader, 4096) : 0;
  const int64_t max_window_layers = reader.integer("max_window_layers", 28);
  // A window is refused wherever it would apply (Transformer::refuse_applying_window), so what
  // matters is whether any layer has one.
  bool any_sliding = false;
  if (const auto* types = reader.has("layer_types") ? &reader.array("layer_types") : nullptr) {
    if (static_cast<int64_t>(types->size()) != config.num_layers)
      reader.format_error("layer_types has " + std::to_string(types->size()) + " entries for " +
                          std::to_string(config.num_layers) + " layers");
    for (std::size_t i = 0; i < types->size(); ++i) {
      const auto& type = (*types)[i];
      if (!type.is_string() || (type != "full_attention" && type != "sliding_attention"))
        reader.unsupported("layer_types entries must be \"full_attention\" or \"sliding_attention\", got " +
                           type.dump());
      any_sliding = any_sliding || type == "sliding_attention";
    }
  } else {
    any_sliding = window > 0 && max_window_layers < config.num_layers;  // layers max_window_layers.. slide
  }
  if (any_sliding && window == 0)  // transformers raises at the first forward pass
    reader.format_error(
        "layer_types marks sliding_attention layers but no sliding_window is in effect "
        "(use_sliding_window false or sliding_window null)");
  config.sliding_window = any_sliding ? window : 0;
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
  if (config.mlp_bias) {  // LlamaMLP: bias=config.mlp_bias on gate, up and down alike
    names.gate_bias = p + "mlp.gate_proj.bias";
    names.up_bias = p + "mlp.up_proj.bias";
    names.down_bias = p + "mlp.down_proj.bias";
  }
  return names;
}

// --- gpt2
void read_gpt2(const JsonReader& reader, ModelConfig& config) {
  config.vocab_size = reader.size("vocab_size", kMaxVocabSize);
  config.hidden_size = reader.size("n_embd", kMaxHiddenSize);
  config.num_layers = reader.size("n_layer", kMaxLayers);
  config.num_heads = config.num_kv_heads = reader.size("n_head", kMaxHeads);
  if (config.hidden_size % config.num_heads != 0) reader.format_error("n_embd is not a multiple of n_head");
  config.head_dim = config.hidden_size / config.num_heads;
  config.intermediate_size = reader.size("n_inner", kMaxIntermediateSize, 4 * config.hidden_size);
  config.max_position_embeddings = reader.size("n_positions", kMaxPositions, 1024);
  config.norm_eps = reader.positive("layer_norm_epsilon", 1e-5);
  config.norm = NormKind::LayerNorm;
  config.position = PositionKind::Learned;
  config.mlp = MlpKind::GeluNew;
  config.attention_qkv_bias = config.attention_output_bias = config.mlp_bias = true;
  config.tie_word_embeddings = reader.boolean("tie_word_embeddings", true);
  const std::string activation = reader.string("activation_function", "gelu_new");
  if (activation != "gelu_new")
    reader.unsupported("unsupported activation_function \"" + activation + "\" (supported: gelu_new)");
  if (!reader.boolean("scale_attn_weights", true)) reader.unsupported("scale_attn_weights = false is not supported");
  if (reader.boolean("scale_attn_by_inverse_layer_idx", false))
    reader.unsupported("scale_attn_by_inverse_layer_idx is not supported");
  if (reader.boolean("add_cross_attention", false)) reader.unsupported("cross-attention is not supported");
  // reorder_and_upcast_attn is read only by transformers' eager attention; its default (sdpa) path,
  // which these results match, ignores it. The *_pdrop dropouts act in training mode only, which this
  // library never applies to the frozen model.
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

// --- bert and roberta: post-norm encoders with token types and learned positions (RoBERTa's
// numbered from pad_token_id + 1). What transformers' BertModel / RobertaModel read.
void read_bert_like(const JsonReader& reader, ModelConfig& config) {
  config.topology = Topology::EncoderOnly;
  config.vocab_size = reader.size("vocab_size", kMaxVocabSize);
  config.hidden_size = reader.size("hidden_size", kMaxHiddenSize);
  config.num_layers = reader.size("num_hidden_layers", kMaxLayers);
  config.num_heads = config.num_kv_heads = reader.size("num_attention_heads", kMaxHeads);
  if (config.hidden_size % config.num_heads != 0)
    reader.format_error("hidden_size is not a multiple of num_attention_heads");
  config.head_dim = config.hidden_size / config.num_heads;
  config.intermediate_size = reader.size("intermediate_size", kMaxIntermediateSize);
  config.max_position_embeddings = reader.size("max_position_embeddings", kMaxPositions, 512);
  config.type_vocab_size = reader.size("type_vocab_size", kMaxVocabSize, 2);
  config.norm_eps = reader.positive("layer_norm_eps", 1e-12);
  config.norm = NormKind::LayerNorm;
  config.position = PositionKind::Learned;
  config.mlp = MlpKind::Gelu;
  config.attention_qkv_bias = config.attention_output_bias = config.mlp_bias = true;
  config.pad_token_id = reader.has("pad_token_id") ? reader.integer("pad_token_id", 0) : -1;
  const std::string activation = reader.string("hidden_act", "gelu");
  if (activation != "gelu") reader.unsupported("unsupported hidden_act \"" + activation + "\" (supported: gelu)");
  const std::string positions = reader.string("position_embedding_type", "absolute");
  if (positions != "absolute")
    reader.unsupported("unsupported position_embedding_type \"" + positions + "\" (supported: absolute)");
  if (reader.boolean("is_decoder", false)) reader.unsupported("is_decoder = true is not supported (an encoder only)");
  if (reader.boolean("add_cross_attention", false)) reader.unsupported("cross-attention is not supported");
  // Not refused: the dropouts act in training mode only, which this library never applies to the
  // frozen model; chunk_size_feed_forward changes memory, not results; use_cache is for decoders.
}

void read_bert(const JsonReader& reader, ModelConfig& config) { read_bert_like(reader, config); }

// RoBERTa numbers positions from padding_idx + 1 (position padding_idx is the pads'), so its table
// has max_position_embeddings - padding_idx - 1 usable rows.
void read_roberta(const JsonReader& reader, ModelConfig& config) {
  read_bert_like(reader, config);
  if (config.pad_token_id < 0) reader.format_error("roberta needs pad_token_id (its positions start after it)");
  config.position_offset = config.pad_token_id + 1;
  if (config.position_offset >= config.max_position_embeddings)
    reader.format_error("pad_token_id " + std::to_string(config.pad_token_id) + " leaves no position below " +
                        "max_position_embeddings " + std::to_string(config.max_position_embeddings));
}

ModelWeightNames bert_model_names() {
  ModelWeightNames names;
  names.token_embedding = "embeddings.word_embeddings.weight";
  names.position_embedding = "embeddings.position_embeddings.weight";
  names.token_type_embedding = "embeddings.token_type_embeddings.weight";
  names.embedding_norm_weight = "embeddings.LayerNorm.weight";
  names.embedding_norm_bias = "embeddings.LayerNorm.bias";
  names.pooler_weight = "pooler.dense.weight";
  names.pooler_bias = "pooler.dense.bias";
  return names;
}

LayerWeightNames bert_layer_names(int64_t layer, const ModelConfig&) {
  const std::string p = layer_prefix("encoder.layer.", layer);
  LayerWeightNames names;
  names.q_weight = p + "attention.self.query.weight";
  names.q_bias = p + "attention.self.query.bias";
  names.k_weight = p + "attention.self.key.weight";
  names.k_bias = p + "attention.self.key.bias";
  names.v_weight = p + "attention.self.value.weight";
  names.v_bias = p + "attention.self.value.bias";
  names.o_weight = p + "attention.output.dense.weight";
  names.o_bias = p + "attention.output.dense.bias";
  names.attn_norm_weight = p + "attention.output.LayerNorm.weight";
  names.attn_norm_bias = p + "attention.output.LayerNorm.bias";
  names.up_weight = p + "intermediate.dense.weight";
  names.up_bias = p + "intermediate.dense.bias";
  names.down_weight = p + "output.dense.weight";
  names.down_bias = p + "output.dense.bias";
  names.mlp_norm_weight = p + "output.LayerNorm.weight";
  names.mlp_norm_bias = p + "output.LayerNorm.bias";
  return names;
}

// --- t5: an encoder-decoder of pre-norm blocks with RMS-style norms (no mean, no bias), no biases
// anywhere, unscaled attention and a bucketed relative position bias (what T5ForConditionalGeneration
// reads in transformers 5.24: v1 with relu, v1.1 / Flan with gated-gelu).
void read_t5(const JsonReader& reader, ModelConfig& config) {
  config.topology = Topology::EncoderDecoder;
  config.vocab_size = reader.size("vocab_size", kMaxVocabSize, 32128);
  config.hidden_size = reader.size("d_model", kMaxHiddenSize, 512);
  config.num_layers = reader.size("num_layers", kMaxLayers, 6);
  config.num_decoder_layers =
      reader.has("num_decoder_layers") ? reader.size("num_decoder_layers", kMaxLayers) : config.num_layers;
  config.num_heads = config.num_kv_heads = reader.size("num_heads", kMaxHeads, 8);
  config.head_dim = reader.size("d_kv", kMaxHeadDim, 64);
  config.intermediate_size = reader.size("d_ff", kMaxIntermediateSize, 2048);
  config.relative_attention_num_buckets = reader.size("relative_attention_num_buckets", kMaxPositions, 32);
  config.relative_attention_max_distance = reader.size("relative_attention_max_distance", kMaxPositions, 128);
  // Half the buckets (a quarter, bidirectional) are exact distances; the rest grow logarithmically up
  // to max_distance, which must lie beyond the exact ones for the logarithm to be defined.
  if (config.relative_attention_num_buckets < 4 ||
      config.relative_attention_max_distance <= config.relative_attention_num_buckets / 4)
    reader.format_error(
        "relative_attention_num_buckets must be >= 4 and relative_attention_max_distance above "
        "a quarter of it");
  config.max_position_embeddings = kMaxPositions;  // relative positions: no table to run out of
  config.norm_eps = reader.positive("layer_norm_epsilon", 1e-6);
  config.norm = NormKind::RmsNorm;
  config.position = PositionKind::RelativeBias;
  config.unscaled_attention = true;
  // transformers: "[gated-]<act>", with "gated-gelu" meaning the tanh GELU (gelu_new) and "gelu" the
  // exact one.
  const std::string projection = reader.string("feed_forward_proj", "relu");
  if (projection == "relu") {
    config.mlp = MlpKind::Relu;
  } else if (projection == "gelu") {
    config.mlp = MlpKind::Gelu;
  } else if (projection == "gated-gelu") {
    config.mlp = MlpKind::GatedGeluNew;
  } else if (projection == "gated-silu") {
    config.mlp = MlpKind::GatedSilu;
  } else {
    reader.unsupported("unsupported feed_forward_proj \"" + projection +
                       "\" (supported: relu, gelu, gated-gelu, gated-silu)");
  }
  config.pad_token_id = reader.has("pad_token_id") ? reader.integer("pad_token_id", 0) : 0;
  config.decoder_start_token_id =
      reader.has("decoder_start_token_id") ? reader.integer("decoder_start_token_id", 0) : config.pad_token_id;
  if (config.decoder_start_token_id < 0 || config.decoder_start_token_id >= config.vocab_size)
    reader.format_error("decoder_start_token_id " + std::to_string(config.decoder_start_token_id) +
                        " is not a token id");
  // transformers 5.24 scales the decoder output when "scale_decoder_outputs" says so, or, in files
  // written before it existed, unless tie_word_embeddings is false (v1.1 and Flan say false).
  config.scale_decoder_output = reader.present("scale_decoder_outputs") ? reader.boolean("scale_decoder_outputs", true)
                                                                        : reader.boolean("tie_word_embeddings", true);
  config.tie_word_embeddings = true;  // lm_head.weight is used where the checkpoint has it (loader)
  if (reader.boolean("is_decoder", false)) reader.unsupported("is_decoder = true is not supported");
  if (!reader.boolean("is_encoder_decoder", true))
    reader.unsupported("is_encoder_decoder = false (an encoder only) is not supported");
  // Not refused: dropout_rate acts in training mode only, which this library never applies to the
  // frozen model; initializer_factor only matters for weights that are drawn, and none are.
}

ModelWeightNames t5_model_names() {
  ModelWeightNames names;
  names.token_embedding = "shared.weight";
  names.final_norm_weight = "encoder.final_layer_norm.weight";
  names.decoder_final_norm_weight = "decoder.final_layer_norm.weight";
  names.encoder_relative_bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  names.decoder_relative_bias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  names.lm_head = "lm_head.weight";
  return names;
}

// The blocks' shared part; `feed_forward` is the index of the feed-forward sub-layer (1 in the
// encoder, 2 in the decoder, whose sub-layer 1 attends to the encoder).
LayerWeightNames t5_block_names(const std::string& p, int feed_forward, const ModelConfig& config) {
  LayerWeightNames names;
  names.attn_norm_weight = p + "layer.0.layer_norm.weight";
  names.q_weight = p + "layer.0.SelfAttention.q.weight";
  names.k_weight = p + "layer.0.SelfAttention.k.weight";
  names.v_weight = p + "layer.0.SelfAttention.v.weight";
  names.o_weight = p + "layer.0.SelfAttention.o.weight";
  const std::string f = p + "layer." + std::to_string(feed_forward) + ".";
  names.mlp_norm_weight = f + "layer_norm.weight";
  if (config.mlp == MlpKind::GatedGeluNew || config.mlp == MlpKind::GatedSilu) {
    names.gate_weight = f + "DenseReluDense.wi_0.weight";
    names.up_weight = f + "DenseReluDense.wi_1.weight";
  } else {
    names.up_weight = f + "DenseReluDense.wi.weight";
  }
  names.down_weight = f + "DenseReluDense.wo.weight";
  return names;
}

LayerWeightNames t5_encoder_layer_names(int64_t layer, const ModelConfig& config) {
  return t5_block_names(layer_prefix("encoder.block.", layer), 1, config);
}

LayerWeightNames t5_decoder_layer_names(int64_t layer, const ModelConfig& config) {
  const std::string p = layer_prefix("decoder.block.", layer);
  LayerWeightNames names = t5_block_names(p, 2, config);
  names.cross_norm_weight = p + "layer.1.layer_norm.weight";
  names.cross_q_weight = p + "layer.1.EncDecAttention.q.weight";
  names.cross_k_weight = p + "layer.1.EncDecAttention.k.weight";
  names.cross_v_weight = p + "layer.1.EncDecAttention.v.weight";
  names.cross_o_weight = p + "layer.1.EncDecAttention.o.weight";
  return names;
}

constexpr TaskHeads kEncoderHeads = {SequencePooling::Pooler, "classifier", "classifier", true};
constexpr TaskHeads kRobertaHeads = {SequencePooling::FirstTokenDense, "classifier", "classifier", true};
constexpr TaskHeads kDecoderHeads = {SequencePooling::LastToken, "score", "score", false};
constexpr TaskHeads kGpt2Heads = {SequencePooling::LastToken, "score", "classifier", false};
// T5 is offered for SEQ_2_SEQ_LM only (methods/factory.cpp refuses the classification tasks).
constexpr TaskHeads kNoHeads = {SequencePooling::LastToken, "", "", false};

const Family kFamilies[] = {
    {"bert", read_bert, bert_model_names, bert_layer_names, nullptr, "bert.", kEncoderHeads},
    {"gpt2", read_gpt2, gpt2_model_names, gpt2_layer_names, nullptr, "transformer.", kGpt2Heads},
    {"llama", read_llama, llama_model_names, llama_layer_names, nullptr, "", kDecoderHeads},
    {"mistral", read_mistral, llama_model_names, llama_layer_names, nullptr, "", kDecoderHeads},
    {"qwen2", read_qwen2, llama_model_names, llama_layer_names, nullptr, "", kDecoderHeads},
    {"roberta", read_roberta, bert_model_names, bert_layer_names, nullptr, "roberta.", kRobertaHeads},
    {"t5", read_t5, t5_model_names, t5_encoder_layer_names, t5_decoder_layer_names, "", kNoHeads},
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

std::vector<std::string> checkpoint_prefixes(const Family& family) {
  if (family.optional_name_prefix[0] == '\0') return {""};
  return {"", family.optional_name_prefix};
}

}  // namespace sp::model
