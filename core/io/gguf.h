// Reading GGUF files (llama.cpp's single-file model format, versions 2 and 3):
//   magic "GGUF", version, tensor count, metadata count, the metadata (typed key/value pairs),
//   the tensor infos (name, dims, ggml type, offset), padding to the alignment, the tensor data.
// The file is memory-mapped and every part is validated when it is opened (lengths, counts, types,
// offsets, sizes, overlaps, alignment), so a truncated or hostile file gives a Format error naming the
// file and the part, never a read outside the mapping or an allocation from an unchecked count.
// No LibTorch here: the tokenizer library reads GGUF vocabularies through this too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sp::io {

// ggml's tensor element types, with the values GGUF stores (ggml.h's enum ggml_type).
enum class GgmlType : std::uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

// ggml's name of a type value ("Q4_K", "IQ2_XXS", ...), "type <n>" for values ggml does not define.
std::string ggml_type_name(std::uint32_t type);

// Whether dequantize() reads this type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K.
bool ggml_type_supported(std::uint32_t type);

// One tensor: `dims` in GGUF order (dims[0] varies fastest, ggml's ne[0]); the row-major (PyTorch)
// shape is `dims` reversed. `data` points into the mapping, valid while the file object lives.
struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;
  std::uint32_t type = 0;  // a GgmlType value (any value ggml defines; dequantize() refuses the rest)
  const std::uint8_t* data = nullptr;
  std::size_t nbytes = 0;

  int64_t numel() const;
  std::vector<int64_t> shape() const;  // dims reversed
};

// A metadata value of one of GGUF's 13 types; arrays hold values of one element type.
struct GgufValue {
  enum class Type : std::uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
  };
  Type type = Type::U8;
  std::uint64_t unsigned_value = 0;  // U8, U16, U32, U64, Bool (0 or 1)
  std::int64_t signed_value = 0;     // I8, I16, I32, I64
  double float_value = 0;            // F32, F64
  std::string string_value;          // String
  Type element_type = Type::U8;      // Array
  std::vector<GgufValue> elements;   // Array
};

const char* gguf_value_type_name(GgufValue::Type type);  // "u32", "string", "array", ...

class GgufFile {
 public:
  // Maps and validates `path`. Throws NotFound, Io, Format (with the file name and the cause) or
  // Unsupported (version 1, or a big-endian file).
  static std::shared_ptr<const GgufFile> open(const std::string& path);
  // True when the file at `path` starts with GGUF's magic (no other check; false when unreadable).
  static bool has_magic(const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }

  // nullptr when the key is absent.
  const GgufValue* find(const std::string& key) const;
  // Typed reads: std::nullopt / nullptr when the key is absent; Format (naming the key, the file and
  // the stored type) when it holds another type. integer() takes any integer type (a u64 above
  // INT64_MAX is Format); number() also takes integers; boolean() takes Bool only.
  std::optional<int64_t> integer(const std::string& key) const;
  std::optional<double> number(const std::string& key) const;
  std::optional<bool> boolean(const std::string& key) const;
  std::optional<std::string> string(const std::string& key) const;
  // Arrays: every element of the named kind (Format otherwise), converted as the scalar reads are.
  std::optional<std::vector<std::string>> string_array(const std::string& key) const;
  std::optional<std::vector<int64_t>> integer_array(const std::string& key) const;
  std::optional<std::vector<double>> number_array(const std::string& key) const;
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;  // nullptr when absent

 private:
  GgufFile() = default;
  std::string path_;
  void* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> metadata_;  // file order
  std::vector<GgufTensor> tensors_;                          // file order
  friend class GgufParser;
};

// Writes the tensor's `numel()` values as float32 into `out`, exactly as the `gguf` Python package's
// gguf.quants.dequantize computes them (bit for bit). Throws Unsupported naming the type for a type
// ggml_type_supported() refuses, and Format when dims[0] is not a multiple of the type's block size.
void dequantize(const GgufTensor& tensor, float* out);

}  // namespace sp::io
