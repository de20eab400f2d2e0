// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//   [8 bytes little-endian header length N][N bytes JSON header][tensor data]
// Reading memory-maps the file and validates every header entry before any tensor is used,
// so a truncated or malformed file gives a Format error instead of a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace sp::io {

// One tensor inside an open file: points into the mapping, valid while the file object lives.
struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const std::uint8_t* data = nullptr;  // nullptr in a SafetensorsHeader (data not read yet)
  std::size_t nbytes = 0;
  std::uint64_t data_offset = 0;  // from the start of the data section

  int64_t numel() const;
};

// Size of the 8-byte length field that starts every safetensors buffer.
constexpr std::size_t kSafetensorsLengthBytes = 8;

// The header length a buffer's first 8 bytes announce, refused (Format, naming `name`) above the
// reference reader's 100 MB limit or past the end of a `total_size`-byte buffer.
std::uint64_t safetensors_header_length(const std::uint8_t* first_8_bytes, std::uint64_t total_size,
                                        const std::string& name);

// A header validated on its own, before the data section is read (or inflated): every entry's
// dtype, shape and offsets, tiling a data section of `data_size` bytes. For readers that check the
// declared tensors before committing memory to their data.
struct SafetensorsHeader {
  std::vector<TensorView> tensors;  // sorted by name; data == nullptr
  std::map<std::string, std::string> metadata;
};
SafetensorsHeader parse_safetensors_header(const std::uint8_t* json, std::uint64_t json_size, std::uint64_t data_size,
                                           const std::string& name);

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws NotFound, Io or Format (with the file name and the cause).
  static std::shared_ptr<const SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // nullptr when the file has no tensor of that name.
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  // Validates bytes_[0, size) and fills tensors_ and metadata_.
  void index(const std::uint8_t* bytes, std::uint64_t size);
  std::string path_;
  void* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to be written; `data` must hold exactly numel * dtype_size bytes, little-endian, row-major.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  std::size_t nbytes = 0;
};

// The complete file content, laid out as the reference writer lays it out: compact JSON with
// "__metadata__" first, tensors ordered by dtype size (largest first) then by name, header padded with
// spaces to a multiple of 8. Files written this way are byte-identical to the Python library's.
std::string encode_safetensors(const std::vector<TensorToWrite>& tensors,
                               const std::map<std::string, std::string>& metadata);

}  // namespace sp::io
