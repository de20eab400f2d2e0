// The element-wise parts of a block, each as one pass over memory where that is possible: RMSNorm,
// rotary embeddings and SwiGLU. As LibTorch op sequences they take a dozen passes forward and as many
// backward (pow, mean, rsqrt, mul, slice, neg, cat, ...), which on the CPU cost as much time as the
// block's matrix products do; fused, a training step of a 768-wide model is ~1.3x faster.
//
// Fused for contiguous-per-row float32 CPU tensors, with their own backward (gradients for the
// input only: the frozen weights, cos and sin never need one); any other case (CUDA, bfloat16,
// float16, a weight that requires a gradient) runs the reference op sequence, written as
// transformers writes it. The two differ only in rounding: the fused norm sums squares in another
// order; the fused rotation is exact.
#pragma once

#include <ATen/ATen.h>

namespace sp::model {

// transformers' LlamaRMSNorm: x * rsqrt(mean(x^2, -1) + eps) in float32, cast back to x's dtype,
// times weight. x (..., hidden), weight (hidden).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// Rotary position embedding, x * cos + rotate_half(x) * sin, for x (B, S, heads, head_dim) (any
// strides with a contiguous last dimension: a view of the fused q/k/v product) and cos, sin
// (B or 1, S, head_dim). Returns (B, S, heads, head_dim), contiguous.
at::Tensor rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// SwiGLU, silu(gate) * up, for gate_up = [gate, up] along the last dimension (the fused gate/up
// product). The backward writes the gradient of gate_up as one tensor, where the op sequence would
// concatenate two halves. Returns (..., width / 2).
at::Tensor swiglu(const at::Tensor& gate_up);

}  // namespace sp::model
