#include "methods/prompt_tuning/config.h"

#include "io/file_util.h"
#include "methods/prompt_tuning/prompt_tuning.h"

namespace sp::methods {

namespace {
constexpr sp_prompt_init kInits[] = {SP_INIT_RANDOM,
                                     SP_INIT_SAMPLE_VOCAB,
                                     SP_INIT_TEXT,
                                     SP_INIT_AVERAGE_SOURCE_TASKS,
                                     SP_INIT_EXACT_SOURCE_TASK,
                                     SP_INIT_ONLY_SOURCE_SHARED};

void read_params(const sp_adapter_params& params, const ParamsContext& context, MethodConfig& config) {
  config.settings = read_prompt_params(params, context);
}

void validate(const MethodConfig& config, const SettingsCheck& check) {
  const sp_prompt_init init = config.get<PromptTuningSettings>().init;
  check.require(!is_source_init(init),
                std::string("prompt tuning has no ") + prompt_init_name(init) + " initialisation");
}

void write_peft(const MethodConfig& config, const model::ModelConfig&, const std::string& model_folder,
                nlohmann::json& json) {
  write_prompt_peft(config.get<PromptTuningSettings>(), model_folder, json);
}

void read_peft(const JsonReader& json, MethodConfig& config) { config.settings = read_prompt_peft(json); }

std::vector<ExpectedTensor> expected_parameters(const MethodConfig& config, const model::ModelConfig& model) {
  return {{"embedding.weight", {table_rows_dim(config), hidden_size_dim(model)}}};
}

std::unique_ptr<SoftPromptMethod> create(const MethodConfig& config, const model::Transformer& model, bool loading) {
  return std::make_unique<PromptTuning>(config, model, loading);
}
}  // namespace

const MethodRow kPromptTuningRow = {
    SP_METHOD_PROMPT_TUNING, "PROMPT_TUNING", embedding_geometry, read_params, validate, write_peft, read_peft,
    expected_parameters,     create};

const char* prompt_init_name(sp_prompt_init init) {
  switch (init) {
    case SP_INIT_RANDOM:
      return "RANDOM";
    case SP_INIT_SAMPLE_VOCAB:
      return "SAMPLE_VOCAB";
    case SP_INIT_TEXT:
      return "TEXT";
    case SP_INIT_AVERAGE_SOURCE_TASKS:
      return "AVERAGE_SOURCE_TASKS";
    case SP_INIT_EXACT_SOURCE_TASK:
      return "EXACT_SOURCE_TASK";
    case SP_INIT_ONLY_SOURCE_SHARED:
      return "ONLY_SOURCE_SHARED";
  }
  return "an unknown";
}

bool is_source_init(sp_prompt_init init) {
  return init == SP_INIT_AVERAGE_SOURCE_TASKS || init == SP_INIT_EXACT_SOURCE_TASK ||
         init == SP_INIT_ONLY_SOURCE_SHARED;
}

namespace {
// The ids PEFT initialises from: tokenizer(prompt_tuning_init_text)["input_ids"], special tokens
// included. The tokenizer is the one tokenizer_name_or_path names when that is a local file or
// folder, otherwise the model's own.
std::vector<int32_t> tokenize_init_text(const PromptTuningSettings& settings, const ParamsContext& context) {
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  try {
    const std::string& named = settings.tokenizer_name_or_path;
    if (!named.empty() && (io::is_regular_file(named) || io::is_directory(named)))
      tokenizer = tok::Tokenizer::load(settings.tokenizer_name_or_path);
    else
      tokenizer = context.tokenizer();
    return tokenizer->encode(settings.init_text, true);
  } catch (const Error& error) {
    fail(error.kind(), "SP_INIT_TEXT from params->init_text: " + std::string(error.what()));
  }
}
}  // namespace

PromptTuningSettings read_prompt_params(const sp_adapter_params& params, const ParamsContext& context) {
  PromptTuningSettings settings;
  settings.init = params.init;
  if (params.init_text) settings.init_text = params.init_text;
  if (params.tokenizer_name_or_path) settings.tokenizer_name_or_path = params.tokenizer_name_or_path;
  if (params.init != SP_INIT_TEXT) return settings;
  std::vector<int32_t> ids;
  const char* source = "init_token_ids";
  if (params.init_token_ids != nullptr && params.num_init_token_ids > 0) {
    ids.assign(params.init_token_ids, params.init_token_ids + params.num_init_token_ids);
  } else if (!settings.init_text.empty()) {
    ids = tokenize_init_text(settings, context);
    source = "the ids of init_text";
    if (ids.empty()) fail(ErrorKind::InvalidArgument, "SP_INIT_TEXT: params->init_text encodes to no ids");
  } else {
    fail(ErrorKind::InvalidArgument,
         "SP_INIT_TEXT needs params->init_token_ids (with a positive params->num_init_token_ids) or params->init_text");
  }
  const int64_t vocab_size = context.model.vocab_size;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size)
      fail(ErrorKind::OutOfRange, std::string(source) + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                                      " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    settings.init_token_ids.push_back(ids[i]);
  }
  return settings;
}

void write_prompt_peft(const PromptTuningSettings& settings, const std::string& model_folder, nlohmann::json& json) {
  json["prompt_tuning_init"] = prompt_init_name(settings.init);
  json["prompt_tuning_init_text"] = nullptr;
  json["tokenizer_name_or_path"] = nullptr;
  json["tokenizer_kwargs"] = nullptr;
  if (settings.init == SP_INIT_TEXT) {
    // PEFT refuses a TEXT config without text and tokenizer even though loading never uses them;
    // without a tokenizer name, the base model's folder is the honest answer: it holds the tokenizer.
    json["prompt_tuning_init_text"] = settings.init_text;
    json["tokenizer_name_or_path"] =
        settings.tokenizer_name_or_path.empty() ? model_folder : settings.tokenizer_name_or_path;
  }
}

PromptTuningSettings read_prompt_peft(const JsonReader& json) {
  PromptTuningSettings settings;
  const std::string init = json.string("prompt_tuning_init", "RANDOM");
  bool known = false;
  for (sp_prompt_init candidate : kInits)
    if (init == prompt_init_name(candidate)) {
      settings.init = candidate;
      known = true;
    }
  if (!known) json.format_error("unknown prompt_tuning_init \"" + init + "\"");
  settings.init_text = json.string("prompt_tuning_init_text", "");
  settings.tokenizer_name_or_path = json.string("tokenizer_name_or_path", "");
  return settings;
}

}  // namespace sp::methods
