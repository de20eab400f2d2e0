// One training step: forward with the soft prompt, shifted causal-LM loss, backward into the
// method's parameters only (model weights never require gradients), then - every
// `accumulation_steps` calls - optional clipping and an AdamW update at the scheduled rate.
#pragma once

#include <memory>

#include <ATen/core/grad_mode.h>

#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/batch.h"
#include "train/adamw.h"
#include "train/schedule.h"
#include "train/trainer_config.h"

namespace sp::train {

struct StepResult {
  double loss = 0;           // this micro-batch's mean loss (not divided by accumulation_steps)
  bool updated = false;      // whether this call applied an optimizer update
  double grad_norm = 0;      // total gradient norm before clipping (valid when updated)
  double learning_rate = 0;  // rate of that update (valid when updated)
  int64_t updates_done = 0;  // optimizer updates so far
};

class Trainer {
 public:
  // Validates `config` (InvalidArgument naming the setting).
  Trainer(std::shared_ptr<const model::Transformer> model, methods::SoftPromptMethod& method, TrainerConfig config);

  StepResult step(const prompting::Batch& batch);
  // The accumulated gradient that the latest update used (before clipping), by parameter name.
  const methods::NamedTensors& last_gradients() const { return last_gradients_; }

  // What a trainer state (train/trainer_state.h) saves and restores besides the method's tensors.
  const TrainerConfig& config() const { return config_; }
  const methods::NamedTensors& parameters() const { return parameters_; }
  const AdamW& optimizer() const { return optimizer_; }
  int64_t micro_steps() const { return micro_steps_; }  // sp_trainer_step calls so far
  // Continues from a saved state: the optimizer's, and the micro-batch count. The latest update's
  // gradients are forgotten (they belong to the trainer that saved).
  void resume(AdamWState optimizer, int64_t micro_steps);

 private:
  std::shared_ptr<const model::Transformer> model_;
  methods::SoftPromptMethod& method_;
  TrainerConfig config_;
  methods::NamedTensors parameters_;
  AdamW optimizer_;
  int64_t micro_steps_ = 0;
  methods::NamedTensors last_gradients_;
};

}  // namespace sp::train
