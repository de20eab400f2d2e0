// Which base model an adapter belongs to, told from the values of its token embedding rather than
// from its bytes, so that one model's float32, bfloat16 and GGUF (quantized) copies are recognised as
// the same model and another model is not.
//
// The sample: 64 evenly spaced rows times 16 evenly spaced columns of the embedding, as float32.
// Two samples belong to the same model when ||a - b|| / ||b|| <= kSameModelTolerance:
//   - rounding to bfloat16 changes each value by at most 2^-9 relative (measured: 0.0017);
//   - ggml's quantizations add noise of about a quantization step / sqrt(12) per value (measured on a
//     transformers-written model: Q8_0 0.005, Q5_0/Q5_1 0.04, Q4_0/Q4_1 0.08; Q2_K, the coarsest
//     type read here, about 0.33 by the same estimate);
//   - two unrelated embeddings of similar scale differ by about sqrt(2) (measured 1.34 and 1.42).
// The measurements are tests/c/test_base_model_record.c's.
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
