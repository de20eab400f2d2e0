// The table of soft-prompt methods, one row per method (as model/families.h is for model families).
// A row says what PEFT calls the method, reads its settings from sp_adapter_params and from
// adapter_config.json, checks them, writes them back, predicts the tensors the method allocates and
// builds it. Each row is defined in its method's folder (<method>/config.cpp).
//
// Adding a method: a folder methods/<method>/ (settings.h, config.cpp with its row, the method
// class), its settings in MethodSettings (method_config.h), its row in registry.cpp, and its public
// sp_method value (with any new sp_adapter_params fields) in softprompt.h.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "methods/method.h"
#include "methods/method_config.h"
#include "methods/parameter_shapes.h"
#include "model/config.h"
#include "model/transformer.h"
#include "softprompt/softprompt.h"
#include "tokenizer/tokenizer.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::methods {

// How a configuration's errors are reported: InvalidArgument and no source for a caller's request,
// Format and the file (and record) for a file's; `source` prefixes every message.
struct SettingsCheck {
  ErrorKind kind;
  std::string source;

  [[noreturn]] void fail(const std::string& message) const;
  void require(bool condition, const std::string& message) const {
    if (!condition) fail(message);
  }
  // value in [low, high], or a message naming the key, the value and the range.
  void bound(int64_t value, int64_t low, int64_t high, const char* key) const;
};

// The geometry PEFT records in adapter_config.json (its config completion step). `per_layer`: the
// method's tensors depend on every layer, so num_layers and num_attention_heads must match too.
struct PeftGeometry {
  int64_t token_dim;
  int64_t num_attention_heads;
  bool per_layer;
};

// What a method reads sp_adapter_params against: the model's configuration, and the tokenizer a
// TEXT init from init_text needs, fetched only then (it throws the model's reason when the model
// has none: no tokenizer.json, or one that could not be read).
struct ParamsContext {
  const model::ModelConfig& model;
  std::function<std::shared_ptr<const tok::Tokenizer>()> tokenizer;
};

struct MethodRow {
  sp_method method;
  const char* peft_type;  // PEFT's PeftType name, e.g. "PROMPT_TUNING"
  PeftGeometry (*peft_geometry)(const model::ModelConfig& model);
  // Emplaces the method's settings from the public parameters (other methods' fields are ignored).
  // Requests the struct can express but the method cannot honour (an init mode it lacks, TEXT
  // without ids or text, ids outside the vocabulary) fail with InvalidArgument or OutOfRange.
  void (*read_params)(const sp_adapter_params& params, const ParamsContext& context, MethodConfig& config);
  // The settings' own rules and bounds, for requests and files alike.
  void (*validate)(const MethodConfig& config, const SettingsCheck& check);
  // The method's own keys of adapter_config.json, both ways. `model_folder` is the base model's
  // folder (the tokenizer PEFT records for a TEXT init). read_peft emplaces the settings and sets
  // encoded_only where PEFT's files hold encoder outputs.
  void (*write_peft)(const MethodConfig& config, const model::ModelConfig& model, const std::string& model_folder,
                     nlohmann::json& json);
  void (*read_peft)(const JsonReader& json, MethodConfig& config);
  // The tensors create() allocates, in parameters() order. Call only after validate().
  std::vector<ExpectedTensor> (*expected_parameters)(const MethodConfig& config, const model::ModelConfig& model);
  // `loading`: the tensors are about to be overwritten from a file (data-dependent inits skipped).
  std::unique_ptr<SoftPromptMethod> (*create)(const MethodConfig& config, const model::Transformer& model,
                                              bool loading);
};

// The row of a public method value; InvalidArgument for a value that is not an sp_method.
const MethodRow& method_row(sp_method method);
// The row of a PEFT type name; nullptr when softprompt has no such method.
const MethodRow* find_method_row(const std::string& peft_type);
std::string supported_peft_types();  // "PROMPT_TUNING, PREFIX_TUNING, ...", for messages

// The geometry of methods that prepend embeddings (every method but prefix tuning): the model's
// hidden size and attention heads.
PeftGeometry embedding_geometry(const model::ModelConfig& model);

// For rows whose tables always start random (prefix tuning, P-tuning): refuses any other init.
void require_random_init(const sp_adapter_params& params, const char* peft_type);

}  // namespace sp::methods
