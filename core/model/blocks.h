// The building blocks every topology composes (model/decoder_stack.cpp, model/encoder_stack.cpp):
// a linear map, a normalisation and a feed-forward network, each holding its frozen weights. The
// attention block has its own file (model/attention.h). A block knows its kind from the config it
// was loaded for, never from the family: the family table only names checkpoint keys.
#pragma once

#include <ATen/ATen.h>

#include "model/config.h"

namespace sp::model {

// y = x W^T + b. `few_rows`: a decoding step's product (model/few_rows_linear.h).
struct Linear {
  at::Tensor weight;  // (out, in)
  at::Tensor bias;    // (out) or undefined
  at::Tensor operator()(const at::Tensor& x, bool few_rows = false) const;
};

// RMSNorm (llama's: weight * x / rms(x), computed in float32) or LayerNorm (weight and bias).
struct Norm {
  NormKind kind = NormKind::RmsNorm;
  double eps = 1e-5;
  at::Tensor weight, bias;
  at::Tensor operator()(const at::Tensor& x) const;
};

// The position-wise network: down(act(up(x))), or down(act(gate(x)) * up(x)) for the gated kinds,
// whose gate and up products are one fused matrix.
struct FeedForward {
  MlpKind kind = MlpKind::GatedSilu;
  Linear gate_up;  // the gated kinds: [gate; up] along the output axis
  Linear up;       // the ungated kinds
  Linear down;
  at::Tensor operator()(const at::Tensor& x, bool few_rows = false) const;
  bool gated() const { return kind == MlpKind::GatedSilu || kind == MlpKind::GatedGeluNew; }
};

}  // namespace sp::model
