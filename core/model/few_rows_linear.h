// at::linear for decoding steps: inputs of a few rows (one token per row).
#pragma once

#include <ATen/ATen.h>

namespace sp::model {

// x (..., in) times weight (out, in) transposed, plus bias (out) when defined. On the CPU in float32,
// at::linear sends a product with few input rows to MKL's matrix-vector path, which reads the
// weights at about 17 GB/s on one thread or two (measured here: a 32M-parameter llama's decoding
// step spent 6.7 ms in its products). Cut into blocks of output rows, the same product runs as a
// batched matrix product, which LibTorch spreads over its threads with a faster kernel (2.5 ms for
// the same products). Each output is still one dot product over the same inputs, in another
// summation order. Elsewhere (CUDA, other dtypes, more rows, small weights) it is at::linear.
at::Tensor few_rows_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

}  // namespace sp::model
