#include "adapters/peft_config.h"

#include "methods/registry.h"
#include "objectives/classification_head.h"
#include "util/errors.h"
#include "version.h"

namespace sp::adapters {

namespace {
void expect_equal(int64_t found, int64_t expected, const JsonReader& json, const std::string& what) {
  if (found != expected)
    fail(ErrorKind::ShapeMismatch, json.source() + ": adapter " + what + " " + std::to_string(found) +
                                       " does not match the model's " + std::to_string(expected));
}
}  // namespace

nlohmann::json peft_config_json(const methods::SoftPromptMethod& method, const model::Transformer& model) {
  const methods::MethodConfig& c = method.config();
  const methods::MethodRow& row = methods::method_row(c.method());
  const methods::PeftGeometry geometry = row.peft_geometry(model.config());
  // The fields every PEFT prompt-learning config declares, then the method's own.
  nlohmann::json config = nlohmann::json::object();
  config["auto_mapping"] = nullptr;
  config["base_model_name_or_path"] = model.folder();
  config["inference_mode"] = true;
  // SEQ_CLS and TOKEN_CLS: PEFT appends both head names (twice: see the spec's quirk 17).
  config["modules_to_save"] =
      c.task.classifies() ? nlohmann::json{"classifier", "score", "classifier", "score"} : nlohmann::json(nullptr);
  config["num_attention_heads"] = geometry.num_attention_heads;
  config["num_layers"] = model.config().num_layers;
  config["num_transformer_submodules"] = c.num_transformer_submodules;
  config["num_virtual_tokens"] = c.num_virtual_tokens;
  config["peft_type"] = row.peft_type;
  config["peft_version"] = std::string(kPeftLayoutVersion) + "@softprompt-" + SP_VERSION_STRING;
  config["revision"] = nullptr;
  config["task_type"] = objectives::task_name(c.task.type);
  config["token_dim"] = geometry.token_dim;
  row.write_peft(c, model.config(), model.folder(), config);
  return config;
}

PeftConfigAlone read_peft_config(const nlohmann::json& config, const std::string& path) {
  const JsonReader json(config, path);
  const std::string peft_type = json.string("peft_type", "");
  const methods::MethodRow* row = methods::find_method_row(peft_type);
  if (!row)
    json.unsupported("peft_type \"" + peft_type + "\" is not a soft-prompt method softprompt supports (" +
                     methods::supported_peft_types() + ")");
  const std::string task_type = json.string("task_type", "");
  PeftConfigAlone result{{}, row};
  if (!objectives::task_from_name(task_type, result.config.task.type))
    json.unsupported("task_type \"" + task_type + "\" is not supported (supported: " + objectives::task_names() + ")");
  // PEFT completes a null num_transformer_submodules to 2 for SEQ_2_SEQ_LM and 1 otherwise; only
  // seq2seq models have a second submodule to prompt.
  const bool seq2seq = result.config.task.type == SP_TASK_SEQ_2_SEQ_LM;
  result.config.num_transformer_submodules = json.integer("num_transformer_submodules", seq2seq ? 2 : 1);
  if (result.config.num_transformer_submodules != 1 && !(seq2seq && result.config.num_transformer_submodules == 2))
    json.unsupported("num_transformer_submodules must be " + std::string(seq2seq ? "1 or 2" : "1") + " for " +
                     task_type + ", got " + std::to_string(result.config.num_transformer_submodules));
  result.config.num_virtual_tokens = json.integer("num_virtual_tokens", 0);
  if (result.config.num_virtual_tokens <= 0) json.format_error("num_virtual_tokens must be a positive integer");
  row->read_peft(json, result.config);
  return result;
}

methods::MethodConfig parse_peft_config(const nlohmann::json& config, const std::string& path,
                                        const model::Transformer& model) {
  const PeftConfigAlone alone = read_peft_config(config, path);
  const JsonReader json(config, path);
  const model::ModelConfig& m = model.config();
  const methods::PeftGeometry geometry = alone.row->peft_geometry(m);
  expect_equal(json.integer("token_dim", geometry.token_dim), geometry.token_dim, json, "token_dim");
  if (geometry.per_layer) {
    expect_equal(json.integer("num_layers", m.num_layers), m.num_layers, json, "num_layers");
    expect_equal(json.integer("num_attention_heads", geometry.num_attention_heads), geometry.num_attention_heads, json,
                 "num_attention_heads (key/value heads)");
  }
  return alone.config;
}

void read_num_labels(methods::MethodConfig& config, const model::Transformer& model,
                     const std::vector<methods::DeclaredTensor>& declared, const std::string& source) {
  const std::string name = objectives::labels_tensor_name(config.task, model);
  if (name.empty()) return;
  for (const auto& tensor : declared)
    if (tensor.name == name) {
      if (tensor.shape.size() != 2) fail(ErrorKind::Format, source + ": head tensor \"" + name + "\" is not a matrix");
      config.task.num_labels = tensor.shape[0];
      return;
    }
  fail(ErrorKind::Format, source + " lacks tensor \"" + name + "\" (the " + objectives::task_name(config.task.type) +
                              " head " + model.config().model_type + " models have)");
}

}  // namespace sp::adapters
