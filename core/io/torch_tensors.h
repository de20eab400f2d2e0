// Bridges between stored tensors (io::TensorView, io::TensorToWrite) and ATen tensors.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace sp::io {

at::ScalarType to_scalar_type(DType dtype);  // throws Unsupported for unsigned kinds ATen lacks
DType to_dtype(at::ScalarType type);

// A CPU tensor over the view's bytes. Zero-copy when the data is suitably aligned: the tensor then
// keeps `owner` (the mapped file) alive and must never be written to. Otherwise a private copy.
at::Tensor tensor_from_view(const TensorView& view, std::shared_ptr<const void> owner);

// Named tensors (any device, any layout) as a complete safetensors file; see encode_safetensors.
std::string encode_tensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata);

}  // namespace sp::io
