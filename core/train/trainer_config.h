// A trainer's settings and their rules (checked once, here, for every caller).
#pragma once

#include <cstdint>

#include "train/adamw.h"
#include "train/schedule.h"

namespace sp::train {

struct TrainerConfig {
  LinearSchedule schedule;
  AdamWOptions adamw;
  double max_grad_norm = 0;        // 0 = no clipping
  int64_t accumulation_steps = 1;  // micro-batches per update
};

// Throws InvalidArgument naming the setting: rates, eps, decay and clipping finite and >= 0 (eps
// > 0), betas in [0, 1), step counts >= 0, accumulation_steps >= 1. NaN and infinities would turn
// every parameter non-finite at the first update.
void validate(const TrainerConfig& config);

}  // namespace sp::train
