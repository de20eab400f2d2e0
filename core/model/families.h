// The table of supported model families: how each reads its config.json and where each of its
// weights lives in the checkpoint. Adding a family means adding a row here, not a new transformer.
#pragma once

#include <string>
#include <vector>

#include "model/config.h"
#include "util/json_reader.h"

namespace sp::model {

// Checkpoint names of one layer's weights. Empty strings mean "this family has no such tensor".
// Families that store q, k, v in one fused matrix (GPT-2) name it in `fused_qkv`. The norms are the
// attention's and the feed-forward's, before them (decoders) or after them (encoders).
struct LayerWeightNames {
  std::string attn_norm_weight, attn_norm_bias;
  std::string q_weight, k_weight, v_weight, q_bias, k_bias, v_bias;
  std::string fused_qkv_weight, fused_qkv_bias;
  std::string o_weight, o_bias;
  std::string mlp_norm_weight, mlp_norm_bias;
  std::string gate_weight, gate_bias, up_weight, up_bias, down_weight, down_bias;
  // Decoder layers of encoder-decoder models: attention over the encoder output, after its norm.
  std::string cross_norm_weight, cross_q_weight, cross_k_weight, cross_v_weight, cross_o_weight;
};

struct ModelWeightNames {
  std::string token_embedding;
  std::string position_embedding;                          // learned positions only
  std::string token_type_embedding;                        // encoders with token types
  std::string final_norm_weight, final_norm_bias;          // decoders
  std::string embedding_norm_weight, embedding_norm_bias;  // encoders
  std::string pooler_weight, pooler_bias;                  // BERT; optional in a checkpoint
  std::string lm_head;                                     // untied decoders only
  // Encoder-decoder models: each stack's relative-bias table (in its first layer) and the decoder's
  // final norm (final_norm_* is the encoder's). lm_head is used when the checkpoint has it.
  std::string encoder_relative_bias, decoder_relative_bias;
  std::string decoder_final_norm_weight;
  // Conv1D layout (GPT-2): matrices stored as (in, out) instead of Linear's (out, in).
  bool transposed_matrices = false;
};

// The task heads transformers' classes put on the family's model (PEFT trains and saves their copy
// as modules_to_save): the module names and how a sequence is pooled for SEQ_CLS.
enum class SequencePooling {
  Pooler,           // BERT: `classifier`(tanh(pooler(h[:, 0]))), the pooler part of the frozen model
  FirstTokenDense,  // RoBERTa: `classifier`.out_proj(tanh(`classifier`.dense(h[:, 0])))
  LastToken,        // decoders: `score` (no bias) at each row's last real token
};
struct TaskHeads {
  SequencePooling sequence_pooling;
  const char* sequence_module;  // SEQ_CLS head's module name
  const char* token_module;     // TOKEN_CLS head's (one Linear with bias, on every position)
  // The family's base-model class (AutoModel: FEATURE_EXTRACTION) builds a pooler, which
  // from_pretrained draws when the checkpoint has none (a draw that moves the random stream).
  bool base_model_has_pooler;
};

struct Family {
  const char* model_type;
  void (*read_config)(const JsonReader& reader, ModelConfig& config);
  ModelWeightNames (*model_names)();
  LayerWeightNames (*layer_names)(int64_t layer, const ModelConfig& config);
  // Encoder-decoder families: the decoder's layers (layer_names gives the encoder's); else nullptr.
  LayerWeightNames (*decoder_layer_names)(int64_t layer, const ModelConfig& config);
  // Some checkpoints prefix every name with the base-model attribute ("transformer." for GPT-2
  // saved from GPT2LMHeadModel, none for the original upload): the loader tries the names as they
  // are, then with this prefix. Empty when the family's names are always complete.
  const char* optional_name_prefix;
  TaskHeads heads;
};

// nullptr for unsupported model types.
const Family* find_family(const std::string& model_type);
std::string supported_model_types();  // "gpt2, llama, mistral, qwen2", for error messages

// The prefixes the loader tries before a family's weight names: "" and its optional_name_prefix.
std::vector<std::string> checkpoint_prefixes(const Family& family);

}  // namespace sp::model
