// Prompt tuning (Lester et al. 2021) as PEFT implements it: a (num_virtual_tokens, hidden) table
// whose rows are prepended to the input embeddings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "methods/method.h"

namespace sp::methods {

enum class PromptInit { Random, SampleVocab, Text };

struct PromptTuningConfig {
  int64_t num_virtual_tokens = 20;
  PromptInit init = PromptInit::Random;
  std::vector<int64_t> init_token_ids;  // TEXT: the tokenised init text (repeated or cut to fit)
  std::string init_text;                // recorded in adapter_config.json only
  std::string tokenizer_name_or_path;   // recorded in adapter_config.json only
  uint64_t seed = 0;                    // RANDOM and SAMPLE_VOCAB draws
};

class PromptTuning final : public SoftPromptMethod {
 public:
  // Initialises the table as PEFT does. With the same seed as torch.manual_seed, RANDOM and
  // SAMPLE_VOCAB draw exactly the values PEFT draws (N(0,1) table, then the sampled ids).
  static std::unique_ptr<PromptTuning> create(const PromptTuningConfig& config, const model::Transformer& model);
  // Wraps an existing (num_virtual_tokens, hidden) table, e.g. one read from a file.
  static std::unique_ptr<PromptTuning> from_table(const PromptTuningConfig& config, const at::Tensor& table,
                                                  const model::Transformer& model);

  const char* peft_type() const override { return "PROMPT_TUNING"; }
  int64_t num_virtual_tokens() const override { return config_.num_virtual_tokens; }
  PromptContribution contribute(int64_t batch_size) const override;
  NamedTensors parameters() const override;
  NamedTensors tensors_for_saving() const override;
  void write_peft_config(nlohmann::json& config) const override;

  const PromptTuningConfig& config() const { return config_; }

 private:
  PromptTuningConfig config_;
  at::Tensor table_;  // float32, requires grad
};

const char* prompt_init_name(PromptInit init);

// TEXT init ids: the list cut to `count`, or repeated whole until it fills `count` (PEFT's rule).
std::vector<int64_t> fit_init_token_ids(const std::vector<int64_t>& ids, int64_t count);

}  // namespace sp::methods
