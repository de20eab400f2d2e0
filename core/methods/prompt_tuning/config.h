// Prompt tuning's row of the method table, and its prompt-init settings, which multitask prompt
// tuning shares (PEFT's MultitaskPromptTuningConfig extends PromptTuningConfig).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "methods/registry.h"

namespace sp::methods {

extern const MethodRow kPromptTuningRow;

// PEFT's PromptTuningInit / MultitaskPromptTuningInit spelling: "RANDOM", "TEXT", ...
const char* prompt_init_name(sp_prompt_init init);
// The inits that copy a source adapter (multitask prompt tuning only).
bool is_source_init(sp_prompt_init init);

// init, TEXT ids (required with TEXT, each inside the vocabulary), init text, tokenizer name.
PromptTuningSettings read_prompt_params(const sp_adapter_params& params, const ParamsContext& context);
// prompt_tuning_init and its text and tokenizer keys, both ways.
void write_prompt_peft(const PromptTuningSettings& settings, const std::string& model_folder, nlohmann::json& json);
PromptTuningSettings read_prompt_peft(const JsonReader& json);

}  // namespace sp::methods
