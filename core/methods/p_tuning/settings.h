// P-tuning's own settings (PEFT's PromptEncoderConfig).
#pragma once

#include <cstdint>

#include "softprompt/softprompt.h"

namespace sp::methods {

struct PTuningSettings {
  sp_encoder_type encoder_type = SP_ENCODER_MLP;  // PEFT's encoder_reparameterization_type
  int64_t encoder_hidden_size = 0;                // 0 = the model's hidden size
  int64_t encoder_num_layers = 2;                 // LSTM layers (the MLP ignores it, as PEFT does)
  double encoder_dropout = 0.0;                   // LSTM dropout between layers
};

}  // namespace sp::methods
