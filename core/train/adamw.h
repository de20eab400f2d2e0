// AdamW written out to follow PyTorch's single-tensor implementation step for step, so that one
// update agrees with torch.optim.AdamW to float rounding.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <vector>

namespace sp::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

// Everything an AdamW carries from one update to the next, per parameter in the constructor's
// order (moments on the parameters' devices), for saving and resuming a trainer.
struct AdamWState {
  std::vector<at::Tensor> exp_avg, exp_avg_sq;
  std::vector<int64_t> steps;  // updates each parameter received (PyTorch's per-parameter "step")
  int64_t steps_taken = 0;     // calls to step()
};

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> parameters, AdamWOptions options);
  // One update of every parameter that has a gradient, at learning rate `lr`.
  void step(double lr);
  // Calls to step() so far.
  int64_t steps_taken() const { return steps_taken_; }
  const AdamWOptions& options() const { return options_; }
  // The moments are the optimizer's own tensors (not copies): read them, do not keep them.
  AdamWState state() const { return {exp_avg_, exp_avg_sq_, steps_, steps_taken_}; }
  // Replaces the state by one of the same parameters' (Internal error for another count or shape).
  void restore(AdamWState state);

 private:
  std::vector<at::Tensor> parameters_, exp_avg_, exp_avg_sq_;
  // Per parameter, the updates it received: PyTorch keeps a step count in each parameter's state
  // and raises it only when that parameter has a gradient, so its bias correction starts at its
  // own first update.
  std::vector<int64_t> steps_;
  AdamWOptions options_;
  int64_t steps_taken_ = 0;
};

}  // namespace sp::train
