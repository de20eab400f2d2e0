// Adapters in PEFT's folder layout: `adapter_config.json` (PEFT's keys, sorted, two-space indent,
// exactly as Python's json.dumps(indent=2, sort_keys=True) writes them) and
// `adapter_model.safetensors` (PEFT's tensor keys, metadata {"format": "pt"}).
// Folders written here load with PeftModel.from_pretrained on the matching transformers model,
// and folders PEFT writes load here, for all four methods.
#pragma once

#include <memory>
#include <string>

#include "adapters/peft_files.h"
#include "methods/method.h"
#include "model/transformer.h"

namespace sp::adapters {

// Replaces the folder as a unit (io::write_folder_atomically): old files or new, never a mix;
// other files in the folder (a README.md, tokenizer files) are kept.
void save_peft_folder(const std::string& folder, const methods::SoftPromptMethod& method,
                      const model::Transformer& model);

// Reads a PEFT folder and builds the method on `model`. Throws NotFound, Format, Unsupported
// (another task type or method) or ShapeMismatch (an adapter made for another model size).
// P-tuning and projected-prefix folders come back as their encoded tables (trainable directly).
std::unique_ptr<methods::SoftPromptMethod> load_peft_folder(const std::string& folder, const model::Transformer& model);

}  // namespace sp::adapters
