#include "methods/multitask_prompt_tuning/config.h"

#include "methods/multitask_prompt_tuning/multitask_prompt_tuning.h"
#include "methods/prompt_tuning/config.h"

namespace sp::methods {

namespace {
void read_params(const sp_adapter_params& params, const ParamsContext& context, MethodConfig& config) {
  MultitaskPromptTuningSettings settings;
  settings.prompt = read_prompt_params(params, context);
  settings.num_tasks = params.num_tasks;
  settings.num_ranks = params.num_ranks;
  if (params.source_adapter) settings.source_adapter = params.source_adapter;
  settings.source_task = params.source_task;
  config.settings = settings;
}

void validate(const MethodConfig& config, const SettingsCheck& check) {
  const auto& settings = config.get<MultitaskPromptTuningSettings>();
  check.require(settings.prompt.init != SP_INIT_SAMPLE_VOCAB,
                "multitask prompt tuning has no SAMPLE_VOCAB initialisation");
  check.require(settings.num_tasks >= 1, "num_tasks must be at least 1, got " + std::to_string(settings.num_tasks));
  check.require(settings.num_ranks >= 1, "num_ranks must be at least 1, got " + std::to_string(settings.num_ranks));
  check.require(settings.source_task >= 0,
                "source_task must not be negative, got " + std::to_string(settings.source_task));
  check.bound(settings.num_tasks, 1, kMaxTasks, "num_tasks");
  check.bound(settings.num_ranks, 1, kMaxRanks, "num_ranks");
}

void write_peft(const MethodConfig& config, const model::ModelConfig&, const std::string& model_folder,
                nlohmann::json& json) {
  const auto& settings = config.get<MultitaskPromptTuningSettings>();
  write_prompt_peft(settings.prompt, model_folder, json);
  json["num_ranks"] = settings.num_ranks;
  json["num_tasks"] = settings.num_tasks;
  json["prompt_tuning_init_state_dict_path"] =
      settings.source_adapter.empty() ? nlohmann::json(nullptr) : nlohmann::json(settings.source_adapter);
  json["prompt_tuning_init_task"] = settings.source_task;
}

void read_peft(const JsonReader& json, MethodConfig& config) {
  MultitaskPromptTuningSettings settings;
  settings.prompt = read_prompt_peft(json);
  settings.num_tasks = json.integer("num_tasks", 1);
  settings.num_ranks = json.integer("num_ranks", 1);
  settings.source_adapter = json.string("prompt_tuning_init_state_dict_path", "");
  settings.source_task = json.integer("prompt_tuning_init_task", 0);
  config.settings = settings;
}

std::vector<ExpectedTensor> expected_parameters(const MethodConfig& config, const model::ModelConfig& model) {
  const auto& settings = config.get<MultitaskPromptTuningSettings>();
  const ExpectedDim tokens = table_rows_dim(config), hidden = hidden_size_dim(model);
  const ExpectedDim tasks{settings.num_tasks, "num_tasks"}, ranks{settings.num_ranks, "num_ranks"};
  return {{"embedding.weight", {tokens, hidden}},
          {"prefix_task_cols", {tasks, tokens, ranks}},
          {"prefix_task_rows", {tasks, ranks, hidden}}};
}

std::unique_ptr<SoftPromptMethod> create(const MethodConfig& config, const model::Transformer& model, bool loading) {
  return std::make_unique<MultitaskPromptTuning>(config, model, loading);
}
}  // namespace

const MethodRow kMultitaskPromptTuningRow = {SP_METHOD_MULTITASK_PROMPT_TUNING,
                                             "MULTITASK_PROMPT_TUNING",
                                             embedding_geometry,
                                             read_params,
                                             validate,
                                             write_peft,
                                             read_peft,
                                             expected_parameters,
                                             create};

}  // namespace sp::methods
