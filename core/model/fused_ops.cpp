#include "model/fused_ops.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

namespace sp::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per parallel task: enough work to amortise a task (a row is a few hundred values).
constexpr int64_t kGrain = 16;

bool fusable(const at::Tensor& x) { return x.device().is_cpu() && x.scalar_type() == at::kFloat && x.stride(-1) == 1; }

// ---- RMSNorm ------------------------------------------------------------------------------

at::Tensor reference_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor h = x.to(at::kFloat);
  h = h * at::rsqrt(h.pow(2).mean(-1, true) + eps);
  return weight * h.to(x.scalar_type());
}

// y = weight * (x * r) per row, r = 1 / sqrt(mean(x^2) + eps); fills `inverse_rms` (rows).
void rms_norm_forward_kernel(const at::Tensor& x, const at::Tensor& weight, double eps, at::Tensor& y,
                             at::Tensor& inverse_rms) {
  const int64_t d = x.size(-1), rows = x.numel() / d;
  const float* in = x.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  float* out = y.data_ptr<float>();
  float* r = inverse_rms.data_ptr<float>();
  at::parallel_for(0, rows, kGrain, [&](int64_t first, int64_t end) {
    for (int64_t row = first; row < end; ++row) {
      const float* xr = in + row * d;
      float* yr = out + row * d;
      float squares = 0;
      for (int64_t i = 0; i < d; ++i) squares += xr[i] * xr[i];
      const float inverse = 1.0f / std::sqrt(squares / static_cast<float>(d) + static_cast<float>(eps));
      r[row] = inverse;
      for (int64_t i = 0; i < d; ++i) yr[i] = w[i] * (xr[i] * inverse);
    }
  });
}

// dx = r * g - x * r^3 * mean(g * x), g = dy * weight.
at::Tensor rms_norm_backward_kernel(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& weight,
                                    const at::Tensor& inverse_rms) {
  const int64_t d = x.size(-1), rows = x.numel() / d;
  at::Tensor dx = at::empty_like(x);
  const float* grad = dy.data_ptr<float>();
  const float* in = x.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  const float* r = inverse_rms.data_ptr<float>();
  float* out = dx.data_ptr<float>();
  at::parallel_for(0, rows, kGrain, [&](int64_t first, int64_t end) {
    for (int64_t row = first; row < end; ++row) {
      const float* gr = grad + row * d;
      const float* xr = in + row * d;
      float* dr = out + row * d;
      float dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += gr[i] * w[i] * xr[i];
      const float inverse = r[row];
      const float coefficient = inverse * inverse * inverse * dot / static_cast<float>(d);
      for (int64_t i = 0; i < d; ++i) dr[i] = inverse * (gr[i] * w[i]) - xr[i] * coefficient;
    }
  });
  return dx;
}

struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, double eps) {
    at::Tensor y = at::empty_like(x);
    at::Tensor inverse_rms = at::empty({x.numel() / x.size(-1)}, x.options());
    rms_norm_forward_kernel(x, weight, eps, y, inverse_rms);
    ctx->save_for_backward({x, weight, inverse_rms});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {rms_norm_backward_kernel(grads[0].contiguous(), saved[0], saved[1], saved[2]), at::Tensor(), at::Tensor()};
  }
};

// ---- Rotary embedding ---------------------------------------------------------------------

at::Tensor reference_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return x * cos.unsqueeze(2) + rotated * sin.unsqueeze(2);
}

// out = x * cos + rotate_half(x) * sin_signed, where `direction` +1 is the rotation and -1 its
// transpose (the backward: the same pass with the sines of the other half, negated).
//   forward:  out[i] = x[i] c[i] - x[i+h] s[i],      out[i+h] = x[i+h] c[i+h] + x[i] s[i+h]
//   backward: dx[i]  = g[i] c[i] + g[i+h] s[i+h],    dx[i+h]  = g[i+h] c[i+h] - g[i] s[i]
at::Tensor rotary_kernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, bool transpose) {
  const int64_t B = x.size(0), S = x.size(1), heads = x.size(2), hd = x.size(3), half = hd / 2;
  at::Tensor out = at::empty({B, S, heads, hd}, x.options());
  const float* in = x.data_ptr<float>();
  const float* c = cos.data_ptr<float>();
  const float* s = sin.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const int64_t xb = x.stride(0), xs = x.stride(1), xh = x.stride(2);
  const int64_t cb = cos.size(0) == 1 ? 0 : S * hd;
  at::parallel_for(0, B * S, kGrain, [&](int64_t first, int64_t end) {
    for (int64_t index = first; index < end; ++index) {
      const int64_t b = index / S, t = index % S;
      const float* cr = c + b * cb + t * hd;
      const float* sr = s + b * cb + t * hd;
      for (int64_t h = 0; h < heads; ++h) {
        const float* xr = in + b * xb + t * xs + h * xh;
        float* orow = o + ((b * S + t) * heads + h) * hd;
        if (!transpose) {
          for (int64_t i = 0; i < half; ++i) {
            orow[i] = xr[i] * cr[i] + (-xr[i + half]) * sr[i];
            orow[i + half] = xr[i + half] * cr[i + half] + xr[i] * sr[i + half];
          }
        } else {
          for (int64_t i = 0; i < half; ++i) {
            orow[i] = xr[i] * cr[i] + xr[i + half] * sr[i + half];
            orow[i + half] = xr[i + half] * cr[i + half] - xr[i] * sr[i];
          }
        }
      }
    }
  });
  return out;
}

struct RotaryFunction : torch::autograd::Function<RotaryFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rotary_kernel(x, cos, sin, false);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    // The gradient arrives as a transposed view of attention's (B, heads, S, head_dim) gradient;
    // the kernel reads it through its strides rather than copying it.
    const at::Tensor& grad = grads[0].stride(-1) == 1 ? grads[0] : grads[0].contiguous();
    return {rotary_kernel(grad, saved[0], saved[1], true), at::Tensor(), at::Tensor()};
  }
};

// ---- SwiGLU --------------------------------------------------------------------------------

at::Tensor reference_swiglu(const at::Tensor& gate_up) {
  auto halves = gate_up.chunk(2, -1);
  return at::silu(halves[0]) * halves[1];
}

// out = g * s * u with s = sigmoid(g) (computed by LibTorch's vectorised sigmoid), per row of
// gate_up = [g, u].
at::Tensor swiglu_forward_kernel(const at::Tensor& gate_up, const at::Tensor& sigmoid) {
  const int64_t width = gate_up.size(-1) / 2, rows = gate_up.numel() / (2 * width);
  std::vector<int64_t> sizes = gate_up.sizes().vec();
  sizes.back() = width;
  at::Tensor out = at::empty(sizes, gate_up.options());
  const float* gu = gate_up.data_ptr<float>();
  const float* sg = sigmoid.data_ptr<float>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, rows, kGrain, [&](int64_t first, int64_t end) {
    for (int64_t row = first; row < end; ++row) {
      const float* g = gu + row * 2 * width;
      const float* u = g + width;
      const float* s = sg + row * width;
      float* orow = o + row * width;
      for (int64_t i = 0; i < width; ++i) orow[i] = g[i] * s[i] * u[i];
    }
  });
  return out;
}

// The gradient of [g, u] in one buffer (no concatenation of two halves afterwards):
//   dg = dy * u * s * (1 + g * (1 - s)),   du = dy * g * s.
at::Tensor swiglu_backward_kernel(const at::Tensor& dy, const at::Tensor& gate_up, const at::Tensor& sigmoid) {
  const int64_t width = gate_up.size(-1) / 2, rows = gate_up.numel() / (2 * width);
  at::Tensor d_gate_up = at::empty_like(gate_up);
  const float* grad = dy.data_ptr<float>();
  const float* gu = gate_up.data_ptr<float>();
  const float* sg = sigmoid.data_ptr<float>();
  float* out = d_gate_up.data_ptr<float>();
  at::parallel_for(0, rows, kGrain, [&](int64_t first, int64_t end) {
    for (int64_t row = first; row < end; ++row) {
      const float* dr = grad + row * width;
      const float* g = gu + row * 2 * width;
      const float* u = g + width;
      const float* s = sg + row * width;
      float* dg = out + row * 2 * width;
      float* du = dg + width;
      for (int64_t i = 0; i < width; ++i) {
        const float silu = g[i] * s[i];
        du[i] = dr[i] * silu;
        dg[i] = dr[i] * u[i] * (s[i] * (1.0f + g[i] * (1.0f - s[i])));
      }
    }
  });
  return d_gate_up;
}

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate_up) {
    const at::Tensor sigmoid = at::sigmoid(gate_up.narrow(-1, 0, gate_up.size(-1) / 2)).contiguous();
    ctx->save_for_backward({gate_up, sigmoid});
    return swiglu_forward_kernel(gate_up, sigmoid);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {swiglu_backward_kernel(grads[0].contiguous(), saved[0], saved[1])};
  }
};

bool needs_graph(const at::Tensor& x) { return at::GradMode::is_enabled() && x.requires_grad(); }

}  // namespace

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (!fusable(x) || !fusable(weight) || weight.requires_grad()) return reference_rms_norm(x, weight, eps);
  const at::Tensor input = x.contiguous(), w = weight.contiguous();
  if (needs_graph(input)) return RmsNormFunction::apply(input, w, eps);
  at::Tensor y = at::empty_like(input);
  at::Tensor inverse_rms = at::empty({input.numel() / input.size(-1)}, input.options());
  rms_norm_forward_kernel(input, w, eps, y, inverse_rms);
  return y;
}

at::Tensor rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!fusable(x) || !fusable(cos) || x.dim() != 4 || x.size(-1) % 2 != 0) return reference_rotary(x, cos, sin);
  const at::Tensor c = cos.contiguous(), s = sin.contiguous();
  if (needs_graph(x)) return RotaryFunction::apply(x, c, s);
  return rotary_kernel(x, c, s, false);
}

at::Tensor swiglu(const at::Tensor& gate_up) {
  if (!fusable(gate_up) || gate_up.size(-1) % 2 != 0) return reference_swiglu(gate_up);
  const at::Tensor input = gate_up.contiguous();
  if (needs_graph(input)) return SwigluFunction::apply(input);
  // Without a gradient, LibTorch's vectorised silu on the gate, then one product pass.
  return reference_swiglu(input);
}

}  // namespace sp::model
