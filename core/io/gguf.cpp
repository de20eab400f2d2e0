#include "io/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "io/file_util.h"
#include "io/gguf_types.h"
#include "util/errors.h"

namespace sp::io {

namespace {

constexpr std::uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
// ggml's GGML_MAX_DIMS: a tensor has 1 to 4 dimensions.
constexpr std::uint32_t kMaxDims = 4;
constexpr std::uint64_t kDefaultAlignment = 32;
// Arrays nested deeper than this are refused, so that a file of nested array headers cannot
// exhaust the stack (real files nest none; the Python writer can nest a few).
constexpr int kMaxArrayDepth = 16;
// All metadata arrays together hold at most this many values. The count check alone bounds an
// array by the bytes left in the file, but each value costs sizeof(GgufValue) (~100 bytes) in
// memory against 1 byte in the file; real files hold about four values per vocabulary entry
// (a 262k vocabulary: ~1M values).
constexpr std::uint64_t kMaxMetadataValues = std::uint64_t{1} << 23;
// Fewest bytes one tensor info can take: name length, n_dims, one dimension, type, offset.
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
// Fewest bytes one key/value pair can take: key length, value type, a one-byte value.
constexpr std::uint64_t kMinKeyValueBytes = 8 + 4 + 1;

[[noreturn]] void malformed(const std::string& path, const std::string& cause) {
  fail(ErrorKind::Format, "malformed GGUF file '" + path + "': " + cause);
}

std::uint32_t byte_swapped(std::uint32_t value) {
  return ((value & 0xffu) << 24) | ((value & 0xff00u) << 8) | ((value >> 8) & 0xff00u) | (value >> 24);
}

bool is_value_type(std::uint32_t type) { return type <= static_cast<std::uint32_t>(GgufValue::Type::F64); }

// Bytes one value of a fixed-size type takes; for strings and arrays, the fewest it can take
// (an empty string: its length; an empty array: element type and count).
std::uint64_t min_value_bytes(GgufValue::Type type) {
  switch (type) {
    case GgufValue::Type::U8:
    case GgufValue::Type::I8:
    case GgufValue::Type::Bool:
      return 1;
    case GgufValue::Type::U16:
    case GgufValue::Type::I16:
      return 2;
    case GgufValue::Type::U32:
    case GgufValue::Type::I32:
    case GgufValue::Type::F32:
      return 4;
    case GgufValue::Type::String:
    case GgufValue::Type::U64:
    case GgufValue::Type::I64:
    case GgufValue::Type::F64:
      return 8;
    case GgufValue::Type::Array:
      return 4 + 8;
  }
  return 1;
}

}  // namespace

// Reads the mapped bytes front to back; every read first checks that the bytes are there, and every
// count is checked against the bytes left before anything is allocated for it.
class GgufParser {
 public:
  GgufParser(GgufFile& file, const std::uint8_t* bytes, std::uint64_t size) : file_(file), bytes_(bytes), size_(size) {}

  void parse() {
    check_magic_and_version();
    const std::uint64_t tensor_count = read_u64("tensor count");
    const std::uint64_t kv_count = read_u64("metadata count");
    check_count(kv_count, kMinKeyValueBytes, "metadata count");
    check_count(tensor_count, kMinTensorInfoBytes, "tensor count");
    read_metadata(kv_count);
    read_alignment();
    std::vector<std::uint64_t> offsets = read_tensor_infos(tensor_count);
    place_tensors(offsets);
  }

 private:
  [[noreturn]] void bad(const std::string& cause) const { malformed(file_.path_, cause); }

  void need(std::uint64_t count, const std::string& part) const {
    if (count > size_ - pos_)
      bad(part + ": " + std::to_string(count) + " bytes needed at offset " + std::to_string(pos_) +
          ", but the file ends at " + std::to_string(size_) + " (truncated?)");
  }

  // A count of items of at least `min_bytes` each must fit in the bytes left.
  void check_count(std::uint64_t count, std::uint64_t min_bytes, const std::string& part) const {
    if (count > (size_ - pos_) / min_bytes)
      bad(part + " " + std::to_string(count) + " is more than the " + std::to_string(size_ - pos_) +
          " bytes left in the file could hold");
  }

  template <class T>
  T read_le(const std::string& part) {
    need(sizeof(T), part);
    std::uint64_t value = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) value = (value << 8) | bytes_[pos_ + i];
    pos_ += sizeof(T);
    return static_cast<T>(value);
  }
  std::uint32_t read_u32(const std::string& part) { return read_le<std::uint32_t>(part); }
  std::uint64_t read_u64(const std::string& part) { return read_le<std::uint64_t>(part); }

  std::string read_string(const std::string& part) {
    const std::uint64_t length = read_u64(part + " (string length)");
    need(length, part + " (string of " + std::to_string(length) + " bytes)");
    std::string text(reinterpret_cast<const char*>(bytes_ + pos_), static_cast<std::size_t>(length));
    pos_ += length;
    return text;
  }

  void check_magic_and_version() {
    need(8, "header");
    if (std::memcmp(bytes_, kMagic, sizeof(kMagic)) != 0) bad("it does not start with GGUF's magic bytes \"GGUF\"");
    pos_ = 4;
    const std::uint32_t version = read_u32("version");
    const std::string& path = file_.path_;
    if (version == 2 || version == 3) {
      file_.version_ = version;
      return;
    }
    const std::uint32_t swapped = byte_swapped(version);
    if (swapped >= 1 && swapped <= 3)
      fail(ErrorKind::Unsupported, "GGUF file '" + path + "' is big-endian (version " + std::to_string(swapped) +
                                       "); only little-endian GGUF files are read");
    if (version == 1)
      fail(ErrorKind::Unsupported,
           "GGUF file '" + path + "' is version 1, which has 32-bit counts; only versions 2 and 3 are read");
    if (version > 3 && version < 0x10000)
      fail(ErrorKind::Unsupported,
           "GGUF file '" + path + "' is version " + std::to_string(version) + "; only versions 2 and 3 are read");
    bad("version field " + std::to_string(version) + " is not a GGUF version");
  }

  void read_metadata(std::uint64_t kv_count) {
    file_.metadata_.reserve(static_cast<std::size_t>(kv_count));
    for (std::uint64_t i = 0; i < kv_count; ++i) {
      const std::string entry = "metadata entry " + std::to_string(i);
      std::string key = read_string(entry + " key");
      const std::string part = "metadata key '" + key + "'";
      const std::uint32_t type = read_u32(part + " (value type)");
      if (!is_value_type(type)) bad(part + ": unknown value type " + std::to_string(type));
      GgufValue value = read_value(static_cast<GgufValue::Type>(type), 0, part);
      file_.metadata_.emplace_back(std::move(key), std::move(value));
    }
    std::vector<const std::string*> keys;
    keys.reserve(file_.metadata_.size());
    for (const auto& entry : file_.metadata_) keys.push_back(&entry.first);
    std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    for (std::size_t i = 1; i < keys.size(); ++i)
      if (*keys[i] == *keys[i - 1]) bad("metadata key '" + *keys[i] + "' appears more than once");
  }

  GgufValue read_value(GgufValue::Type type, int depth, const std::string& part) {
    GgufValue value;
    value.type = type;
    switch (type) {
      case GgufValue::Type::U8:
        value.unsigned_value = read_le<std::uint8_t>(part);
        break;
      case GgufValue::Type::U16:
        value.unsigned_value = read_le<std::uint16_t>(part);
        break;
      case GgufValue::Type::U32:
        value.unsigned_value = read_le<std::uint32_t>(part);
        break;
      case GgufValue::Type::U64:
        value.unsigned_value = read_le<std::uint64_t>(part);
        break;
      case GgufValue::Type::I8:
        value.signed_value = static_cast<std::int8_t>(read_le<std::uint8_t>(part));
        break;
      case GgufValue::Type::I16:
        value.signed_value = static_cast<std::int16_t>(read_le<std::uint16_t>(part));
        break;
      case GgufValue::Type::I32:
        value.signed_value = static_cast<std::int32_t>(read_le<std::uint32_t>(part));
        break;
      case GgufValue::Type::I64:
        value.signed_value = static_cast<std::int64_t>(read_le<std::uint64_t>(part));
        break;
      case GgufValue::Type::F32: {
        const std::uint32_t bits = read_le<std::uint32_t>(part);
        float number;
        std::memcpy(&number, &bits, sizeof(number));
        value.float_value = number;
        break;
      }
      case GgufValue::Type::F64: {
        const std::uint64_t bits = read_le<std::uint64_t>(part);
        std::memcpy(&value.float_value, &bits, sizeof(value.float_value));
        break;
      }
      case GgufValue::Type::Bool: {
        const std::uint8_t byte = read_le<std::uint8_t>(part);
        if (byte > 1) bad(part + ": bool value " + std::to_string(byte) + " is neither 0 nor 1");
        value.unsigned_value = byte;
        break;
      }
      case GgufValue::Type::String:
        value.string_value = read_string(part);
        break;
      case GgufValue::Type::Array:
        read_array(value, depth, part);
        break;
    }
    return value;
  }

  void read_array(GgufValue& value, int depth, const std::string& part) {
    if (depth >= kMaxArrayDepth) bad(part + ": arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
    const std::uint32_t element_type = read_u32(part + " (array element type)");
    if (!is_value_type(element_type)) bad(part + ": unknown array element type " + std::to_string(element_type));
    value.element_type = static_cast<GgufValue::Type>(element_type);
    const std::uint64_t count = read_u64(part + " (array length)");
    check_count(count, min_value_bytes(value.element_type), part + ": array length");
    if (count > kMaxMetadataValues - metadata_values_)
      bad(part + ": the metadata arrays hold more than " + std::to_string(kMaxMetadataValues) +
          " values in all (this reader's limit)");
    metadata_values_ += count;
    value.elements.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) value.elements.push_back(read_value(value.element_type, depth + 1, part));
  }

  void read_alignment() {
    const GgufValue* value = file_.find("general.alignment");
    if (!value) return;
    if (value->type != GgufValue::Type::U32)
      bad("general.alignment is a " + std::string(gguf_value_type_name(value->type)) + ", not a u32");
    const std::uint64_t alignment = value->unsigned_value;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
      bad("general.alignment " + std::to_string(alignment) + " is not a power of two");
    file_.alignment_ = alignment;
  }

  // Reads the tensor infos into file_.tensors_ (data not yet placed); returns each one's offset.
  std::vector<std::uint64_t> read_tensor_infos(std::uint64_t tensor_count) {
    std::vector<std::uint64_t> offsets;
    offsets.reserve(static_cast<std::size_t>(tensor_count));
    file_.tensors_.reserve(static_cast<std::size_t>(tensor_count));
    for (std::uint64_t i = 0; i < tensor_count; ++i) {
      GgufTensor tensor;
      tensor.name = read_string("tensor info " + std::to_string(i) + " name");
      const std::string part = "tensor '" + tensor.name + "'";
      const std::uint32_t n_dims = read_u32(part + " (number of dimensions)");
      if (n_dims < 1 || n_dims > kMaxDims)
        bad(part + ": " + std::to_string(n_dims) + " dimensions (GGUF tensors have 1 to 4)");
      for (std::uint32_t d = 0; d < n_dims; ++d) {
        const auto dim = static_cast<std::int64_t>(read_u64(part + " (dimensions)"));
        if (dim < 0) bad(part + ": dimension " + std::to_string(d) + " is negative (" + std::to_string(dim) + ")");
        tensor.dims.push_back(dim);
      }
      tensor.type = read_u32(part + " (type)");
      offsets.push_back(read_u64(part + " (offset)"));
      tensor.nbytes = tensor_bytes(tensor, part);
      file_.tensors_.push_back(std::move(tensor));
    }
    return offsets;
  }

  // Bytes of the tensor's data, from its type's block layout; Format on an unknown type, a first
  // dimension that is not a whole number of blocks, or a size past what can be addressed.
  std::size_t tensor_bytes(const GgufTensor& tensor, const std::string& part) const {
    const GgmlTypeTraits* traits = ggml_type_traits(tensor.type);
    if (!traits) bad(part + ": unknown ggml type " + std::to_string(tensor.type));
    const auto block = static_cast<std::int64_t>(traits->block_size);
    if (tensor.dims[0] % block != 0)
      bad(part + ": its first dimension " + std::to_string(tensor.dims[0]) + " is not a multiple of " + traits->name +
          "'s block size " + std::to_string(block));
    // The value count must fit in int64 (ggml's own limit) and the byte count in size_t.
    std::int64_t values = 1;
    for (std::int64_t dim : tensor.dims) {
      if (dim != 0 && values > std::numeric_limits<std::int64_t>::max() / dim)
        bad(part + ": its dimensions hold more values than can be addressed");
      values *= dim;
    }
    std::uint64_t bytes = traits->type_size;
    for (std::size_t d = 0; d < tensor.dims.size(); ++d) {
      const auto factor = static_cast<std::uint64_t>(d == 0 ? tensor.dims[0] / block : tensor.dims[d]);
      if (factor != 0 && bytes > std::numeric_limits<std::size_t>::max() / factor)
        bad(part + ": its data is larger than can be addressed");
      bytes *= factor;
    }
    return static_cast<std::size_t>(bytes);
  }

  // The data section starts at the first multiple of the alignment after the tensor infos; each
  // tensor's offset is relative to it, aligned, and its bytes lie inside it without overlapping
  // another tensor's.
  void place_tensors(const std::vector<std::uint64_t>& offsets) {
    const std::uint64_t alignment = file_.alignment_;
    const std::uint64_t data_start = pos_ + (alignment - pos_ % alignment) % alignment;
    const std::uint64_t data_size = data_start < size_ ? size_ - data_start : 0;
    std::vector<std::size_t> order(offsets.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      GgufTensor& tensor = file_.tensors_[i];
      const std::string part = "tensor '" + tensor.name + "'";
      const std::uint64_t offset = offsets[i];
      if (offset % alignment != 0)
        bad(part + ": offset " + std::to_string(offset) + " is not a multiple of the alignment " +
            std::to_string(alignment));
      if (offset > data_size || tensor.nbytes > data_size - offset)
        bad(part + ": " + std::to_string(tensor.nbytes) + " bytes at offset " + std::to_string(offset) +
            " run past the end of the " + std::to_string(data_size) + "-byte data section (truncated?)");
      tensor.data = bytes_ + std::min(data_start + offset, size_);
      order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return offsets[a] < offsets[b]; });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const GgufTensor& before = file_.tensors_[order[k - 1]];
      if (offsets[order[k - 1]] + before.nbytes > offsets[order[k]])
        bad("tensor '" + file_.tensors_[order[k]].name + "' overlaps tensor '" + before.name + "'");
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return file_.tensors_[a].name < file_.tensors_[b].name; });
    for (std::size_t k = 1; k < order.size(); ++k)
      if (file_.tensors_[order[k]].name == file_.tensors_[order[k - 1]].name)
        bad("tensor name '" + file_.tensors_[order[k]].name + "' appears more than once");
  }

  GgufFile& file_;
  const std::uint8_t* bytes_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
  std::uint64_t metadata_values_ = 0;
};

int64_t GgufTensor::numel() const {
  int64_t count = 1;
  for (int64_t dim : dims) count *= dim;
  return count;
}

std::vector<int64_t> GgufTensor::shape() const { return std::vector<int64_t>(dims.rbegin(), dims.rend()); }

const char* gguf_value_type_name(GgufValue::Type type) {
  switch (type) {
    case GgufValue::Type::U8:
      return "u8";
    case GgufValue::Type::I8:
      return "i8";
    case GgufValue::Type::U16:
      return "u16";
    case GgufValue::Type::I16:
      return "i16";
    case GgufValue::Type::U32:
      return "u32";
    case GgufValue::Type::I32:
      return "i32";
    case GgufValue::Type::F32:
      return "f32";
    case GgufValue::Type::Bool:
      return "bool";
    case GgufValue::Type::String:
      return "string";
    case GgufValue::Type::Array:
      return "array";
    case GgufValue::Type::U64:
      return "u64";
    case GgufValue::Type::I64:
      return "i64";
    case GgufValue::Type::F64:
      return "f64";
  }
  return "unknown";
}

std::shared_ptr<const GgufFile> GgufFile::open(const std::string& path) {
  if (!is_regular_file(path)) fail(ErrorKind::NotFound, "file not found: '" + path + "'");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::Io, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    fail(ErrorKind::Io, "cannot stat '" + path + "': " + std::strerror(error));
  }
  const auto file_size = static_cast<std::uint64_t>(info.st_size);
  if (file_size < 8) {
    ::close(fd);
    malformed(path, "file is " + std::to_string(file_size) + " bytes, too short for the magic and the version");
  }
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_error = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) fail(ErrorKind::Io, "cannot map '" + path + "': " + std::strerror(map_error));

  std::shared_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->mapping_ = mapping;
  file->mapping_size_ = file_size;
  GgufParser(*file, static_cast<const std::uint8_t*>(mapping), file_size).parse();
  return file;
}

bool GgufFile::has_magic(const std::string& path) {
  if (!is_regular_file(path)) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::uint8_t head[sizeof(kMagic)] = {};
  const ssize_t got = ::read(fd, head, sizeof(head));
  ::close(fd);
  return got == static_cast<ssize_t>(sizeof(head)) && std::memcmp(head, kMagic, sizeof(kMagic)) == 0;
}

GgufFile::~GgufFile() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
}

const GgufValue* GgufFile::find(const std::string& key) const {
  for (const auto& entry : metadata_)
    if (entry.first == key) return &entry.second;
  return nullptr;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  for (const auto& tensor : tensors_)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

}  // namespace sp::io
