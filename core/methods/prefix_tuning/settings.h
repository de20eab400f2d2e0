// Prefix tuning's own settings (PEFT's PrefixTuningConfig).
#pragma once

#include <cstdint>

namespace sp::methods {

struct PrefixTuningSettings {
  bool prefix_projection = false;   // produce the prefix with an MLP from a (n, token_dim) table
  int64_t encoder_hidden_size = 0;  // the MLP's width; 0 = token_dim
  bool prefix_zero_init = false;    // PEFT's init_weights = "zero": the prefix (or the MLP's output) starts at 0
};

}  // namespace sp::methods
