// adapter_config.json <-> MethodConfig, with exactly the fields PEFT's config classes declare: the
// fields every prompt-learning config has here, each method's own through its row (methods/registry.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "methods/method.h"
#include "methods/parameter_shapes.h"
#include "methods/registry.h"
#include "model/transformer.h"

namespace sp::adapters {

// The PEFT release whose file layout this code writes; recorded in "peft_version" with our name.
constexpr const char* kPeftLayoutVersion = "0.21.2";

// Every declared field of the method's PEFT config class, completed from the model as PEFT completes it.
nlohmann::json peft_config_json(const methods::SoftPromptMethod& method, const model::Transformer& model);

// The part of parse_peft_config that needs no model: the method (its row), the task type, the number
// of virtual tokens and the method's own keys, read and checked (Unsupported, Format).
struct PeftConfigAlone {
  methods::MethodConfig config;
  const methods::MethodRow* row;
};
PeftConfigAlone read_peft_config(const nlohmann::json& config, const std::string& path);

// Reads a PEFT config (missing optional keys take PEFT's defaults, unknown keys are ignored) and
// checks it against the model. `path` names the file in error messages. The result has
// encoded_only set where PEFT's file holds encoder outputs (P-tuning, projected prefixes).
methods::MethodConfig parse_peft_config(const nlohmann::json& config, const std::string& path,
                                        const model::Transformer& model);

// PEFT records a head's class count only as the first dimension of its last weight: sets
// config.task.num_labels from a file's declared tensors (Format when the head is missing).
void read_num_labels(methods::MethodConfig& config, const model::Transformer& model,
                     const std::vector<methods::DeclaredTensor>& declared, const std::string& source);

}  // namespace sp::adapters
