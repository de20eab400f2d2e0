#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace sp::model {

namespace {

// arange(0, dim, 2) as float32, divided by dim: the exponents of every rope type.
at::Tensor exponents(int64_t dim) { return at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim); }

// Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between blended.
at::Tensor llama3(const RopeConfig& rope, const at::Tensor& inv_freq) {
  const double old_context = static_cast<double>(rope.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / rope.low_freq_factor;
  const double high_freq_wavelen = old_context / rope.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq);
  at::Tensor smooth = (old_context / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
  at::Tensor is_medium = wavelen.ge(high_freq_wavelen).logical_and(wavelen.le(low_freq_wavelen));
  return at::where(is_medium, smoothed, scaled);
}

// YaRN: frequencies blended between interpolated (divided by factor) and extrapolated (kept) along a
// linear ramp over the dimensions whose rotation counts over the original context lie between
// beta_slow and beta_fast. (The attention factor is applied to cos and sin by the transformer.)
at::Tensor yarn(const RopeConfig& rope, int64_t dim) {
  const double base = rope.theta;
  const double context = static_cast<double>(rope.original_max_position_embeddings);
  auto correction_dim = [&](double rotations) {
    return (static_cast<double>(dim) * std::log(context / (rotations * 2 * M_PI))) / (2 * std::log(base));
  };
  double low = correction_dim(rope.beta_fast), high = correction_dim(rope.beta_slow);
  if (rope.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // as transformers: avoid a zero-width ramp

  at::Tensor pos_freqs = at::pow(base, exponents(dim));
  at::Tensor extrapolation = 1.0 / pos_freqs;
  at::Tensor interpolation = 1.0 / (pos_freqs * rope.factor);
  at::Tensor ramp = at::clamp((at::arange(dim / 2, at::kFloat) - low) / (high - low), 0, 1);
  at::Tensor extrapolation_factor = 1 - ramp;
  return interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
}

}  // namespace

at::Tensor rope_inverse_frequencies(const ModelConfig& config) {
  const int64_t dim = config.head_dim;
  const RopeConfig& rope = config.rope;
  if (rope.type == "yarn") return yarn(rope, dim);
  double base = rope.theta;
  if (rope.type == "dynamic") {
    // transformers' initial frequencies: the NTK formula at seq_len = max_position_embeddings, in
    // Python doubles (the base then differs from theta only by rounding).
    const double positions = static_cast<double>(config.max_position_embeddings);
    base = base * std::pow(rope.factor * positions / positions - (rope.factor - 1),
                           static_cast<double>(dim) / static_cast<double>(dim - 2));
  }
  at::Tensor inv_freq = 1.0 / at::pow(base, exponents(dim));
  if (rope.type == "linear") return inv_freq / rope.factor;
  if (rope.type == "llama3") return llama3(rope, inv_freq);
  return inv_freq;
}

at::Tensor dynamic_rope_inverse_frequencies(const ModelConfig& config, int64_t seq_len) {
  const int64_t dim = config.head_dim;
  const RopeConfig& rope = config.rope;
  // Here transformers holds seq_len as a 0-dim int64 tensor, so the base is float32 tensor arithmetic.
  at::Tensor length =
      at::maximum(at::scalar_tensor(seq_len, at::kLong), at::scalar_tensor(config.max_position_embeddings, at::kLong));
  at::Tensor base = at::pow(length * rope.factor / config.max_position_embeddings - (rope.factor - 1),
                            static_cast<double>(dim) / static_cast<double>(dim - 2)) *
                    rope.theta;
  return 1.0 / at::pow(base, exponents(dim));
}

}  // namespace sp::model
