// Trainer states: everything a training run needs to resume exactly, in one file of the
// single-file adapter container (adapters/single_file.h) under its own magic number. The layout
// is documented in adapters/single_file_format.md ("Trainer states").
//
// What is saved: the adapter's tensors and records (method, base model) as in an adapter file;
// AdamW's two moments and step count per trainable tensor and its update count; the micro-batch
// count (so a save in the middle of an accumulation resumes there); the gradients accumulated since
// the last update; the trainer's settings (rates, schedule, clipping, accumulation); and the
// caller's own bytes (its data order's random state and position).
//
// Random state: the only random draws training makes are P-tuning's LSTM dropout between layers
// (the method's training_generator(), a CPU generator); its state is saved and restored. Every
// other method, P-tuning's MLP encoder and the model (whose dropouts act only in transformers'
// training mode, which softprompt never uses on the frozen model) draw nothing while training.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "adapters/single_file.h"
#include "methods/method.h"
#include "model/transformer.h"
#include "train/trainer.h"

namespace sp::train {

extern const adapters::ContainerKind kTrainerStateKind;
// The caller's bytes are bounded so that a state file stays something a machine can load.
constexpr std::uint64_t kMaxUserStateBytes = std::uint64_t(1) << 30;

// Writes `trainer`'s state (on `method`, the adapter it trains, over `model`) and `user_state`
// atomically. InvalidArgument for more than kMaxUserStateBytes of user state; Io when the file
// cannot be written (an existing file is left as it was).
void save_trainer_state(const std::string& path, const Trainer& trainer, const methods::SoftPromptMethod& method,
                        const model::Transformer& model, const void* user_state, std::size_t user_state_size);

// A state file read and checked against an adapter, with everything allocated on the adapter's
// device: applying it (resume_trainer) cannot fail half-way.
struct LoadedTrainerState {
  TrainerConfig config;
  int64_t micro_steps = 0;
  AdamWState optimizer;
  std::vector<at::Tensor> values;     // per trainable tensor, in the method's order
  std::vector<at::Tensor> gradients;  // accumulated since the last update; undefined = none
  at::Tensor random_state;            // the training generator's state; undefined when none
  std::string user_state;
};

// Reads and checks a state file for `method` on `model`, in this order: the container's framing
// (NotFound, Format, Unsupported), the base model (ModelMismatch), the method record's bounds
// (Format), the adapter itself: same method, same tensors by name and shape (ShapeMismatch), the
// trainer record (Format: types, the settings' rules, counters), the declared tensors against all
// of that (Format); only then is the data inflated and copied to the device. Changes nothing.
LoadedTrainerState read_trainer_state(const std::string& path, const methods::SoftPromptMethod& method,
                                      const model::Transformer& model);

// A trainer on `method` continuing from `state`: the method's tensors, gradients and training
// generator are set from it, then the new trainer is returned. The trainer is built first, so an
// allocation failure leaves the method untouched.
std::unique_ptr<Trainer> resume_trainer(LoadedTrainerState state, std::shared_ptr<const model::Transformer> model,
                                        methods::SoftPromptMethod& method);

// The trainer record of a state file (its "softprompt.trainer" metadata), checked as
// read_trainer_state checks it but without a model: for describing the file.
nlohmann::json trainer_record_for_description(const adapters::ContainerReader& reader);

}  // namespace sp::train
