// Choosing the next token as transformers' generate does: the logits processors (repetition
// penalty; with sampling, temperature, top-k, top-p, min-p, in transformers' order and definitions)
// and then argmax or a draw from the softmax. Draws come from one generator per row, seeded from
// the request's seed and the row index, so a seed gives the same tokens on any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <random>
#include <vector>

#include "softprompt/softprompt.h"

namespace sp::generation {

struct SamplingSettings {
  bool do_sample = false;
  double temperature = 1.0;  // the float the caller gave, widened
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // as the decimal the caller wrote (see sampling.cpp)
  double min_p = 0.0;
  double repetition_penalty = 1.0;
  uint64_t seed = 0;
};

// Reads and checks the sampling fields of `params` (InvalidArgument naming the field).
SamplingSettings sampling_settings(const sp_generate_params& params);

// (rows, vocab) bool on the CPU: which ids each row holds (the tokens the repetition penalty sees).
// The ids must be in [0, vocab).
at::Tensor token_presence(const std::vector<std::vector<int32_t>>& rows, int64_t vocab);

// logits: (rows, vocab) float32; `seen`: (rows, vocab) bool, the tokens already in each row (for the
// repetition penalty), or undefined. Returns the processed logits (removed tokens are -inf).
at::Tensor process_logits(const SamplingSettings& settings, const at::Tensor& logits, const at::Tensor& seen);

class TokenChooser {
 public:
  TokenChooser(const SamplingSettings& settings, int64_t rows);
  // Processed logits (rows, vocab) -> (rows) int64 ids, on the logits' device.
  at::Tensor choose(const at::Tensor& processed);

 private:
  SamplingSettings settings_;
  std::vector<std::mt19937_64> generators_;
};

}  // namespace sp::generation
