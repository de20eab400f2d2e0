#include "generation/sampling.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "util/errors.h"

namespace sp::generation {

namespace {

// The double nearest to the shortest decimal that gives `value` back as a float: a caller writing
// top_p = 0.8 in C (0.800000011920929f) gets transformers' 1 - 0.8 threshold, computed from the
// Python float 0.8, rather than one a float rounding away.
double as_written(float value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text - 1, value);
  *result.ptr = '\0';
  return std::strtod(text, nullptr);
}

void require_field(bool ok, const std::string& message) {
  if (!ok) fail(ErrorKind::InvalidArgument, "sp_generate_params." + message);
}

// SplitMix64 of the seed and the row: independent, well-mixed starting states per row.
uint64_t row_seed(uint64_t seed, int64_t row) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(row + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

const float kRemoved = -std::numeric_limits<float>::infinity();

}  // namespace

SamplingSettings sampling_settings(const sp_generate_params& params) {
  require_field(params.do_sample == 0 || params.do_sample == 1,
                "do_sample must be 0 or 1, got " + std::to_string(params.do_sample));
  require_field(std::isfinite(params.temperature) && params.temperature > 0,
                "temperature must be a finite number > 0, got " + std::to_string(params.temperature));
  require_field(params.top_k >= 0, "top_k must be >= 0 (0 = off), got " + std::to_string(params.top_k));
  require_field(params.top_p > 0 && params.top_p <= 1, "top_p must be in (0, 1], got " + std::to_string(params.top_p));
  require_field(params.min_p >= 0 && params.min_p <= 1, "min_p must be in [0, 1], got " + std::to_string(params.min_p));
  require_field(std::isfinite(params.repetition_penalty) && params.repetition_penalty > 0,
                "repetition_penalty must be a finite number > 0, got " + std::to_string(params.repetition_penalty));
  SamplingSettings settings;
  settings.do_sample = params.do_sample == 1;
  settings.temperature = params.temperature;
  settings.top_k = params.top_k;
  settings.top_p = as_written(params.top_p);
  settings.min_p = params.min_p;
  settings.repetition_penalty = params.repetition_penalty;
  settings.seed = params.seed;
  return settings;
}

at::Tensor token_presence(const std::vector<std::vector<int32_t>>& rows, int64_t vocab) {
  at::Tensor seen = at::zeros({static_cast<int64_t>(rows.size()), vocab}, at::kBool);
  auto data = seen.accessor<bool, 2>();
  for (std::size_t row = 0; row < rows.size(); ++row)
    for (int32_t id : rows[row]) data[static_cast<int64_t>(row)][id] = true;
  return seen;
}

at::Tensor process_logits(const SamplingSettings& s, const at::Tensor& logits, const at::Tensor& seen) {
  at::Tensor scores = logits;
  if (s.repetition_penalty != 1.0 && seen.defined()) {
    // RepetitionPenaltyLogitsProcessor: divide positive logits, multiply negative ones.
    const float penalty = static_cast<float>(s.repetition_penalty);
    at::Tensor penalized = at::where(scores < 0, scores * penalty, scores / penalty);
    scores = at::where(seen, penalized, scores);
  }
  if (!s.do_sample) return scores;
  if (s.temperature != 1.0) scores = scores / static_cast<float>(s.temperature);  // TemperatureLogitsWarper
  const int64_t vocab = scores.size(-1);
  if (s.top_k > 0) {  // TopKLogitsWarper: below the k-th largest goes (ties with it stay)
    const int64_t k = std::min(s.top_k, vocab);
    at::Tensor kth = std::get<0>(at::topk(scores, k)).narrow(-1, k - 1, 1);
    scores = scores.masked_fill(scores < kth, kRemoved);
  }
  if (s.top_p < 1.0) {  // TopPLogitsWarper, on ascending order; the most likely token always stays
    auto [sorted, order] = at::sort(scores, -1, false);
    at::Tensor remove = sorted.softmax(-1).cumsum(-1) <= (1 - s.top_p);
    remove.narrow(-1, vocab - 1, 1).fill_(false);
    scores = scores.masked_fill(remove.scatter(1, order, remove), kRemoved);
  }
  if (s.min_p > 0.0) {  // MinPLogitsWarper: less likely than min_p times the top token goes
    at::Tensor probs = scores.softmax(-1);
    at::Tensor remove = probs < probs.amax(-1, true) * static_cast<float>(s.min_p);
    remove.scatter_(-1, std::get<1>(at::topk(probs, 1)), false);
    scores = scores.masked_fill(remove, kRemoved);
  }
  return scores;
}

TokenChooser::TokenChooser(const SamplingSettings& settings, int64_t rows) : settings_(settings) {
  for (int64_t row = 0; row < rows; ++row) generators_.emplace_back(row_seed(settings.seed, row));
}

at::Tensor TokenChooser::choose(const at::Tensor& processed) {
  if (!settings_.do_sample) return processed.argmax(-1);
  // Inverse transform sampling: the first token whose cumulative probability passes u * total. The
  // cumulative sum rises there, so the token has a non-zero probability; rounding that puts the
  // threshold at the total is kept to the last token with a non-zero probability.
  const int64_t rows = processed.size(0), vocab = processed.size(-1);
  std::vector<float> draws(static_cast<std::size_t>(rows));
  for (int64_t row = 0; row < rows; ++row)
    draws[static_cast<std::size_t>(row)] =
        static_cast<float>(static_cast<double>(generators_[static_cast<std::size_t>(row)]() >> 11) * 0x1.0p-53);
  at::Tensor probs = processed.softmax(-1);
  at::Tensor cumulative = probs.cumsum(-1);
  at::Tensor threshold =
      at::tensor(draws, at::kFloat).to(processed.device()).unsqueeze(1) * cumulative.narrow(-1, vocab - 1, 1);
  at::Tensor index = (cumulative <= threshold).sum(-1);
  at::Tensor last_possible = (probs.gt(0).to(at::kLong) * at::arange(vocab, index.options())).amax(-1);
  return at::minimum(index, last_possible);
}

}  // namespace sp::generation
