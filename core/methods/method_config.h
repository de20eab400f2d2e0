// A soft-prompt method's configuration: the settings every method has and the method's own record
// (PEFT's config class for it), which lives in the method's folder beside its validation and its
// PEFT JSON. Methods are selected by the public enum sp_method.
#pragma once

#include <cstdint>
#include <variant>

#include "methods/multitask_prompt_tuning/settings.h"
#include "methods/p_tuning/settings.h"
#include "methods/prefix_tuning/settings.h"
#include "methods/prompt_tuning/settings.h"
#include "objectives/task.h"
#include "softprompt/softprompt.h"

namespace sp::methods {

// One alternative per method, in sp_method's order (methods/registry.cpp checks it). A new method
// adds its settings record here and its row to the registry.
using MethodSettings =
    std::variant<PromptTuningSettings, PrefixTuningSettings, PTuningSettings, MultitaskPromptTuningSettings>;

struct MethodConfig {
  int64_t num_virtual_tokens = 20;
  // PEFT's num_transformer_submodules, m: 2 for SEQ_2_SEQ_LM adapters (by default), whose prompt
  // tables then hold n rows for the encoder and n for the decoder (used by MPT only); else 1.
  int64_t num_transformer_submodules = 1;
  uint64_t seed = 0;  // every random draw (initialisation, LSTM dropout)
  // True for adapters read from PEFT files: P-tuning and projected prefixes then hold only the
  // encoded table (PEFT's inference mode), which is trained directly.
  bool encoded_only = false;
  objectives::TaskConfig task;  // what the adapter is trained for; the head's size
  MethodSettings settings;

  sp_method method() const { return static_cast<sp_method>(settings.index()); }
  // Rows of a prompt table (prompt tuning, P-tuning, MPT): n * m.
  int64_t total_virtual_tokens() const { return num_virtual_tokens * num_transformer_submodules; }
  template <class Settings>
  const Settings& get() const {
    return std::get<Settings>(settings);
  }
  template <class Settings>
  Settings& get() {
    return std::get<Settings>(settings);
  }
};

}  // namespace sp::methods
