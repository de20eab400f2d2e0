// ggml's tensor types as GGUF files name them: each defined value's name and block layout (values
// per block, bytes per block), the table both the GGUF reader (tensor sizes) and the dequantizer use.
#pragma once

#include <cstdint>

namespace sp::io {

struct GgmlTypeTraits {
  const char* name;          // ggml's name: "F32", "Q4_K", "IQ2_XXS", ...
  std::uint32_t block_size;  // values per block (1 for the plain float and integer types)
  std::uint32_t type_size;   // bytes per block
};

// The traits of a type value ggml defines; nullptr for any other value (the removed Q4_2, Q4_3 and
// Q4_0_4_4-style interleaved types included: ggml cannot size them either).
const GgmlTypeTraits* ggml_type_traits(std::uint32_t type);

}  // namespace sp::io
