// What the GGUF suite's two files share: a byte-level GGUF writer written from the format's
// description (independent of the reader under test), file helpers, and the allocation meter that
// test_gguf.cpp's operator new feeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gguf_test {

// The scratch folder (second argument) and the fixture folder (first argument).
extern std::string scratch;
extern std::string fixtures;

std::string path_of(const std::string& name);
void write_raw(const std::string& path, const std::string& bytes);
std::string read_raw(const std::string& path);

// Bytes live through operator new, and the most live at once since the last reset_peak().
std::size_t live_bytes();
std::size_t peak_bytes();
void reset_peak();

// Appends GGUF fields little-endian, remembering where each named field starts (to patch it later)
// and where every field starts (the places to truncate at).
class GgufBuilder {
 public:
  std::string bytes;
  std::map<std::string, std::size_t> at;
  std::vector<std::size_t> boundaries;

  void u8(std::uint8_t value, const std::string& field = "") { put(value, 1, field); }
  void u16(std::uint16_t value, const std::string& field = "") { put(value, 2, field); }
  void u32(std::uint32_t value, const std::string& field = "") { put(value, 4, field); }
  void u64(std::uint64_t value, const std::string& field = "") { put(value, 8, field); }
  void f32(float value, const std::string& field = "");
  // A GGUF string: u64 length (named `field`), then the bytes (named `field`.text).
  void str(const std::string& text, const std::string& field = "");
  void raw(const std::string& text, const std::string& field = "");
  // Zero bytes up to the next multiple of `alignment`.
  void pad_to(std::size_t alignment);
  void header(std::uint64_t tensor_count, std::uint64_t kv_count, std::uint32_t version = 3);

 private:
  void mark(const std::string& field);
  void put(std::uint64_t value, int size, const std::string& field);
};

// Little-endian bytes of an integer, for patching.
std::string le(std::uint64_t value, int size);
// `bytes` with the field at `offset` overwritten by `value` (`size` bytes).
std::string patched(std::string bytes, std::size_t offset, std::uint64_t value, int size);

// The hand-built file the hostile cases start from: version 3, six metadata entries (architecture
// string, general.alignment u32 32, test.a u8 7, test.b bool true, test.tokens ["a", "bc"],
// test.nested [[1, 2]]), then two tensors: blk.0.attn_q.weight, Q8_0 [32, 2] at offset 0 (two
// blocks: scale 1 with q = j - 16, scale -0.5 with q = 3j - 50) and blk.0.attn_k.weight, F32 [8] at
// offset 96 (values 0.5 * (i - 3)); no padding after the last tensor.
GgufBuilder base_file();

// The hostile-file cases (test_gguf_hostile.cpp), run by test_gguf.cpp's main.
void base_file_reads_as_built(void** state);
void named_hostile_files_give_their_error_kind(void** state);
void truncations_are_format_errors(void** state);
void random_mutations_never_crash(void** state);

}  // namespace gguf_test
