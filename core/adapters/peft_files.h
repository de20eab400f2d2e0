// The file names of PEFT's adapter folder. Multitask prompt tuning reads a source adapter's weights
// file by this name too.
#pragma once

namespace sp::adapters {

constexpr const char* kPeftConfigFile = "adapter_config.json";
constexpr const char* kPeftWeightsFile = "adapter_model.safetensors";

}  // namespace sp::adapters
