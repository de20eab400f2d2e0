// A GGUF file (llama.cpp's format) as a WeightSource, read as transformers reads one
// (`from_pretrained(..., gguf_file=...)`, transformers 5.24: modeling_gguf_pytorch_utils.py and
// integrations/ggml.py): the metadata becomes a config.json, llama.cpp's tensor names become the
// family's checkpoint names, and every tensor is dequantized to float32. Two layout changes that
// llama.cpp's converter made are undone: llama's q and k projections were permuted for its rotary
// layout, and GPT-2's Conv1D matrices were transposed.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "io/gguf.h"
#include "model/weight_source.h"
#include "util/errors.h"

namespace sp::model {

namespace {

// "<architecture>.<key>" -> config.json key, per family (integrations/ggml.py GGUF_CONFIG_MAPPING).
// GPT-2's context and feed-forward lengths go to the keys its config reads (transformers writes them to
// n_ctx and feed_forward_length, which GPT2Config ignores; a file where that matters fails there).
using KeyMap = std::vector<std::pair<const char*, const char*>>;

const KeyMap kLlamaKeys = {
    {"context_length", "max_position_embeddings"},
    {"block_count", "num_hidden_layers"},
    {"feed_forward_length", "intermediate_size"},
    {"embedding_length", "hidden_size"},
    {"rope.dimension_count", "head_dim"},
    {"rope.freq_base", "rope_theta"},
    {"attention.head_count", "num_attention_heads"},
    {"attention.head_count_kv", "num_key_value_heads"},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps"},
    {"vocab_size", "vocab_size"},
};
const KeyMap kQwen2Keys = {
    {"context_length", "max_position_embeddings"},
    {"block_count", "num_hidden_layers"},
    {"feed_forward_length", "intermediate_size"},
    {"embedding_length", "hidden_size"},
    {"rope.freq_base", "rope_theta"},
    {"attention.head_count", "num_attention_heads"},
    {"attention.head_count_kv", "num_key_value_heads"},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps"},
    {"vocab_size", "vocab_size"},
};
const KeyMap kGpt2Keys = {
    {"block_count", "n_layer"},         {"context_length", "n_positions"},
    {"embedding_length", "n_embd"},     {"feed_forward_length", "n_inner"},
    {"attention.head_count", "n_head"}, {"attention.layer_norm_epsilon", "layer_norm_epsilon"},
    {"vocab_size", "vocab_size"},
};

// llama.cpp's tensor names (gguf-py's TensorNameMap) and the checkpoint names they stand for.
struct NameRule {
  const char* gguf;  // after "blk.<n>." for layer tensors
  const char* checkpoint;
};
const std::vector<NameRule> kLlamaModelNames = {
    {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"}};
const std::vector<NameRule> kLlamaLayerNames = {
    {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"},      {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},           {"ffn_down", "mlp.down_proj"}};
const std::vector<NameRule> kGpt2ModelNames = {
    {"token_embd", "wte"}, {"position_embd", "wpe"}, {"output_norm", "ln_f"}, {"output", "lm_head"}};
const std::vector<NameRule> kGpt2LayerNames = {{"attn_norm", "ln_1"},          {"attn_qkv", "attn.c_attn"},
                                               {"attn_output", "attn.c_proj"}, {"ffn_norm", "ln_2"},
                                               {"ffn_up", "mlp.c_fc"},         {"ffn_down", "mlp.c_proj"}};

struct Architecture {
  const char* name;  // general.architecture
  const KeyMap* keys;
  const std::vector<NameRule>* model_names;
  const std::vector<NameRule>* layer_names;
  const char* layer_stem;  // checkpoint prefix of layer n: stem + n + "."
};
const Architecture kArchitectures[] = {
    {"llama", &kLlamaKeys, &kLlamaModelNames, &kLlamaLayerNames, "model.layers."},
    {"qwen2", &kQwen2Keys, &kLlamaModelNames, &kLlamaLayerNames, "model.layers."},
    {"gpt2", &kGpt2Keys, &kGpt2ModelNames, &kGpt2LayerNames, "h."},
};

// How a tensor's values differ from the checkpoint's.
enum class Layout { AsStored, Unpermute, Transpose };

struct MappedTensor {
  const io::GgufTensor* tensor;
  Layout layout = Layout::AsStored;
  int64_t heads = 0;  // Unpermute: the heads the permutation was made with
};

class GgufSource final : public WeightSource {
 public:
  explicit GgufSource(const std::string& path) : file_(io::GgufFile::open(path)) {
    const std::string architecture = file_->string("general.architecture").value_or("");
    for (const auto& candidate : kArchitectures)
      if (architecture == candidate.name) architecture_ = &candidate;
    if (!architecture_)
      fail(ErrorKind::Unsupported,
           description() + ": architecture \"" + architecture + "\" is not supported (supported: llama, qwen2, gpt2)");
    config_json_ = make_config().dump();
    map_tensors();
  }

  std::string description() const override { return "GGUF file '" + file_->path() + "'"; }
  const std::string& config_json() const override { return config_json_; }
  std::string config_name() const override { return description() + " (metadata)"; }

  std::optional<Entry> find(const std::string& name) const override {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) return std::nullopt;
    std::vector<int64_t> shape = it->second.tensor->shape();
    if (it->second.layout == Layout::Transpose) std::reverse(shape.begin(), shape.end());
    return Entry{shape, true};
  }

  at::Tensor read(const std::string& name) const override {
    const MappedTensor& mapped = tensors_.at(name);
    const io::GgufTensor& tensor = *mapped.tensor;
    at::Tensor values = at::empty(tensor.shape(), at::kFloat);
    io::dequantize(tensor, values.data_ptr<float>());
    switch (mapped.layout) {
      case Layout::AsStored:
        return values;
      case Layout::Transpose:
        return values.t().contiguous();
      case Layout::Unpermute: {
        // llama.cpp wrote rows (head, pair, half) as (head, half, pair); swap them back
        // (transformers' LlamaTensorProcessor._reverse_permute_weights).
        const auto shape = values.sizes().vec();
        std::vector<int64_t> split = {mapped.heads, shape[0] / mapped.heads / 2, 2};
        split.insert(split.end(), shape.begin() + 1, shape.end());
        return values.reshape(split).transpose(1, 2).reshape(shape).contiguous();
      }
    }
    return values;
  }

  std::string stored_bytes_fingerprint(const std::string&) const override { return ""; }

  std::string weight_text(const std::string& name) const override {
    const std::string in_file = file_name_of(name);
    return in_file.empty() ? "weight '" + name + "'" : "tensor '" + in_file + "' (" + name + ")";
  }

  // A tensor that maps onto a checkpoint name the family has no place for (a qwen2 file with
  // blk.0.attn_output.bias) would be dropped, and the model computed without it.
  void check_unused(const std::set<std::string>& used) const override {
    for (const auto& [checkpoint, mapped] : tensors_)
      if (!used.count(checkpoint))
        fail(ErrorKind::Unsupported, description() + ": tensor '" + mapped.tensor->name + "' (" + checkpoint +
                                         ") has no place in a " + architecture_->name +
                                         " model of this configuration; llama.cpp would compute with it "
                                         "(not supported)");
  }

 private:
  std::string key(const char* suffix) const { return std::string(architecture_->name) + "." + suffix; }

  nlohmann::json make_config() const {
    nlohmann::json config = nlohmann::json::object();
    // transformers reads a llama-architecture file named exactly "mistral" as a Mistral model.
    const bool mistral =
        std::string(architecture_->name) == "llama" && file_->string("general.name").value_or("") == "mistral";
    config["model_type"] = mistral ? "mistral" : architecture_->name;
    for (const auto& [gguf_key, config_key] : *architecture_->keys) {
      const std::string full = key(gguf_key);
      const io::GgufValue* value = file_->find(full);
      if (!value) continue;
      if (value->type == io::GgufValue::Type::F32 || value->type == io::GgufValue::Type::F64)
        config[config_key] = *file_->number(full);
      else
        config[config_key] = *file_->integer(full);  // Format naming the key for any other type
    }
    if (!config.contains("vocab_size")) {
      if (auto tokens = file_->string_array("tokenizer.ggml.tokens"))
        config["vocab_size"] = tokens->size();
      else
        fail(ErrorKind::Format,
             description() + ": neither " + key("vocab_size") + " nor tokenizer.ggml.tokens gives the vocabulary size");
    }
    config["tie_word_embeddings"] = file_->find_tensor("output.weight") == nullptr;
    // llama.cpp computes a llama's attention and MLP biases when the file has them (its loader takes
    // them as optional tensors); transformers' key mapping has no attention_bias or mlp_bias, so it
    // builds the model without them and drops those tensors. Read them: the config says they exist.
    if (std::string(architecture_->name) == "llama") {
      config["attention_bias"] = has_layer_tensor({"attn_q", "attn_k", "attn_v", "attn_output"}, ".bias");
      config["mlp_bias"] = has_layer_tensor({"ffn_gate", "ffn_up", "ffn_down"}, ".bias");
    }
    // Computation-changing keys transformers does not read for these architectures: refused rather
    // than computed differently from llama.cpp.
    if (auto scaling = file_->string(key("rope.scaling.type")); scaling && *scaling != "none")
      fail(ErrorKind::Unsupported, description() + ": RoPE scaling \"" + *scaling + "\" (" + key("rope.scaling.type") +
                                       ") is not supported for GGUF models");
    if (file_->integer(key("expert_count")).value_or(0) > 0)
      fail(ErrorKind::Unsupported, description() + ": mixture-of-experts models are not supported");
    return config;
  }

  // Every tensor must stand for a checkpoint weight: one this library would not use (a rope factor
  // table, an expert) means a computation it does not do, and is refused by name.
  void map_tensors() {
    const int64_t heads = file_->integer(key("attention.head_count")).value_or(0);
    const int64_t kv_heads = file_->integer(key("attention.head_count_kv")).value_or(heads);
    const bool unpermute = std::string(architecture_->name) == "llama";  // TENSOR_PROCESSORS["llama"]
    const bool gpt2 = std::string(architecture_->name) == "gpt2";
    for (const io::GgufTensor& tensor : file_->tensors()) {
      std::string checkpoint;
      std::string role;  // the GGUF name without "blk.<n>." and the suffix
      if (!translate(tensor.name, checkpoint, role))
        fail(ErrorKind::Unsupported,
             description() + ": tensor '" + tensor.name +
                 (tensor.name == "rope_freqs.weight" ? "' (RoPE frequency factors, llama 3.1 style) is not supported"
                                                     : "' has no counterpart in a " + std::string(architecture_->name) +
                                                           " checkpoint (not supported)"));
      if (!io::ggml_type_supported(tensor.type))
        fail(ErrorKind::Unsupported, description() + ": tensor '" + tensor.name + "' has type " +
                                         io::ggml_type_name(tensor.type) +
                                         ", which softprompt does not dequantize (it reads F32, F16, BF16, "
                                         "Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
      MappedTensor mapped{&tensor};
      if (unpermute && (role == "attn_q" || role == "attn_k")) {
        mapped.layout = Layout::Unpermute;
        mapped.heads = role == "attn_q" ? heads : kv_heads;
        const int64_t rows = tensor.shape().front();
        if (mapped.heads <= 0 || rows % (2 * mapped.heads) != 0)
          fail(ErrorKind::Format, description() + ": tensor '" + tensor.name + "' has " + std::to_string(rows) +
                                      " rows, not a multiple of twice its " + std::to_string(mapped.heads) + " heads");
      }
      const bool matrix = tensor.dims.size() == 2 && ends_with(tensor.name, ".weight");
      if (gpt2 && matrix && (role == "attn_qkv" || role == "attn_output" || role == "ffn_up" || role == "ffn_down"))
        mapped.layout = Layout::Transpose;
      tensors_.emplace(checkpoint, mapped);
    }
  }

  // Whether any layer has a tensor "blk.<n>.<role><suffix>" for one of `roles`.
  bool has_layer_tensor(const std::vector<std::string>& roles, const std::string& suffix) const {
    for (const io::GgufTensor& tensor : file_->tensors()) {
      std::string checkpoint, role;
      if (tensor.name.rfind("blk.", 0) == 0 && ends_with(tensor.name, suffix) &&
          translate(tensor.name, checkpoint, role) && std::find(roles.begin(), roles.end(), role) != roles.end())
        return true;
    }
    return false;
  }

  static bool ends_with(const std::string& text, const std::string& end) {
    return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
  }

  // "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight" (role "attn_q").
  bool translate(const std::string& name, std::string& checkpoint, std::string& role) const {
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos) return false;
    const std::string stem = name.substr(0, dot), suffix = name.substr(dot);
    if (suffix != ".weight" && suffix != ".bias") return false;
    if (stem.rfind("blk.", 0) == 0) {
      const size_t end = stem.find('.', 4);
      if (end == std::string::npos) return false;
      const std::string layer = stem.substr(4, end - 4);
      if (layer.empty() || layer.size() > 6 || layer.find_first_not_of("0123456789") != std::string::npos ||
          (layer.size() > 1 && layer[0] == '0'))
        return false;
      role = stem.substr(end + 1);
      for (const auto& rule : *architecture_->layer_names)
        if (role == rule.gguf) {
          checkpoint = architecture_->layer_stem + layer + "." + rule.checkpoint + suffix;
          return true;
        }
      return false;
    }
    role = stem;
    for (const auto& rule : *architecture_->model_names)
      if (stem == rule.gguf) {
        checkpoint = rule.checkpoint + suffix;
        return true;
      }
    return false;
  }

  // The GGUF name a checkpoint name stands for, whether or not the file has it ("" when none does):
  // translate() backwards.
  std::string file_name_of(const std::string& checkpoint) const {
    if (auto it = tensors_.find(checkpoint); it != tensors_.end()) return it->second.tensor->name;
    const size_t dot = checkpoint.rfind('.');
    if (dot == std::string::npos) return "";
    const std::string stem = checkpoint.substr(0, dot), suffix = checkpoint.substr(dot);
    const std::string layer_stem = architecture_->layer_stem;
    if (stem.rfind(layer_stem, 0) == 0) {
      const size_t end = stem.find('.', layer_stem.size());
      if (end == std::string::npos) return "";
      const std::string layer = stem.substr(layer_stem.size(), end - layer_stem.size()), rest = stem.substr(end + 1);
      for (const auto& rule : *architecture_->layer_names)
        if (rest == rule.checkpoint) return "blk." + layer + "." + rule.gguf + suffix;
      return "";
    }
    for (const auto& rule : *architecture_->model_names)
      if (stem == rule.checkpoint) return rule.gguf + suffix;
    return "";
  }

  std::shared_ptr<const io::GgufFile> file_;
  const Architecture* architecture_ = nullptr;
  std::string config_json_;
  std::map<std::string, MappedTensor> tensors_;  // by checkpoint name
};

}  // namespace

std::unique_ptr<WeightSource> open_gguf_source(const std::string& path) { return std::make_unique<GgufSource>(path); }

}  // namespace sp::model
