// One configuration record for every soft-prompt method, mirroring the fields of PEFT's config
// classes (PromptTuningConfig, PrefixTuningConfig, PromptEncoderConfig, MultitaskPromptTuningConfig).
// Fields a method does not use are ignored by it. Converted to and from adapter_config.json in
// adapters/peft_config.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sp::methods {

enum class MethodKind { PromptTuning, PrefixTuning, PTuning, MultitaskPromptTuning };

// PEFT's PromptTuningInit and MultitaskPromptTuningInit in one list.
enum class PromptInit { Random, SampleVocab, Text, AverageSourceTasks, ExactSourceTask, OnlySourceShared };

enum class EncoderType { Mlp, Lstm };

struct MethodConfig {
  MethodKind kind = MethodKind::PromptTuning;
  int64_t num_virtual_tokens = 20;
  uint64_t seed = 0;  // every random draw (initialisation, LSTM dropout)

  // Prompt tuning and MPT: how the prompt table starts.
  PromptInit init = PromptInit::Random;
  std::vector<int64_t> init_token_ids;  // TEXT: the tokenised init text
  std::string init_text;                // recorded in adapter_config.json only
  std::string tokenizer_name_or_path;   // recorded in adapter_config.json only

  // Prefix tuning and P-tuning: width of the reparameterisation network; 0 = token_dim.
  int64_t encoder_hidden_size = 0;
  // Prefix tuning.
  bool prefix_projection = false;
  bool zero_init = false;  // PEFT's init_weights = "zero"

  // P-tuning.
  EncoderType encoder_type = EncoderType::Mlp;
  int64_t encoder_num_layers = 2;
  double encoder_dropout = 0.0;

  // Multitask prompt tuning.
  int64_t num_tasks = 1;
  int64_t num_ranks = 1;
  std::string source_path;   // PEFT's prompt_tuning_init_state_dict_path (a folder or .safetensors file)
  int64_t source_task = 0;   // PEFT's prompt_tuning_init_task

  // True for adapters read from PEFT files: P-tuning and projected prefixes then hold only the
  // encoded table (PEFT's inference mode), which is trained directly.
  bool encoded_only = false;
};

const char* peft_type_name(MethodKind kind);
const char* prompt_init_name(PromptInit init);
const char* encoder_type_name(EncoderType type);

}  // namespace sp::methods
