// Multitask prompt tuning's own settings (PEFT's MultitaskPromptTuningConfig, which extends
// PromptTuningConfig).
#pragma once

#include <cstdint>
#include <string>

#include "methods/prompt_tuning/settings.h"

namespace sp::methods {

struct MultitaskPromptTuningSettings {
  PromptTuningSettings prompt;  // init also takes the SOURCE values here (not SAMPLE_VOCAB)
  int64_t num_tasks = 1;
  int64_t num_ranks = 1;
  // PEFT's prompt_tuning_init_state_dict_path: the source adapter's adapter_model.safetensors (a
  // folder is resolved to that file when the adapter is created).
  std::string source_adapter;
  int64_t source_task = 0;  // PEFT's prompt_tuning_init_task
};

}  // namespace sp::methods
