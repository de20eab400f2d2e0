#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/file_util.h"
#include "util/errors.h"
#include "util/shape_text.h"

namespace sp::io {

namespace {

// The reference reader refuses larger headers; so do we, so that a corrupt length cannot make us
// parse gigabytes.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void malformed(const std::string& path, const std::string& cause) {
  fail(ErrorKind::Format, "malformed safetensors file '" + path + "': " + cause);
}

std::uint64_t read_le64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// Bytes a tensor of this shape and dtype occupies; Format error on negative dims or overflow.
std::uint64_t expected_bytes(const std::string& path, const std::string& name, DType dtype,
                             const std::vector<int64_t>& shape) {
  std::uint64_t count = dtype_size(dtype);
  for (int64_t dim : shape) {
    if (dim < 0) malformed(path, "tensor '" + name + "' has a negative dimension");
    if (dim != 0 && count > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(dim))
      malformed(path, "tensor '" + name + "' has a shape too large to address");
    count *= static_cast<std::uint64_t>(dim);
  }
  return count;
}

struct ParsedEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::uint64_t begin, end;
};

ParsedEntry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& entry,
                        std::uint64_t data_size) {
  if (!entry.is_object()) malformed(path, "entry '" + name + "' is not an object");
  auto dtype_it = entry.find("dtype");
  auto shape_it = entry.find("shape");
  auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || !dtype_it->is_string()) malformed(path, "tensor '" + name + "' has no dtype string");
  if (shape_it == entry.end() || !shape_it->is_array()) malformed(path, "tensor '" + name + "' has no shape array");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2)
    malformed(path, "tensor '" + name + "' has no data_offsets pair");

  ParsedEntry parsed;
  parsed.name = name;
  auto dtype = parse_dtype(dtype_it->get<std::string>());
  if (!dtype) malformed(path, "tensor '" + name + "' has unknown dtype '" + dtype_it->get<std::string>() + "'");
  parsed.dtype = *dtype;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_integer()) malformed(path, "tensor '" + name + "' has a non-integer dimension");
    parsed.shape.push_back(dim.get<int64_t>());
  }
  for (const auto& offset : *offsets_it)
    if (!offset.is_number_unsigned()) malformed(path, "tensor '" + name + "' has a non-integer data offset");
  parsed.begin = (*offsets_it)[0].get<std::uint64_t>();
  parsed.end = (*offsets_it)[1].get<std::uint64_t>();
  if (parsed.end < parsed.begin || parsed.end > data_size)
    malformed(path, "tensor '" + name + "' has data_offsets [" + std::to_string(parsed.begin) + ", " +
                        std::to_string(parsed.end) + "] outside the " + std::to_string(data_size) +
                        "-byte data section (file truncated?)");
  std::uint64_t needed = expected_bytes(path, name, parsed.dtype, parsed.shape);
  if (needed != parsed.end - parsed.begin)
    malformed(path, "tensor '" + name + "' of dtype " + dtype_name(parsed.dtype) + " and shape " +
                        shape_text(parsed.shape) + " needs " + std::to_string(needed) +
                        " bytes, but its data_offsets cover " + std::to_string(parsed.end - parsed.begin));
  return parsed;
}

// Offsets must tile the data section: no overlap, no gap, nothing left over.
void check_tiling(const std::string& path, std::vector<ParsedEntry>& entries, std::uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const ParsedEntry& a, const ParsedEntry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  std::uint64_t cursor = 0;
  for (const auto& entry : entries) {
    if (entry.begin < cursor) malformed(path, "tensor '" + entry.name + "' overlaps the tensor before it");
    if (entry.begin > cursor) malformed(path, "gap in the data section before tensor '" + entry.name + "'");
    cursor = entry.end;
  }
  if (cursor != data_size)
    malformed(path, "data section holds " + std::to_string(data_size) + " bytes but the tensors cover " +
                        std::to_string(cursor));
}

}  // namespace

int64_t TensorView::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  if (!is_regular_file(path)) fail(ErrorKind::NotFound, "file not found: '" + path + "'");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::Io, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    fail(ErrorKind::Io, "cannot stat '" + path + "': " + std::strerror(errno));
  }
  const auto file_size = static_cast<std::uint64_t>(info.st_size);
  if (file_size < 8) {
    ::close(fd);
    malformed(path, "file is " + std::to_string(file_size) + " bytes, too short for the 8-byte header length");
  }
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) fail(ErrorKind::Io, "cannot map '" + path + "': " + std::strerror(errno));

  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = mapping;
  file->mapping_size_ = file_size;
  file->index(static_cast<const std::uint8_t*>(mapping), file_size);
  return file;
}

std::uint64_t safetensors_header_length(const std::uint8_t* first_8_bytes, std::uint64_t total_size,
                                        const std::string& name) {
  const std::uint64_t header_size = read_le64(first_8_bytes);
  if (header_size > kMaxHeaderBytes)
    malformed(name, "header length " + std::to_string(header_size) + " exceeds the 100 MB limit");
  if (header_size > total_size - kSafetensorsLengthBytes)
    malformed(name, "header length " + std::to_string(header_size) + " runs past the end of the " +
                        std::to_string(total_size) + "-byte file");
  return header_size;
}

SafetensorsHeader parse_safetensors_header(const std::uint8_t* json, std::uint64_t json_size, std::uint64_t data_size,
                                           const std::string& path) {
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(json, json + json_size);
  } catch (const nlohmann::json::exception& error) {
    malformed(path, std::string("header is not valid JSON (") + error.what() + ")");
  }
  if (!header.is_object()) malformed(path, "header is not a JSON object");

  SafetensorsHeader result;
  std::vector<ParsedEntry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) malformed(path, "__metadata__ is not an object");
      for (auto meta = it.value().begin(); meta != it.value().end(); ++meta) {
        if (!meta.value().is_string()) malformed(path, "__metadata__ value '" + meta.key() + "' is not a string");
        result.metadata[meta.key()] = meta.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), it.value(), data_size));
  }
  check_tiling(path, entries, data_size);

  std::sort(entries.begin(), entries.end(), [](const ParsedEntry& a, const ParsedEntry& b) { return a.name < b.name; });
  for (auto& entry : entries) {
    TensorView view;
    view.name = entry.name;
    view.dtype = entry.dtype;
    view.shape = std::move(entry.shape);
    view.nbytes = static_cast<std::size_t>(entry.end - entry.begin);
    view.data_offset = entry.begin;
    result.tensors.push_back(std::move(view));
  }
  return result;
}

void SafetensorsFile::index(const std::uint8_t* bytes, std::uint64_t file_size) {
  const std::uint64_t header_size = safetensors_header_length(bytes, file_size, path_);
  const std::uint64_t data_start = kSafetensorsLengthBytes + header_size;
  SafetensorsHeader header =
      parse_safetensors_header(bytes + kSafetensorsLengthBytes, header_size, file_size - data_start, path_);
  metadata_ = std::move(header.metadata);
  tensors_ = std::move(header.tensors);
  for (auto& view : tensors_) view.data = bytes + data_start + view.data_offset;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorView& view, const std::string& key) { return view.name < key; });
  return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

std::string encode_safetensors(const std::vector<TensorToWrite>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> order;
  for (const auto& tensor : tensors) {
    if (tensor.nbytes != static_cast<std::size_t>(expected_bytes("<output>", tensor.name, tensor.dtype, tensor.shape)))
      fail(ErrorKind::Internal, "tensor '" + tensor.name + "' has a byte size that does not match its shape");
    order.push_back(&tensor);
  }
  std::stable_sort(order.begin(), order.end(), [](const TensorToWrite* a, const TensorToWrite* b) {
    if (dtype_size(a->dtype) != dtype_size(b->dtype)) return dtype_size(a->dtype) > dtype_size(b->dtype);
    return a->name < b->name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const TensorToWrite* tensor : order) {
    nlohmann::ordered_json entry;
    entry["dtype"] = dtype_name(tensor->dtype);
    entry["shape"] = tensor->shape;
    entry["data_offsets"] = {offset, offset + tensor->nbytes};
    header[tensor->name] = entry;
    offset += tensor->nbytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header_text.size() + offset);
  std::uint64_t length = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  out += header_text;
  for (const TensorToWrite* tensor : order) out.append(static_cast<const char*>(tensor->data), tensor->nbytes);
  return out;
}

}  // namespace sp::io
