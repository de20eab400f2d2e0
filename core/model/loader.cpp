// Loads a Transformer: the family table's names for the config's model_type, each weight checked
// against the config on meta tensors first, then read and converted.
#include <algorithm>
#include <set>

#include "model/embedding_sample.h"
#include "model/families.h"
#include "model/rope.h"
#include "model/transformer.h"
#include "model/weight_source.h"
#include "util/errors.h"
#include "util/shape_text.h"

namespace sp::model {

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
    if (c.type_vocab_size > 0)
      model.token_type_embedding_ = weight(names_.token_type_embedding, {c.type_vocab_size, c.hidden_size}, false);
    if (c.topology == Topology::EncoderOnly) {
      model.embedding_norm_ = norm(names_.embedding_norm_weight, names_.embedding_norm_bias);
    } else {
      model.final_norm_ = norm(names_.final_norm_weight, names_.final_norm_bias);
      model.lm_head_weight_ = c.tie_word_embeddings ? model.token_embedding_
                                                    : unprefixed_weight(names_.lm_head, {c.vocab_size, c.hidden_size});
    }
    if (c.topology == Topology::EncoderDecoder) {
      // transformers ties T5's output layer to the embedding unless the checkpoint holds its own.
      if (source_->find(names_.lm_head))
        model.lm_head_weight_ = convert(names_.lm_head, {c.vocab_size, c.hidden_size}, false);
      model.decoder_final_norm_ = norm(names_.decoder_final_norm_weight, "");
      const std::vector<int64_t> table{c.relative_attention_num_buckets, c.num_heads};
      model.encoder_relative_bias_ = weight(names_.encoder_relative_bias, table, false);
      model.decoder_relative_bias_ = weight(names_.decoder_relative_bias, table, false);
      for (int64_t layer = 0; layer < c.num_decoder_layers; ++layer)
        model.decoder_layers_.push_back(load_block(family_->decoder_layer_names(layer, c), true));
    }
    // Optional: a checkpoint saved from a masked-LM class has no pooler.
    if (!names_.pooler_weight.empty() && find_prefixed(names_.pooler_weight)) {
      model.pooler_.weight = weight(names_.pooler_weight, {c.hidden_size, c.hidden_size}, true);
      model.pooler_.bias = weight(names_.pooler_bias, {c.hidden_size}, false);
    }
    for (int64_t layer = 0; layer < c.num_layers; ++layer)
      model.layers_.push_back(load_block(family_->layer_names(layer, c), c.topology == Topology::DecoderOnly));
  }

  Norm norm(const std::string& weight_name, const std::string& bias_name) {
    Norm result;
    result.kind = config_->norm;
    result.eps = config_->norm_eps;
    result.weight = weight(weight_name, {config_->hidden_size}, false);
    if (!bias_name.empty()) result.bias = weight(bias_name, {config_->hidden_size}, false);
    return result;
  }

  Linear linear(const std::string& weight_name, const std::string& bias_name, int64_t out, int64_t in) {
    Linear result;
    result.weight = weight(weight_name, {out, in}, true);
    if (!bias_name.empty()) result.bias = weight(bias_name, {out}, false);
    return result;
  }

  // `causal`: a decoder's block (of a decoder-only model, or an encoder-decoder model's decoder).
  Transformer::Block load_block(const LayerWeightNames& n, bool causal) {
    const ModelConfig& c = *config_;
    const int64_t d = c.hidden_size, q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
    Transformer::Block block;
    block.attention_norm = norm(n.attn_norm_weight, n.attn_norm_bias);
    block.mlp_norm = norm(n.mlp_norm_weight, n.mlp_norm_bias);
    SelfAttention& attention = block.attention;
    attention.num_heads = c.num_heads;
    attention.num_kv_heads = c.num_kv_heads;
    attention.head_dim = c.head_dim;
    attention.causal = causal;
    attention.unscaled = c.unscaled_attention;
    if (!n.fused_qkv_weight.empty()) {
      attention.qkv = linear(n.fused_qkv_weight, n.fused_qkv_bias, q_out + 2 * kv_out, d);
    } else {
      attention.qkv.weight = at::cat({weight(n.q_weight, {q_out, d}, true), weight(n.k_weight, {kv_out, d}, true),
                                      weight(n.v_weight, {kv_out, d}, true)});
      if (!n.q_bias.empty())
        attention.qkv.bias = at::cat(
            {weight(n.q_bias, {q_out}, false), weight(n.k_bias, {kv_out}, false), weight(n.v_bias, {kv_out}, false)});
    }
    attention.output = linear(n.o_weight, n.o_bias, d, q_out);
    if (!n.cross_q_weight.empty()) {
      block.cross_norm = norm(n.cross_norm_weight, "");
      CrossAttention& cross = block.cross;
      cross.num_heads = c.num_heads;
      cross.head_dim = c.head_dim;
      cross.unscaled = c.unscaled_attention;
      cross.query = linear(n.cross_q_weight, "", q_out, d);
      cross.key_value.weight =
          at::cat({weight(n.cross_k_weight, {q_out, d}, true), weight(n.cross_v_weight, {q_out, d}, true)});
      cross.output = linear(n.cross_o_weight, "", d, q_out);
    }
    FeedForward& mlp = block.mlp;
    mlp.kind = c.mlp;
    if (mlp.gated()) {
      mlp.gate_up.weight = at::cat(
          {weight(n.gate_weight, {c.intermediate_size, d}, true), weight(n.up_weight, {c.intermediate_size, d}, true)});
      if (!n.gate_bias.empty())
        mlp.gate_up.bias = at::cat(
            {weight(n.gate_bias, {c.intermediate_size}, false), weight(n.up_bias, {c.intermediate_size}, false)});
    } else {
      mlp.up = linear(n.up_weight, n.up_bias, c.intermediate_size, d);
    }
    mlp.down = linear(n.down_weight, n.down_bias, d, c.intermediate_size);
    return block;
  }

  bool find_prefixed(const std::string& body_name) const {
    for (const auto& prefix : prefixes_)
      if (source_->find(prefix + body_name)) return true;
    return false;
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

}  // namespace sp::model
