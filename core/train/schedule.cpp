#include "train/schedule.h"

#include <algorithm>

namespace sp::train {

double LinearSchedule::rate(int64_t updates_done) const {
  const double step = static_cast<double>(updates_done);
  if (updates_done < warmup_steps) return base_lr * step / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  if (total_steps <= 0) return base_lr;
  const double remaining = static_cast<double>(total_steps - updates_done);
  return base_lr * std::max(0.0, remaining / static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps)));
}

}  // namespace sp::train
