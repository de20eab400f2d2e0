// softprompt's single-file adapter format (see single_file_format.md beside this file): one checked,
// compressed, versioned file holding a method's configuration, all of its trainable tensors
// (encoders included, so training can resume) and a record of the base model it was trained on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "methods/method.h"
#include "model/transformer.h"

namespace sp::adapters {

constexpr std::uint32_t kSingleFileVersion = 1;

// Writes atomically (temporary file in the same folder, flush, rename).
void save_single_file(const std::string& path, const methods::SoftPromptMethod& method,
                      const model::Transformer& model);

// Reads and verifies a file. Throws NotFound, Format (empty, truncated, corrupt: magic, sizes,
// checksum, content), Unsupported (a format version this build does not read) or ModelMismatch
// (trained on another base model: family, sizes or embedding fingerprint differ).
std::unique_ptr<methods::SoftPromptMethod> load_single_file(const std::string& path, const model::Transformer& model);

}  // namespace sp::adapters
