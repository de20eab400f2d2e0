// Element types of stored tensors, named as the safetensors format names them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace sp::io {

enum class DType { Bool, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64 };

// Bytes per element.
std::size_t dtype_size(DType dtype);
// The safetensors spelling ("F32", "BF16", ...).
const char* dtype_name(DType dtype);
// Inverse of dtype_name; empty for names this library does not read (e.g. the F8 kinds).
std::optional<DType> parse_dtype(const std::string& name);

}  // namespace sp::io
