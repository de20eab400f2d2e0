// Multitask prompt tuning (Wang et al. 2023) as PEFT implements it: a shared (T, hidden) table P and,
// per task, a rank-r factorisation cols (T, r) @ rows (r, hidden); a row with task t receives
// P * (cols_t @ rows_t) (Hadamard product), prepended like prompt tuning.
#pragma once

#include <string>

#include "methods/method.h"

namespace sp::methods {

// What adapter_config.json records as prompt_tuning_init_state_dict_path, given the source the caller
// named. PEFT reads that path with safetensors' load_file when it ends in ".safetensors" (as a pickle
// otherwise, and a folder not at all), from its own working directory, and again whenever the adapter
// is loaded: so a folder becomes the path of its weights file (adapters::kPeftWeightsFile) and, with `make_absolute`,
// an existing relative path an absolute one.
std::string resolved_source_adapter(const std::string& source_adapter, bool make_absolute);

class MultitaskPromptTuning final : public SoftPromptMethod {
 public:
  // Target initialisations (AVERAGE_SOURCE_TASKS, EXACT_SOURCE_TASK, ONLY_SOURCE_SHARED) read the
  // source adapter named by settings.source_adapter (a PEFT folder or its adapter_model.safetensors).
  // `loading` skips the TEXT lookup and the source initialisation: the tensors are about to be
  // overwritten (PEFT re-runs the source initialisation even then - quirk 10 of the spec - and fails
  // if the source file is gone; we do not).
  MultitaskPromptTuning(const MethodConfig& config, const model::Transformer& model, bool loading);

  int64_t num_tasks() const override { return config_.get<MultitaskPromptTuningSettings>().num_tasks; }
  PromptContribution contribute(const PromptRequest& request) const override;
  NamedTensors prompt_parameters() const override {
    return {{"embedding.weight", table_}, {"prefix_task_cols", cols_}, {"prefix_task_rows", rows_}};
  }
  // PEFT stores the raw shared table and both factors.
  NamedTensors prompt_tensors_for_saving() const override {
    return {{"prompt_embeddings", table_.detach()},
            {"prefix_task_cols", cols_.detach()},
            {"prefix_task_rows", rows_.detach()}};
  }

 private:
  void initialise_from_source();
  MultitaskPromptTuningSettings& settings() { return config_.get<MultitaskPromptTuningSettings>(); }

  at::Tensor table_;  // (T, hidden)
  at::Tensor cols_;   // (num_tasks, T, r)
  at::Tensor rows_;   // (num_tasks, r, hidden)
};

}  // namespace sp::methods
