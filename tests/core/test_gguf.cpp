// The GGUF reader and dequantizer (core/io/gguf.h) against the `gguf` Python package: every supported
// type dequantized bit for bit like gguf.quants.dequantize (fixture gguf_reference, written by
// tests/reference/gguf_reference.py), every metadata value type and the typed reads, types that
// open but are not dequantized, SmolLM2's real file (with the whole model's dequantization timed),
// and the hostile files of test_gguf_hostile.cpp. Links sp_util only (no LibTorch).
//
//   test_gguf <fixture-folder> <scratch-folder>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "gguf_test_support.h"
#include "io/file_util.h"
#include "io/gguf.h"
#include "util/errors.h"

// cmocka last: it defines a fail() macro that would clash with sp::fail in the headers above.
extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
}

// The allocation meter: every operator new records its size in front of the block, so the suite
// can tell how much a hostile file made the reader allocate at once. Not inlined, so that the
// compiler does not match our malloc/free against the new/delete of the callers.
namespace {
std::atomic<std::size_t> g_live{0};
std::atomic<std::size_t> g_peak{0};
constexpr std::size_t kHeader = alignof(std::max_align_t);

__attribute__((noinline)) void* metered_new(std::size_t size) {
  auto* block = static_cast<unsigned char*>(std::malloc(size + kHeader));
  if (!block) return nullptr;
  std::memcpy(block, &size, sizeof(size));
  const std::size_t now = g_live += size;
  std::size_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  return block + kHeader;
}

__attribute__((noinline)) void metered_delete(void* pointer) noexcept {
  if (!pointer) return;
  auto* block = static_cast<unsigned char*>(pointer) - kHeader;
  std::size_t size;
  std::memcpy(&size, block, sizeof(size));
  g_live -= size;
  std::free(block);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* pointer = metered_new(size)) return pointer;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return metered_new(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return metered_new(size); }
void operator delete(void* pointer) noexcept { metered_delete(pointer); }
void operator delete[](void* pointer) noexcept { metered_delete(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { metered_delete(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { metered_delete(pointer); }

using sp::ErrorKind;
using namespace sp::io;
using nlohmann::json;

namespace gguf_test {

std::size_t live_bytes() { return g_live.load(); }
std::size_t peak_bytes() { return g_peak.load(); }
void reset_peak() { g_peak = g_live.load(); }

namespace {

json manifest;

json read_json(const std::string& path) { return json::parse(read_raw(path)); }

std::uint64_t bits_of(double value) {
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// Dequantizes `tensor` and compares it bit for bit with the float32 file `expected_path`.
void check_dequantized(const GgufTensor& tensor, const std::string& expected_path, const std::string& where) {
  const std::string expected = read_raw(expected_path);
  if (expected.size() != static_cast<std::size_t>(tensor.numel()) * sizeof(float))
    fail_msg("%s: %zu expected bytes for %lld values", where.c_str(), expected.size(),
             static_cast<long long>(tensor.numel()));
  std::vector<float> values(static_cast<std::size_t>(tensor.numel()));
  dequantize(tensor, values.data());
  if (std::memcmp(values.data(), expected.data(), expected.size()) == 0) return;
  for (std::size_t i = 0; i < values.size(); ++i) {
    float want;
    std::memcpy(&want, expected.data() + 4 * i, sizeof(want));
    if (bits_of(values[i]) != bits_of(want))
      fail_msg("%s: value %zu is %.9g (0x%08x), gguf gives %.9g (0x%08x)", where.c_str(), i, values[i],
               bits_of(values[i]), want, bits_of(want));
  }
}

void check_dims(const GgufTensor& tensor, const json& dims, const std::string& where) {
  if (tensor.dims != dims.get<std::vector<int64_t>>())
    fail_msg("%s: dims differ from the manifest's %s", where.c_str(), dims.dump().c_str());
}

// A manifest value ({"type", "value"[, "element_type"]}) against what the reader holds.
void check_value(const json& expected, const GgufValue& value, const std::string& where) {
  const std::string type = expected.at("type");
  if (type != gguf_value_type_name(value.type))
    fail_msg("%s: type %s, expected %s", where.c_str(), gguf_value_type_name(value.type), type.c_str());
  const json& want = expected.at("value");
  if (type == "array") {
    const std::string element_type = expected.at("element_type");
    if (element_type != gguf_value_type_name(value.element_type))
      fail_msg("%s: element type %s, expected %s", where.c_str(), gguf_value_type_name(value.element_type),
               element_type.c_str());
    if (want.size() != value.elements.size())
      fail_msg("%s: %zu elements, expected %zu", where.c_str(), value.elements.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i)
      check_value(want[i], value.elements[i], where + "[" + std::to_string(i) + "]");
  } else if (type == "f32" || type == "f64") {
    const std::uint64_t bits = std::stoull(want.get<std::string>(), nullptr, 16);
    if (bits != bits_of(value.float_value))
      fail_msg("%s: %.17g (0x%016llx), expected %s", where.c_str(), value.float_value,
               static_cast<unsigned long long>(bits_of(value.float_value)), want.get<std::string>().c_str());
  } else if (type == "bool") {
    if (value.unsigned_value != (want.get<bool>() ? 1u : 0u)) fail_msg("%s: wrong bool", where.c_str());
  } else if (type == "string") {
    if (value.string_value != want.get<std::string>())
      fail_msg("%s: \"%s\", expected \"%s\"", where.c_str(), value.string_value.c_str(),
               want.get<std::string>().c_str());
  } else if (type[0] == 'u') {
    if (value.unsigned_value != want.get<std::uint64_t>()) fail_msg("%s: wrong unsigned value", where.c_str());
  } else if (value.signed_value != want.get<std::int64_t>()) {
    fail_msg("%s: wrong signed value", where.c_str());
  }
}

// Runs `read` and expects a Format error naming `key`, the file and `stored`.
template <class Read>
void check_wrong_type(const GgufFile& file, const std::string& key, const char* stored, Read read) {
  try {
    read();
    fail_msg("%s: read as the wrong type without error", key.c_str());
  } catch (const sp::Error& error) {
    const std::string message = error.what();
    if (error.kind() != ErrorKind::Format) fail_msg("%s: wrong kind: %s", key.c_str(), error.what());
    for (const std::string& part : {key, file.path(), std::string(stored)})
      if (message.find(part) == std::string::npos)
        fail_msg("%s: message \"%s\" lacks \"%s\"", key.c_str(), error.what(), part.c_str());
  }
}

void every_type_dequantizes_like_gguf(void**) {
  std::set<std::string> types;
  std::set<int> versions;
  int tensors = 0;
  for (const json& entry : manifest.at("quant")) {
    const std::string file_name = entry.at("file");
    auto file = GgufFile::open(fixtures + "/" + file_name);
    assert_int_equal(file->version(), entry.at("version").get<int>());
    assert_int_equal(file->alignment(), entry.at("alignment").get<int>());
    assert_int_equal(file->tensors().size(), entry.at("tensors").size());
    for (const json& expected : entry.at("tensors")) {
      const std::string name = expected.at("name");
      const std::string where = file_name + " " + name;
      const GgufTensor* tensor = file->find_tensor(name);
      if (!tensor) fail_msg("%s: missing", where.c_str());
      if (ggml_type_name(tensor->type) != expected.at("type").get<std::string>())
        fail_msg("%s: type %s", where.c_str(), ggml_type_name(tensor->type).c_str());
      check_dims(*tensor, expected.at("dims"), where);
      check_dequantized(*tensor, fixtures + "/" + expected.at("expected").get<std::string>(), where);
      ++tensors;
    }
    types.insert(entry.at("type").get<std::string>());
    versions.insert(file->version());
  }
  const std::set<std::string> supported = {"F16",  "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                           "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
  for (const std::string& type : supported)
    if (!types.count(type)) fail_msg("the fixture has no %s file", type.c_str());
  assert_true(versions.count(2) && versions.count(3));
  std::printf("  %d tensors of %zu types bit-identical to gguf.quants.dequantize\n", tensors, types.size());
}

void type_names_and_support(void**) {
  const std::map<std::uint32_t, std::string> names = {
      {0, "F32"},    {1, "F16"},    {2, "Q4_0"},     {3, "Q4_1"},     {6, "Q5_0"},    {7, "Q5_1"},
      {8, "Q8_0"},   {9, "Q8_1"},   {10, "Q2_K"},    {11, "Q3_K"},    {12, "Q4_K"},   {13, "Q5_K"},
      {14, "Q6_K"},  {15, "Q8_K"},  {16, "IQ2_XXS"}, {23, "IQ4_XS"},  {28, "F64"},    {30, "BF16"},
      {34, "TQ1_0"}, {39, "MXFP4"}, {4, "type 4"},   {31, "type 31"}, {99, "type 99"}};
  for (const auto& [type, name] : names) assert_string_equal(ggml_type_name(type).c_str(), name.c_str());
  const std::set<std::uint32_t> supported = {0, 1, 30, 8, 2, 3, 6, 7, 10, 11, 12, 13, 14};
  for (std::uint32_t type = 0; type < 64; ++type)
    if (ggml_type_supported(type) != (supported.count(type) == 1)) fail_msg("type %u support is wrong", type);
}

void defined_types_open_and_refuse_dequantization_by_name(void**) {
  const json& entry = manifest.at("unsupported");
  auto file = GgufFile::open(fixtures + "/" + entry.at("file").get<std::string>());
  for (const json& expected : entry.at("tensors")) {
    const std::string name = expected.at("name");
    const std::string type = expected.at("type");
    const GgufTensor* tensor = file->find_tensor(name);
    assert_non_null(tensor);
    assert_string_equal(ggml_type_name(tensor->type).c_str(), type.c_str());
    check_dims(*tensor, expected.at("dims"), name);
    assert_false(ggml_type_supported(tensor->type));
    std::vector<float> values(static_cast<std::size_t>(tensor->numel()));
    try {
      dequantize(*tensor, values.data());
      fail_msg("%s: %s dequantized", name.c_str(), type.c_str());
    } catch (const sp::Error& error) {
      assert_int_equal(error.kind(), ErrorKind::Unsupported);
      if (!std::strstr(error.what(), type.c_str()) || !std::strstr(error.what(), name.c_str()))
        fail_msg("%s: message \"%s\" lacks the type or the tensor", name.c_str(), error.what());
    }
  }
}

void metadata_of_every_type_reads_back(void**) {
  for (const json& entry : manifest.at("metadata")) {
    const std::string file_name = entry.at("file");
    auto file = GgufFile::open(fixtures + "/" + file_name);
    assert_int_equal(file->version(), entry.at("version").get<int>());
    assert_int_equal(file->alignment(), entry.at("alignment").get<int>());
    const json& entries = entry.at("entries");
    assert_int_equal(file->metadata().size(), entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string key = entries[i].at("key");
      if (file->metadata()[i].first != key)
        fail_msg("%s: entry %zu is '%s', expected '%s'", file_name.c_str(), i, file->metadata()[i].first.c_str(),
                 key.c_str());
      check_value(entries[i].at("value"), file->metadata()[i].second, file_name + " '" + key + "'");
      assert_ptr_equal(file->find(key), &file->metadata()[i].second);
    }
    const json& tensor = entry.at("tensor");
    const GgufTensor* stored = file->find_tensor(tensor.at("name"));
    assert_non_null(stored);
    check_dims(*stored, tensor.at("dims"), file_name);
    check_dequantized(*stored, fixtures + "/" + tensor.at("expected").get<std::string>(), file_name);
  }
}

void typed_reads_convert_and_refuse_other_types(void**) {
  auto file = GgufFile::open(fixtures + "/metadata.gguf");
  // Scalars, as the fixture wrote them (tests/reference/gguf_reference.py, metadata_entries).
  assert_int_equal(*file->integer("test.u8.2"), 255);
  assert_int_equal(*file->integer("test.i8.0"), -128);
  assert_int_equal(*file->integer("test.u32.2"), 4294967295ll);
  assert_true(*file->integer("test.i64.0") == INT64_MIN);
  assert_true(*file->integer("test.u64.1") == (int64_t{1} << 53) + 1);
  assert_true(*file->number("test.i32.0") == -2147483648.0);
  assert_true(*file->number("test.u16.2") == 65535.0);
  assert_true(*file->number("test.f32.0") == static_cast<double>(3.14159f));
  assert_true(*file->number("test.f64.0") == 2.718281828459045);
  assert_true(*file->boolean("test.bool.0"));
  assert_false(*file->boolean("test.bool.1"));
  assert_string_equal(file->string("test.string.1")->c_str(), "");
  assert_string_equal(file->string("test.string.2")->c_str(),
                      "h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 "
                      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99");
  assert_string_equal(file->string("test.\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87.\xe9\x8d\xb5")->c_str(),
                      "\xd0\xb7\xd0\xbd\xd0\xb0\xd1\x87\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5 \xe2\x80\x94 \xe5\x80\xa4");
  assert_string_equal(file->string("")->c_str(), "an empty key");
  // Arrays.
  assert_true((*file->integer_array("test.i16.array") == std::vector<int64_t>{-32768, -1, 32767}));
  assert_true((*file->integer_array("test.u8.array") == std::vector<int64_t>{0, 7, 255}));
  assert_true((*file->number_array("test.i8.array") == std::vector<double>{-128, 0, 127}));
  const std::vector<double> floats = *file->number_array("test.f32.array");
  assert_int_equal(floats.size(), 6);
  assert_true(floats[1] == 0.0 && std::signbit(floats[1]));
  assert_true(std::isinf(floats[3]) && std::isnan(floats[4]));
  assert_true((*file->string_array("test.string.array") ==
               std::vector<std::string>{"hello", "",
                                        "h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 "
                                        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\xa6\x99",
                                        "tab\tnewline\n"}));
  assert_int_equal(file->integer_array("test.long.array")->size(), 1000);
  assert_int_equal(file->integer_array("test.long.array")->front(), -500);
  // Absent keys.
  assert_null(file->find("test.absent"));
  assert_false(file->integer("test.absent").has_value());
  assert_false(file->number("test.absent").has_value());
  assert_false(file->boolean("test.absent").has_value());
  assert_false(file->string("test.absent").has_value());
  assert_false(file->string_array("test.absent").has_value());
  assert_false(file->integer_array("test.absent").has_value());
  assert_false(file->number_array("test.absent").has_value());
  // Other types: Format naming the key, the file and the stored type.
  check_wrong_type(*file, "test.u64.2", "18446744073709551615", [&] { file->integer("test.u64.2"); });
  check_wrong_type(*file, "test.string.0", "string", [&] { file->integer("test.string.0"); });
  check_wrong_type(*file, "test.bool.0", "bool", [&] { file->integer("test.bool.0"); });
  check_wrong_type(*file, "test.f32.0", "f32", [&] { file->integer("test.f32.0"); });
  check_wrong_type(*file, "test.bool.0", "bool", [&] { file->number("test.bool.0"); });
  check_wrong_type(*file, "test.u8.1", "u8", [&] { file->boolean("test.u8.1"); });
  check_wrong_type(*file, "test.i32.1", "i32", [&] { file->string("test.i32.1"); });
  check_wrong_type(*file, "test.string.array", "array of string", [&] { file->string("test.string.array"); });
  check_wrong_type(*file, "test.string.0", "string", [&] { file->string_array("test.string.0"); });
  check_wrong_type(*file, "test.u8.array", "u8", [&] { file->string_array("test.u8.array"); });
  check_wrong_type(*file, "test.string.array", "string", [&] { file->integer_array("test.string.array"); });
  check_wrong_type(*file, "test.f64.array", "f64", [&] { file->integer_array("test.f64.array"); });
  check_wrong_type(*file, "test.u64.array", "18446744073709551615", [&] { file->integer_array("test.u64.array"); });
  check_wrong_type(*file, "test.nested.i32", "array", [&] { file->integer_array("test.nested.i32"); });
  check_wrong_type(*file, "test.bool.array", "bool", [&] { file->number_array("test.bool.array"); });
}

void has_magic_and_missing_files(void**) {
  assert_true(GgufFile::has_magic(fixtures + "/quant_Q8_0.gguf"));
  assert_true(GgufFile::has_magic(fixtures + "/metadata_v2.gguf"));
  assert_false(GgufFile::has_magic(fixtures));  // a folder
  assert_false(GgufFile::has_magic(fixtures + "/manifest.json"));
  assert_false(GgufFile::has_magic(path_of("no-such-file.gguf")));
  write_raw(path_of("short.gguf"), "GGU");
  assert_false(GgufFile::has_magic(path_of("short.gguf")));
  write_raw(path_of("magic-only.gguf"), "GGUF");
  assert_true(GgufFile::has_magic(path_of("magic-only.gguf")));
  try {
    GgufFile::open(path_of("no-such-file.gguf"));
    fail_msg("a missing file opened");
  } catch (const sp::Error& error) {
    assert_int_equal(error.kind(), ErrorKind::NotFound);
  }
  try {
    GgufFile::open(fixtures);
    fail_msg("a folder opened");
  } catch (const sp::Error& error) {
    assert_int_equal(error.kind(), ErrorKind::NotFound);
  }
}

void smollm2_reads_and_dequantizes_like_gguf(void**) {
  const json& entry = manifest.at("smollm2");
  const std::string path = entry.at("file");
  auto file = GgufFile::open(path);
  assert_int_equal(file->tensors().size(), 272);
  assert_int_equal(file->tensors().size(), entry.at("tensor_count").get<std::size_t>());
  assert_int_equal(file->version(), entry.at("version").get<int>());
  assert_int_equal(file->alignment(), entry.at("alignment").get<int>());
  assert_int_equal(*file->integer("llama.block_count"), 30);
  assert_int_equal(*file->integer("llama.embedding_length"), 576);
  assert_string_equal(file->string("general.architecture")->c_str(), "llama");
  for (const json& scalar : entry.at("metadata")) {
    const std::string key = scalar.at("key");
    const GgufValue* value = file->find(key);
    if (!value) fail_msg("SmolLM2: no '%s'", key.c_str());
    check_value(scalar.at("value"), *value, "SmolLM2 '" + key + "'");
  }
  for (const json& array : entry.at("arrays")) {
    const std::string key = array.at("key");
    const std::string element_type = array.at("element_type");
    const auto length = array.at("length").get<std::size_t>();
    if (element_type == "string") {
      const auto values = *file->string_array(key);
      assert_int_equal(values.size(), length);
      assert_string_equal(values.front().c_str(), array.at("first").get<std::string>().c_str());
      assert_string_equal(values.back().c_str(), array.at("last").get<std::string>().c_str());
    } else if (element_type == "f32" || element_type == "f64") {
      const auto values = *file->number_array(key);
      assert_int_equal(values.size(), length);
      assert_true(bits_of(values.front()) == std::stoull(array.at("first").get<std::string>(), nullptr, 16));
      assert_true(bits_of(values.back()) == std::stoull(array.at("last").get<std::string>(), nullptr, 16));
    } else {
      const auto values = *file->integer_array(key);
      assert_int_equal(values.size(), length);
      assert_true(values.front() == array.at("first").get<int64_t>());
      assert_true(values.back() == array.at("last").get<int64_t>());
    }
  }
  for (const json& tensor : entry.at("tensors")) {
    const std::string name = tensor.at("name");
    const GgufTensor* stored = file->find_tensor(name);
    assert_non_null(stored);
    assert_string_equal(ggml_type_name(stored->type).c_str(), tensor.at("type").get<std::string>().c_str());
    check_dims(*stored, tensor.at("dims"), name);
    check_dequantized(*stored, fixtures + "/" + tensor.at("expected").get<std::string>(), "SmolLM2 " + name);
  }

  // The whole model, as a loader dequantizes it (timed, never asserted).
  std::map<std::string, int> types;
  std::size_t values = 0;
  std::vector<float> buffer;
  const auto start = std::chrono::steady_clock::now();
  for (const GgufTensor& tensor : file->tensors()) {
    buffer.resize(static_cast<std::size_t>(tensor.numel()));
    dequantize(tensor, buffer.data());
    values += buffer.size();
    ++types[ggml_type_name(tensor.type)];
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  SmolLM2-135M: %zu values in %zu tensors (", values, file->tensors().size());
  for (const auto& [type, count] : types) std::printf(" %s %d", type.c_str(), count);
  std::printf(" ) dequantized in %.3f s, one thread\n", seconds);
}

}  // namespace

}  // namespace gguf_test

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <fixture-folder> <scratch-folder>\n", argv[0]);
    return 2;
  }
  gguf_test::fixtures = argv[1];
  gguf_test::scratch = argv[2];
  sp::io::make_directories(gguf_test::scratch);
  gguf_test::manifest = gguf_test::read_json(gguf_test::fixtures + "/manifest.json");
  using namespace gguf_test;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_type_dequantizes_like_gguf),
      cmocka_unit_test(type_names_and_support),
      cmocka_unit_test(defined_types_open_and_refuse_dequantization_by_name),
      cmocka_unit_test(metadata_of_every_type_reads_back),
      cmocka_unit_test(typed_reads_convert_and_refuse_other_types),
      cmocka_unit_test(has_magic_and_missing_files),
      cmocka_unit_test(base_file_reads_as_built),
      cmocka_unit_test(named_hostile_files_give_their_error_kind),
      cmocka_unit_test(truncations_are_format_errors),
      cmocka_unit_test(random_mutations_never_crash),
      cmocka_unit_test(smollm2_reads_and_dequantizes_like_gguf),
  };
  return cmocka_run_group_tests_name("gguf", tests, nullptr, nullptr);
}
