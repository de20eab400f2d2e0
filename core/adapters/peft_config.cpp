#include "adapters/peft_config.h"

#include <cstdint>

#include "util/errors.h"
#include "version.h"

namespace sp::adapters {

using methods::MethodConfig;
using methods::MethodKind;
using methods::PromptInit;

namespace {

void write_prompt_init_fields(const MethodConfig& c, const model::Transformer& model, nlohmann::json& config) {
  config["prompt_tuning_init"] = methods::prompt_init_name(c.init);
  config["prompt_tuning_init_text"] = nullptr;
  config["tokenizer_name_or_path"] = nullptr;
  config["tokenizer_kwargs"] = nullptr;
  if (c.init == PromptInit::Text) {
    // PEFT refuses a TEXT config without text and tokenizer even though loading never uses them;
    // without a tokenizer name, the base model's folder is the honest answer: it holds the tokenizer.
    config["prompt_tuning_init_text"] = c.init_text;
    config["tokenizer_name_or_path"] = c.tokenizer_name_or_path.empty() ? model.folder() : c.tokenizer_name_or_path;
  }
}

int64_t integer(const nlohmann::json& config, const std::string& key, const std::string& path, int64_t fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(ErrorKind::Format, path + ": \"" + key + "\" must be an integer");
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    fail(ErrorKind::Format, path + ": \"" + key + "\" = " + it->dump() + " is too large");
  return it->get<int64_t>();
}

double number(const nlohmann::json& config, const std::string& key, const std::string& path, double fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_number()) fail(ErrorKind::Format, path + ": \"" + key + "\" must be a number");
  return it->get<double>();
}

bool boolean(const nlohmann::json& config, const std::string& key, const std::string& path, bool fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(ErrorKind::Format, path + ": \"" + key + "\" must be true or false");
  return it->get<bool>();
}

std::string text(const nlohmann::json& config, const std::string& key, const std::string& path, const std::string& fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(ErrorKind::Format, path + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

MethodKind parse_kind(const std::string& name, const std::string& path) {
  for (MethodKind kind : {MethodKind::PromptTuning, MethodKind::PrefixTuning, MethodKind::PTuning, MethodKind::MultitaskPromptTuning})
    if (name == methods::peft_type_name(kind)) return kind;
  fail(ErrorKind::Unsupported, path + ": peft_type \"" + name + "\" is not a soft-prompt method softprompt supports");
}

PromptInit parse_init(const std::string& name, const std::string& path) {
  for (PromptInit init : {PromptInit::Random, PromptInit::SampleVocab, PromptInit::Text, PromptInit::AverageSourceTasks,
                          PromptInit::ExactSourceTask, PromptInit::OnlySourceShared})
    if (name == methods::prompt_init_name(init)) return init;
  fail(ErrorKind::Format, path + ": unknown prompt_tuning_init \"" + name + "\"");
}

void expect_equal(int64_t found, int64_t expected, const std::string& path, const std::string& what) {
  if (found != expected)
    fail(ErrorKind::ShapeMismatch, path + ": adapter " + what + " " + std::to_string(found) + " does not match the model's " +
                                       std::to_string(expected));
}

}  // namespace

nlohmann::json peft_config_json(const methods::SoftPromptMethod& method, const model::Transformer& model) {
  const MethodConfig& c = method.config();
  nlohmann::json config = nlohmann::json::object();
  config["auto_mapping"] = nullptr;
  config["base_model_name_or_path"] = model.folder();
  config["inference_mode"] = true;
  config["modules_to_save"] = nullptr;
  config["num_attention_heads"] = method.peft_num_attention_heads();
  config["num_layers"] = model.config().num_layers;
  config["num_transformer_submodules"] = 1;
  config["num_virtual_tokens"] = c.num_virtual_tokens;
  config["peft_type"] = methods::peft_type_name(c.kind);
  config["peft_version"] = std::string(kPeftLayoutVersion) + "@softprompt-" + SP_VERSION_STRING;
  config["revision"] = nullptr;
  config["task_type"] = "CAUSAL_LM";
  config["token_dim"] = method.peft_token_dim();
  const int64_t encoder_hidden = c.encoder_hidden_size > 0 ? c.encoder_hidden_size : method.peft_token_dim();
  switch (c.kind) {
    case MethodKind::PromptTuning:
      write_prompt_init_fields(c, model, config);
      break;
    case MethodKind::PrefixTuning:
      config["encoder_hidden_size"] = encoder_hidden;
      config["init_weights"] = c.zero_init ? nlohmann::json("zero") : nlohmann::json(nullptr);
      config["prefix_projection"] = c.prefix_projection;
      break;
    case MethodKind::PTuning:
      config["encoder_dropout"] = c.encoder_dropout;
      config["encoder_hidden_size"] = encoder_hidden;
      config["encoder_num_layers"] = c.encoder_num_layers;
      config["encoder_reparameterization_type"] = methods::encoder_type_name(c.encoder_type);
      break;
    case MethodKind::MultitaskPromptTuning:
      write_prompt_init_fields(c, model, config);
      config["num_ranks"] = c.num_ranks;
      config["num_tasks"] = c.num_tasks;
      config["prompt_tuning_init_state_dict_path"] = c.source_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.source_path);
      config["prompt_tuning_init_task"] = c.source_task;
      break;
  }
  return config;
}

MethodConfig parse_peft_config(const nlohmann::json& config, const std::string& path, const model::Transformer& model) {
  if (!config.is_object()) fail(ErrorKind::Format, path + " is not a JSON object");
  MethodConfig c;
  c.kind = parse_kind(text(config, "peft_type", path, ""), path);
  const std::string task_type = text(config, "task_type", path, "");
  if (task_type != "CAUSAL_LM")
    fail(ErrorKind::Unsupported, path + ": task_type \"" + task_type + "\" is not supported (only CAUSAL_LM)");
  if (integer(config, "num_transformer_submodules", path, 1) != 1)
    fail(ErrorKind::Unsupported, path + ": num_transformer_submodules must be 1 for CAUSAL_LM");
  c.num_virtual_tokens = integer(config, "num_virtual_tokens", path, 0);
  if (c.num_virtual_tokens <= 0) fail(ErrorKind::Format, path + ": num_virtual_tokens must be a positive integer");

  const model::ModelConfig& m = model.config();
  const bool prefix = c.kind == MethodKind::PrefixTuning;
  const int64_t token_dim = prefix ? m.head_dim * m.num_kv_heads : m.hidden_size;
  expect_equal(integer(config, "token_dim", path, token_dim), token_dim, path, "token_dim");
  if (prefix) {
    expect_equal(integer(config, "num_layers", path, m.num_layers), m.num_layers, path, "num_layers");
    expect_equal(integer(config, "num_attention_heads", path, m.num_kv_heads), m.num_kv_heads, path,
                 "num_attention_heads (key/value heads)");
  }

  c.init = parse_init(text(config, "prompt_tuning_init", path, "RANDOM"), path);
  c.init_text = text(config, "prompt_tuning_init_text", path, "");
  c.tokenizer_name_or_path = text(config, "tokenizer_name_or_path", path, "");
  c.encoder_hidden_size = integer(config, "encoder_hidden_size", path, 0);
  c.prefix_projection = boolean(config, "prefix_projection", path, false);
  c.zero_init = text(config, "init_weights", path, "") == "zero";
  const std::string encoder = text(config, "encoder_reparameterization_type", path, "MLP");
  if (encoder != "MLP" && encoder != "LSTM") fail(ErrorKind::Format, path + ": unknown encoder_reparameterization_type \"" + encoder + "\"");
  c.encoder_type = encoder == "LSTM" ? methods::EncoderType::Lstm : methods::EncoderType::Mlp;
  c.encoder_num_layers = integer(config, "encoder_num_layers", path, 2);
  c.encoder_dropout = number(config, "encoder_dropout", path, 0.0);
  c.num_tasks = integer(config, "num_tasks", path, 1);
  c.num_ranks = integer(config, "num_ranks", path, 1);
  c.source_path = text(config, "prompt_tuning_init_state_dict_path", path, "");
  c.source_task = integer(config, "prompt_tuning_init_task", path, 0);
  // PEFT's files hold encoder outputs for P-tuning and projected prefixes (its inference mode).
  c.encoded_only = c.kind == MethodKind::PTuning || (prefix && c.prefix_projection);
  if (c.kind != MethodKind::PromptTuning && c.kind != MethodKind::MultitaskPromptTuning) c.init = PromptInit::Random;
  return c;
}

}  // namespace sp::adapters
