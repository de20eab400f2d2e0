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

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> parameters, AdamWOptions options);
  // One update of every parameter that has a gradient, at learning rate `lr`.
  void step(double lr);
  // Calls to step() so far.
  int64_t steps_taken() const { return steps_taken_; }

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
