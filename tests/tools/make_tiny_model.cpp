// make_tiny_model: writes a small Hugging Face model folder with random weights (fixed seed), so
// that the examples, tests and benchmark need no download. Each variant exercises a different
// corner of the supported families.
//
//   make_tiny_model <variant> <output-folder> [--seed N] [--layers N] [--hidden N] [--heads N]
//                   [--kv-heads N] [--intermediate N] [--vocab N] [--shards N]
//
// Variants:
//   llama       grouped-query attention (4 heads, 2 key/value heads), untied output embeddings,
//               llama3 rope scaling, config in the older "rope_theta"/"rope_scaling" form
//   llama-tied  multi-head attention, tied embeddings, config in the transformers-5 "rope_parameters" form
//   qwen2       q/k/v biases, grouped-query attention, tied embeddings
//   gpt2        learned positions, LayerNorm, Conv1D layout, gelu_new, tied embeddings
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/torch_tensors.h"
#include "util/errors.h"

namespace {

struct Sizes {
  int64_t layers = 2, hidden = 64, heads = 4, kv_heads = 2, intermediate = 128, vocab = 256, positions = 256;
};

class WeightWriter {
 public:
  explicit WeightWriter(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  void normal(const std::string& name, std::vector<int64_t> shape, double std) {
    at::Tensor t = at::empty(shape, at::kFloat);
    t.normal_(0.0, std, generator_);
    tensors_.emplace_back(name, t);
  }
  // Scales near 1: norms that are not exactly identity, so that a skipped norm weight is noticed.
  void near_one(const std::string& name, int64_t size) {
    at::Tensor t = at::empty({size}, at::kFloat);
    t.normal_(1.0, 0.1, generator_);
    tensors_.emplace_back(name, t);
  }
  void matrix(const std::string& name, int64_t out, int64_t in, bool conv1d_layout) {
    normal(name, conv1d_layout ? std::vector<int64_t>{in, out} : std::vector<int64_t>{out, in},
           1.0 / std::sqrt(double(in)));
  }

  void write(const std::string& folder, int shards) const {
    if (shards <= 1) {
      sp::io::write_file_atomically(sp::io::join_path(folder, "model.safetensors"),
                                    sp::io::encode_tensors(tensors_, {{"format", "pt"}}));
      return;
    }
    nlohmann::json index;
    std::size_t total = 0;
    for (int shard = 0; shard < shards; ++shard) {
      char file_name[64];
      std::snprintf(file_name, sizeof file_name, "model-%05d-of-%05d.safetensors", shard + 1, shards);
      std::vector<std::pair<std::string, at::Tensor>> part;
      for (std::size_t i = shard; i < tensors_.size(); i += shards) {
        part.push_back(tensors_[i]);
        index["weight_map"][tensors_[i].first] = file_name;
        total += tensors_[i].second.nbytes();
      }
      sp::io::write_file_atomically(sp::io::join_path(folder, file_name),
                                    sp::io::encode_tensors(part, {{"format", "pt"}}));
    }
    index["metadata"]["total_size"] = total;
    sp::io::write_file_atomically(sp::io::join_path(folder, "model.safetensors.index.json"), index.dump(2));
  }

 private:
  at::Generator generator_;
  std::vector<std::pair<std::string, at::Tensor>> tensors_;
};

nlohmann::json llama_like_config(const std::string& variant, const Sizes& s) {
  nlohmann::json c;
  const bool qwen = variant == "qwen2";
  c["architectures"] = {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  c["model_type"] = qwen ? "qwen2" : "llama";
  c["vocab_size"] = s.vocab;
  c["hidden_size"] = s.hidden;
  c["intermediate_size"] = s.intermediate;
  c["num_hidden_layers"] = s.layers;
  c["num_attention_heads"] = s.heads;
  c["num_key_value_heads"] = s.kv_heads;
  c["head_dim"] = s.hidden / s.heads;
  c["max_position_embeddings"] = s.positions;
  c["rms_norm_eps"] = 1e-6;
  c["hidden_act"] = "silu";
  c["attention_dropout"] = 0.0;
  c["bos_token_id"] = 1;
  c["eos_token_id"] = 2;
  c["torch_dtype"] = "float32";
  c["use_cache"] = true;
  if (variant == "llama") {
    c["tie_word_embeddings"] = false;
    c["attention_bias"] = false;
    c["mlp_bias"] = false;
    c["rope_theta"] = 500000.0;
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 32}};
  } else if (variant == "llama-tied") {
    c["tie_word_embeddings"] = true;
    c["attention_bias"] = false;
    c["mlp_bias"] = false;
    c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  } else {
    c["tie_word_embeddings"] = true;
    c["use_sliding_window"] = false;
    c["sliding_window"] = nullptr;
    c["max_window_layers"] = s.layers;
    c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  }
  return c;
}

void llama_like_weights(WeightWriter& w, const std::string& variant, const Sizes& s) {
  const int64_t hd = s.hidden / s.heads;
  w.normal("model.embed_tokens.weight", {s.vocab, s.hidden}, 0.3);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    w.near_one(p + "input_layernorm.weight", s.hidden);
    w.matrix(p + "self_attn.q_proj.weight", s.heads * hd, s.hidden, false);
    w.matrix(p + "self_attn.k_proj.weight", s.kv_heads * hd, s.hidden, false);
    w.matrix(p + "self_attn.v_proj.weight", s.kv_heads * hd, s.hidden, false);
    if (variant == "qwen2") {
      w.normal(p + "self_attn.q_proj.bias", {s.heads * hd}, 0.1);
      w.normal(p + "self_attn.k_proj.bias", {s.kv_heads * hd}, 0.1);
      w.normal(p + "self_attn.v_proj.bias", {s.kv_heads * hd}, 0.1);
    }
    w.matrix(p + "self_attn.o_proj.weight", s.hidden, s.heads * hd, false);
    w.near_one(p + "post_attention_layernorm.weight", s.hidden);
    w.matrix(p + "mlp.gate_proj.weight", s.intermediate, s.hidden, false);
    w.matrix(p + "mlp.up_proj.weight", s.intermediate, s.hidden, false);
    w.matrix(p + "mlp.down_proj.weight", s.hidden, s.intermediate, false);
  }
  w.near_one("model.norm.weight", s.hidden);
  if (variant == "llama") w.matrix("lm_head.weight", s.vocab, s.hidden, false);
}

nlohmann::json gpt2_config(const Sizes& s) {
  nlohmann::json c;
  c["architectures"] = {"GPT2LMHeadModel"};
  c["model_type"] = "gpt2";
  c["vocab_size"] = s.vocab;
  c["n_embd"] = s.hidden;
  c["n_layer"] = s.layers;
  c["n_head"] = s.heads;
  c["n_positions"] = s.positions;
  c["n_inner"] = s.intermediate;
  c["activation_function"] = "gelu_new";
  c["layer_norm_epsilon"] = 1e-5;
  c["attn_pdrop"] = 0.0;
  c["embd_pdrop"] = 0.0;
  c["resid_pdrop"] = 0.0;
  c["scale_attn_weights"] = true;
  c["tie_word_embeddings"] = true;
  c["bos_token_id"] = 1;
  c["eos_token_id"] = 2;
  c["torch_dtype"] = "float32";
  return c;
}

void gpt2_weights(WeightWriter& w, const Sizes& s) {
  w.normal("transformer.wte.weight", {s.vocab, s.hidden}, 0.3);
  w.normal("transformer.wpe.weight", {s.positions, s.hidden}, 0.1);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    w.near_one(p + "ln_1.weight", s.hidden);
    w.normal(p + "ln_1.bias", {s.hidden}, 0.1);
    w.matrix(p + "attn.c_attn.weight", 3 * s.hidden, s.hidden, true);
    w.normal(p + "attn.c_attn.bias", {3 * s.hidden}, 0.1);
    w.matrix(p + "attn.c_proj.weight", s.hidden, s.hidden, true);
    w.normal(p + "attn.c_proj.bias", {s.hidden}, 0.1);
    w.near_one(p + "ln_2.weight", s.hidden);
    w.normal(p + "ln_2.bias", {s.hidden}, 0.1);
    w.matrix(p + "mlp.c_fc.weight", s.intermediate, s.hidden, true);
    w.normal(p + "mlp.c_fc.bias", {s.intermediate}, 0.1);
    w.matrix(p + "mlp.c_proj.weight", s.hidden, s.intermediate, true);
    w.normal(p + "mlp.c_proj.bias", {s.hidden}, 0.1);
  }
  w.near_one("transformer.ln_f.weight", s.hidden);
  w.normal("transformer.ln_f.bias", {s.hidden}, 0.1);
}

int usage() {
  std::cerr
      << "usage: make_tiny_model <llama|llama-tied|qwen2|gpt2> <output-folder> [--seed N] [--layers N]\n"
         "       [--hidden N] [--heads N] [--kv-heads N] [--intermediate N] [--vocab N] [--positions N] [--shards N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string variant = argv[1], folder = argv[2];
  if (variant != "llama" && variant != "llama-tied" && variant != "qwen2" && variant != "gpt2") return usage();
  Sizes sizes;
  if (variant == "llama-tied" || variant == "gpt2") sizes.kv_heads = sizes.heads;
  uint64_t seed = 1234;
  int shards = 1;
  std::map<std::string, int64_t*> size_flags = {{"--layers", &sizes.layers},
                                                {"--hidden", &sizes.hidden},
                                                {"--heads", &sizes.heads},
                                                {"--kv-heads", &sizes.kv_heads},
                                                {"--intermediate", &sizes.intermediate},
                                                {"--vocab", &sizes.vocab},
                                                {"--positions", &sizes.positions}};
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long long value = std::atoll(argv[i + 1]);
    if (flag == "--seed") {
      seed = static_cast<uint64_t>(value);
    } else if (flag == "--shards") {
      shards = static_cast<int>(value);
    } else if (size_flags.count(flag)) {
      *size_flags[flag] = value;
      if (flag == "--heads" && (variant == "llama-tied" || variant == "gpt2")) sizes.kv_heads = value;
    } else {
      return usage();
    }
  }
  try {
    sp::io::make_directories(folder);
    WeightWriter writer(seed);
    nlohmann::json config;
    if (variant == "gpt2") {
      config = gpt2_config(sizes);
      gpt2_weights(writer, sizes);
    } else {
      config = llama_like_config(variant, sizes);
      llama_like_weights(writer, variant, sizes);
    }
    writer.write(folder, shards);
    sp::io::write_file_atomically(sp::io::join_path(folder, "config.json"), config.dump(2));
    std::cout << "wrote " << variant << " model to " << folder << "\n";
  } catch (const std::exception& error) {
    std::cerr << "make_tiny_model: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
