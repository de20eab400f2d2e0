// Models, tokenizers and adapters from the paths the user gives, and where adapters are saved.
//
// Adapter paths: a folder (or a path ending in "/") is PEFT's folder layout (adapter_config.json +
// adapter_model.safetensors); anything else is softprompt's single file.
#pragma once

#include <string>
#include <vector>

#include "handles.h"
#include "options.h"

namespace cli {

// --model, --device, --dtype, --threads: the options every command that loads a model takes.
std::vector<OptionSpec> model_options();

// --threads N, when given: the library's thread count (sp_set_num_threads), for every call from
// then on. A count the library refuses is a UsageError.
void apply_thread_option(const ParsedOptions& options);

// The model the options name (resolving `default`), on the device and dtype they ask for, after
// apply_thread_option (so that the loading runs with that count too).
Model load_model(const ParsedOptions& options);
// The same for a path given otherwise (`default` resolved); device and dtype from options.
Model load_model_from(const std::string& model_option, const ParsedOptions& options);

// The model's tokenizer; a RuntimeFailure saying why a tokenizer is needed when it has none.
Tokenizer model_tokenizer(const sp_model* model, const std::string& needed_for);

bool is_folder_path(const std::string& path);

// A PEFT folder or a single file, by the convention above.
Adapter load_adapter(sp_model* model, const std::string& path);
void save_adapter(const sp_adapter* adapter, const std::string& path);

}  // namespace cli
