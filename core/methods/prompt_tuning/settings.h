// Prompt tuning's own settings (PEFT's PromptTuningConfig): how the prompt table starts. Multitask
// prompt tuning extends them, as PEFT's MultitaskPromptTuningConfig extends PromptTuningConfig.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "softprompt/softprompt.h"

namespace sp::methods {

struct PromptTuningSettings {
  sp_prompt_init init = SP_INIT_RANDOM;
  std::vector<int64_t> init_token_ids;  // SP_INIT_TEXT: the tokenised init text
  std::string init_text;                // recorded in adapter_config.json only
  std::string tokenizer_name_or_path;   // recorded in adapter_config.json only
};

}  // namespace sp::methods
