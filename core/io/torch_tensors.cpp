#include "io/torch_tensors.h"

#include <cstdint>
#include <cstring>

#include "util/errors.h"

namespace sp::io {

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::Bool:
      return at::kBool;
    case DType::U8:
      return at::kByte;
    case DType::I8:
      return at::kChar;
    case DType::I16:
      return at::kShort;
    case DType::I32:
      return at::kInt;
    case DType::I64:
      return at::kLong;
    case DType::F16:
      return at::kHalf;
    case DType::BF16:
      return at::kBFloat16;
    case DType::F32:
      return at::kFloat;
    case DType::F64:
      return at::kDouble;
    default:
      fail(ErrorKind::Unsupported, std::string("tensors of dtype ") + dtype_name(dtype) + " are not supported");
  }
}

DType to_dtype(at::ScalarType type) {
  switch (type) {
    case at::kBool:
      return DType::Bool;
    case at::kByte:
      return DType::U8;
    case at::kChar:
      return DType::I8;
    case at::kShort:
      return DType::I16;
    case at::kInt:
      return DType::I32;
    case at::kLong:
      return DType::I64;
    case at::kHalf:
      return DType::F16;
    case at::kBFloat16:
      return DType::BF16;
    case at::kFloat:
      return DType::F32;
    case at::kDouble:
      return DType::F64;
    default:
      fail(ErrorKind::Unsupported, std::string("cannot store tensors of type ") + c10::toString(type));
  }
}

at::Tensor tensor_from_view(const TensorView& view, std::shared_ptr<const void> owner) {
  const at::ScalarType type = to_scalar_type(view.dtype);
  const auto options = at::TensorOptions().dtype(type).device(at::kCPU);
  const bool aligned = reinterpret_cast<std::uintptr_t>(view.data) % dtype_size(view.dtype) == 0;
  if (aligned && view.nbytes > 0) {
    // The mapping is read-only; callers only ever read weights, so dropping const is safe.
    return at::from_blob(
        const_cast<std::uint8_t*>(view.data), view.shape, [owner](void*) {}, options);
  }
  at::Tensor copy = at::empty(view.shape, options);
  if (view.nbytes > 0) std::memcpy(copy.data_ptr(), view.data, view.nbytes);
  return copy;
}

std::string encode_tensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata) {
  std::vector<at::Tensor> storage;  // contiguous CPU copies that the entries point into
  std::vector<TensorToWrite> entries;
  for (const auto& [name, tensor] : tensors) {
    storage.push_back(tensor.detach().to(at::kCPU).contiguous());
    const at::Tensor& host = storage.back();
    entries.push_back({name, to_dtype(host.scalar_type()), host.sizes().vec(), host.data_ptr(), host.nbytes()});
  }
  return encode_safetensors(entries, metadata);
}

}  // namespace sp::io
