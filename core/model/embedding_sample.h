// Which base model an adapter belongs to, told from the values of its token embedding rather than
// from its bytes, so that one model's float32, bfloat16 and GGUF (quantized) copies are recognised as
// the same model and another model is not.
//
// The sample: 64 evenly spaced rows times 16 evenly spaced columns of the embedding, as float32.
// Two samples belong to the same model when ||a - b|| / ||b|| <= kSameModelTolerance:
//   - rounding to bfloat16 changes each value by at most 2^-9 relative (difference ~0.002);
//   - ggml's quantizations add noise of about a quantization step / sqrt(12) per value: with blocks
//     whose largest value is ~2.5 standard deviations, Q8_0 ~0.005, Q4_0/Q4_1 ~0.08, Q3_K ~0.2 and
//     Q2_K, the coarsest type read here (4 levels per block), ~0.4 of the values' norm;
//   - two unrelated embeddings of similar scale differ by ~sqrt(2) = 1.41 (more when the scales differ).
// 0.6 sits between the coarsest copy and an unrelated model. A model fine-tuned from the same base
// usually keeps its embedding within that distance and is accepted too, which is what an adapter
// trained on the base usually wants.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace sp::model {

constexpr double kSameModelTolerance = 0.6;

// The sample of a (vocab, hidden) embedding, in any floating dtype, on any device.
std::vector<float> sample_embedding(const at::Tensor& embedding);

// ||a - b|| / ||b||, in double; +infinity when the sizes differ or b is all zeros and a is not.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace sp::model
