// What an adapter file or folder holds, read without a model: the C API's sp_adapter_describe and
// the command-line tool's `inspect`.
#pragma once

#include <string>

namespace sp::adapters {

// A JSON text (see sp_adapter_describe in softprompt.h): {"format", "method", "peft_config",
// "tensors", "parameter_count"} for every kind, "encoded_only", "seed" and "base_model" for
// softprompt's files, "trainer" for trainer states. The file is checked as loading checks it, up to
// what needs a model (sizes against the model, the base-model comparison): NotFound, Format,
// Unsupported (a newer version, another method or task type).
std::string describe(const std::string& path);

}  // namespace sp::adapters
