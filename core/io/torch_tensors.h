// Bridges between stored tensors (io::TensorView, io::TensorToWrite) and ATen tensors.
#pragma once

#include <ATen/ATen.h>

#include <memory>

#include "io/safetensors.h"

namespace sp::io {

at::ScalarType to_scalar_type(DType dtype);  // throws Unsupported for unsigned kinds ATen lacks
DType to_dtype(at::ScalarType type);

// A CPU tensor over the view's bytes. Zero-copy when the data is suitably aligned: the tensor then
// keeps `owner` (the mapped file) alive and must never be written to. Otherwise a private copy.
at::Tensor tensor_from_view(const TensorView& view, std::shared_ptr<const void> owner);

// A tensor ready for write_safetensors: `storage` holds a contiguous CPU copy that `entry.data` points into.
struct OwnedTensorToWrite {
  at::Tensor storage;
  TensorToWrite entry;
};
OwnedTensorToWrite tensor_to_write(const std::string& name, const at::Tensor& tensor);

}  // namespace sp::io
