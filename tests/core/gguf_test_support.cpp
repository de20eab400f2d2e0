#include "gguf_test_support.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "io/file_util.h"

namespace gguf_test {

std::string scratch;
std::string fixtures;

std::string path_of(const std::string& name) { return sp::io::join_path(scratch, name); }

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string le(std::uint64_t value, int size) {
  std::string bytes;
  for (int i = 0; i < size; ++i) bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return bytes;
}

std::string patched(std::string bytes, std::size_t offset, std::uint64_t value, int size) {
  bytes.replace(offset, static_cast<std::size_t>(size), le(value, size));
  return bytes;
}

void GgufBuilder::mark(const std::string& field) {
  boundaries.push_back(bytes.size());
  if (!field.empty()) at[field] = bytes.size();
}

void GgufBuilder::put(std::uint64_t value, int size, const std::string& field) {
  mark(field);
  bytes += le(value, size);
}

void GgufBuilder::f32(float value, const std::string& field) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  u32(bits, field);
}

void GgufBuilder::str(const std::string& text, const std::string& field) {
  u64(text.size(), field);
  raw(text, field.empty() ? "" : field + ".text");
}

void GgufBuilder::raw(const std::string& text, const std::string& field) {
  mark(field);
  bytes += text;
}

void GgufBuilder::pad_to(std::size_t alignment) {
  mark("");
  bytes.append((alignment - bytes.size() % alignment) % alignment, '\0');
}

void GgufBuilder::header(std::uint64_t tensor_count, std::uint64_t kv_count, std::uint32_t version) {
  raw("GGUF", "magic");
  u32(version, "version");
  u64(tensor_count, "tensor_count");
  u64(kv_count, "kv_count");
}

GgufBuilder base_file() {
  GgufBuilder file;
  file.header(2, 6);
  file.str("general.architecture", "kv0.key");
  file.u32(8, "kv0.type");
  file.str("llama", "kv0.value");
  file.str("general.alignment", "kv1.key");
  file.u32(4, "kv1.type");
  file.u32(32, "kv1.value");
  file.str("test.a", "kv2.key");
  file.u32(0, "kv2.type");
  file.u8(7, "kv2.value");
  file.str("test.b", "kv3.key");
  file.u32(7, "kv3.type");
  file.u8(1, "kv3.value");
  file.str("test.tokens", "kv4.key");
  file.u32(9, "kv4.type");
  file.u32(8, "kv4.element_type");
  file.u64(2, "kv4.length");
  file.str("a", "kv4.item0");
  file.str("bc", "kv4.item1");
  file.str("test.nested", "kv5.key");
  file.u32(9, "kv5.type");
  file.u32(9, "kv5.element_type");
  file.u64(1, "kv5.length");
  file.u32(5, "kv5.inner_type");
  file.u64(2, "kv5.inner_length");
  file.u32(1);
  file.u32(2);

  file.str("blk.0.attn_q.weight", "t0.name");
  file.u32(2, "t0.n_dims");
  file.u64(32, "t0.dim0");
  file.u64(2, "t0.dim1");
  file.u32(8, "t0.type");
  file.u64(0, "t0.offset");
  file.str("blk.0.attn_k.weight", "t1.name");
  file.u32(1, "t1.n_dims");
  file.u64(8, "t1.dim0");
  file.u32(0, "t1.type");
  file.u64(96, "t1.offset");
  file.pad_to(32);
  file.at["data"] = file.bytes.size();

  file.u16(0x3c00, "t0.data");  // 1.0
  for (int j = 0; j < 32; ++j) file.u8(static_cast<std::uint8_t>(static_cast<std::int8_t>(j - 16)));
  file.u16(0xb800);  // -0.5
  for (int j = 0; j < 32; ++j) file.u8(static_cast<std::uint8_t>(static_cast<std::int8_t>(3 * j - 50)));
  file.raw(std::string(96 - 68, '\0'));
  file.at["t1.data"] = file.bytes.size();
  for (int i = 0; i < 8; ++i) file.f32(0.5f * static_cast<float>(i - 3));
  return file;
}

}  // namespace gguf_test
