#include "model/blocks.h"

#include <cmath>

#include "model/few_rows_linear.h"
#include "model/fused_ops.h"

namespace sp::model {

namespace {

// GPT-2's "gelu_new", written as transformers writes it so that results match to the last bits.
at::Tensor gelu_new(const at::Tensor& x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + at::tanh(k * (x + 0.044715 * at::pow(x, 3.0))));
}

}  // namespace

at::Tensor Linear::operator()(const at::Tensor& x, bool few_rows) const {
  return few_rows ? few_rows_linear(x, weight, bias) : at::linear(x, weight, bias);
}

at::Tensor Norm::operator()(const at::Tensor& x) const {
  if (kind == NormKind::LayerNorm) return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
  return rms_norm(x, weight, eps);
}

at::Tensor FeedForward::operator()(const at::Tensor& x, bool few_rows) const {
  switch (kind) {
    case MlpKind::GatedSilu:
      return down(swiglu(gate_up(x, few_rows)), few_rows);
    case MlpKind::GeluNew:
      return down(gelu_new(up(x, few_rows)), few_rows);
    case MlpKind::Gelu:  // BERT's "gelu": the exact, erf-based one
      return down(at::gelu(up(x, few_rows)), few_rows);
    case MlpKind::Relu:
      return down(at::relu(up(x, few_rows)), few_rows);
    case MlpKind::GatedGeluNew: {
      const std::vector<at::Tensor> gate_and_up = gate_up(x, few_rows).chunk(2, -1);
      return down(gelu_new(gate_and_up[0]) * gate_and_up[1], few_rows);
    }
  }
  return {};
}

}  // namespace sp::model
