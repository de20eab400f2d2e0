#include "train/trainer_config.h"

#include <cmath>
#include <string>

#include "util/errors.h"

namespace sp::train {

namespace {
void require(bool condition, const std::string& message) {
  if (!condition) fail(ErrorKind::InvalidArgument, message);
}

bool finite_non_negative(double value) { return std::isfinite(value) && value >= 0; }
}  // namespace

void validate(const TrainerConfig& c) {
  require(finite_non_negative(c.schedule.base_lr),
          "learning_rate must be finite and not negative, got " + std::to_string(c.schedule.base_lr));
  require(c.adamw.beta1 >= 0 && c.adamw.beta1 < 1, "beta1 must be in [0, 1)");
  require(c.adamw.beta2 >= 0 && c.adamw.beta2 < 1, "beta2 must be in [0, 1)");
  require(finite_non_negative(c.adamw.eps) && c.adamw.eps > 0, "eps must be finite and positive");
  require(finite_non_negative(c.adamw.weight_decay), "weight_decay must be finite and not negative");
  require(finite_non_negative(c.max_grad_norm), "max_grad_norm must be finite and not negative (0 = no clipping)");
  require(c.schedule.warmup_steps >= 0, "warmup_steps must not be negative");
  require(c.schedule.total_steps >= 0, "total_steps must not be negative (0 = constant rate)");
  require(c.accumulation_steps >= 1, "accumulation_steps must be at least 1");
}

}  // namespace sp::train
