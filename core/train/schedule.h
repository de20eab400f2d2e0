// Learning-rate schedule: linear warm-up from 0, then linear decay to 0 at total_steps
// (transformers' get_linear_schedule_with_warmup). total_steps = 0 keeps the rate constant after warm-up.
#pragma once

#include <cstdint>

namespace sp::train {

struct LinearSchedule {
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;

  // Rate for the update that follows `updates_done` earlier updates.
  double rate(int64_t updates_done) const;
};

}  // namespace sp::train
