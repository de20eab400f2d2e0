#include "adapters/peft_folder.h"

#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/torch_tensors.h"
#include "methods/prompt_tuning.h"
#include "util/errors.h"
#include "version.h"

namespace sp::adapters {

namespace {

nlohmann::json common_config(const methods::SoftPromptMethod& method, const model::Transformer& model) {
  const model::ModelConfig& c = model.config();
  nlohmann::json config = nlohmann::json::object();
  config["auto_mapping"] = nullptr;
  config["base_model_name_or_path"] = model.folder();
  config["inference_mode"] = true;
  config["modules_to_save"] = nullptr;
  config["num_attention_heads"] = c.num_heads;
  config["num_layers"] = c.num_layers;
  config["num_transformer_submodules"] = 1;
  config["num_virtual_tokens"] = method.num_virtual_tokens();
  config["peft_type"] = method.peft_type();
  config["peft_version"] = std::string(kPeftLayoutVersion) + "@softprompt-" + SP_VERSION_STRING;
  config["revision"] = nullptr;
  config["task_type"] = "CAUSAL_LM";
  config["token_dim"] = c.hidden_size;
  return config;
}

int64_t integer_field(const nlohmann::json& config, const std::string& key, const std::string& path, int64_t fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(ErrorKind::Format, path + ": \"" + key + "\" must be an integer");
  return it->get<int64_t>();
}

std::string string_field(const nlohmann::json& config, const std::string& key, const std::string& path,
                         const std::string& fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(ErrorKind::Format, path + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

methods::PromptInit parse_prompt_init(const std::string& name, const std::string& path) {
  if (name == "RANDOM") return methods::PromptInit::Random;
  if (name == "SAMPLE_VOCAB") return methods::PromptInit::SampleVocab;
  if (name == "TEXT") return methods::PromptInit::Text;
  fail(ErrorKind::Format, path + ": unknown prompt_tuning_init \"" + name + "\"");
}

at::Tensor read_prompt_table(const std::string& weights_path, int64_t rows, int64_t columns) {
  auto file = io::SafetensorsFile::open(weights_path);
  const io::TensorView* view = file->find("prompt_embeddings");
  if (!view) fail(ErrorKind::Format, "'" + weights_path + "' has no tensor \"prompt_embeddings\"");
  if (view->shape != std::vector<int64_t>{rows, columns})
    fail(ErrorKind::ShapeMismatch, "'" + weights_path + "': prompt_embeddings has shape [" +
                                       (view->shape.size() == 2 ? std::to_string(view->shape[0]) + ", " + std::to_string(view->shape[1]) : "...") +
                                       "] but the adapter config and model need [" + std::to_string(rows) + ", " +
                                       std::to_string(columns) + "]");
  at::Tensor table = io::tensor_from_view(*view, file);
  if (!at::isFloatingType(table.scalar_type())) fail(ErrorKind::Format, "'" + weights_path + "': prompt_embeddings is not floating point");
  return table.to(at::kFloat).clone();  // PEFT up-casts stored tables to float32
}

}  // namespace

std::string peft_config_text(const methods::SoftPromptMethod& method, const model::Transformer& model) {
  nlohmann::json config = common_config(method, model);
  method.write_peft_config(config);
  return config.dump(2, ' ', /*ensure_ascii=*/true);
}

void save_peft_folder(const std::string& folder, const methods::SoftPromptMethod& method,
                      const model::Transformer& model) {
  io::make_directories(folder);
  std::vector<io::OwnedTensorToWrite> owned;
  for (const auto& [name, tensor] : method.tensors_for_saving()) owned.push_back(io::tensor_to_write(name, tensor));
  std::vector<io::TensorToWrite> entries;
  for (const auto& item : owned) entries.push_back(item.entry);
  io::write_safetensors(io::join_path(folder, kPeftWeightsFile), entries, {{"format", "pt"}});
  io::write_file_atomically(io::join_path(folder, kPeftConfigFile), peft_config_text(method, model));
}

std::unique_ptr<methods::SoftPromptMethod> load_peft_folder(const std::string& folder, const model::Transformer& model) {
  if (!io::is_directory(folder)) fail(ErrorKind::NotFound, "adapter folder not found: '" + folder + "'");
  const std::string config_path = io::join_path(folder, kPeftConfigFile);
  const std::string weights_path = io::join_path(folder, kPeftWeightsFile);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(io::read_file(config_path));
  } catch (const nlohmann::json::exception& error) {
    fail(ErrorKind::Format, config_path + " is not valid JSON: " + error.what());
  }
  if (!config.is_object()) fail(ErrorKind::Format, config_path + " is not a JSON object");
  if (!io::is_regular_file(weights_path)) {
    if (io::is_regular_file(io::join_path(folder, "adapter_model.bin")))
      fail(ErrorKind::Unsupported, "'" + folder + "' holds adapter_model.bin (a Python pickle); save it with "
                                   "safe_serialization=True to get adapter_model.safetensors");
    fail(ErrorKind::NotFound, "adapter folder '" + folder + "' has no " + kPeftWeightsFile);
  }

  const std::string peft_type = string_field(config, "peft_type", config_path, "");
  const std::string task_type = string_field(config, "task_type", config_path, "");
  if (task_type != "CAUSAL_LM")
    fail(ErrorKind::Unsupported, config_path + ": task_type \"" + task_type + "\" is not supported (only CAUSAL_LM)");
  const int64_t submodules = integer_field(config, "num_transformer_submodules", config_path, 1);
  if (submodules != 1) fail(ErrorKind::Unsupported, config_path + ": num_transformer_submodules must be 1 for CAUSAL_LM");
  const int64_t n = integer_field(config, "num_virtual_tokens", config_path, 0);
  if (n <= 0) fail(ErrorKind::Format, config_path + ": num_virtual_tokens must be a positive integer");
  const int64_t hidden = model.config().hidden_size;
  const int64_t token_dim = integer_field(config, "token_dim", config_path, hidden);
  if (token_dim != hidden)
    fail(ErrorKind::ShapeMismatch, config_path + ": adapter token_dim " + std::to_string(token_dim) +
                                       " does not match the model's hidden size " + std::to_string(hidden));

  if (peft_type == "PROMPT_TUNING") {
    methods::PromptTuningConfig method_config;
    method_config.num_virtual_tokens = n;
    method_config.init = parse_prompt_init(string_field(config, "prompt_tuning_init", config_path, "RANDOM"), config_path);
    method_config.init_text = string_field(config, "prompt_tuning_init_text", config_path, "");
    method_config.tokenizer_name_or_path = string_field(config, "tokenizer_name_or_path", config_path, "");
    return methods::PromptTuning::from_table(method_config, read_prompt_table(weights_path, n, hidden), model);
  }
  fail(ErrorKind::Unsupported, config_path + ": peft_type \"" + peft_type + "\" is not supported yet");
}

}  // namespace sp::adapters
