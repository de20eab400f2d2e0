// The safetensors reader and writer in core/io: round trips, the reference writer's exact layout,
// sharded folders, and every malformed-file case giving a Format error instead of a crash.
//
//   test_safetensors <scratch-folder>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/weight_store.h"
#include "util/errors.h"

// cmocka last: it defines a fail() macro that would clash with sp::fail in the headers above.
extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
}

using sp::ErrorKind;
using namespace sp::io;

namespace {

std::string scratch;

std::string path_of(const std::string& name) { return join_path(scratch, name); }

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(std::uint64_t value) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return bytes;
}

// A file with the given header text (not padded) and `data_bytes` zero bytes of data.
std::string file_with_header(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

// Opens `bytes` as a file and expects a Format error whose message contains `fragment`.
void expect_format_error(const std::string& name, const std::string& bytes, const char* fragment) {
  const std::string path = path_of(name);
  write_raw(path, bytes);
  try {
    SafetensorsFile::open(path);
    fail_msg("%s: opened without error", name.c_str());
  } catch (const sp::Error& error) {
    if (error.kind() != ErrorKind::Format) fail_msg("%s: wrong error kind: %s", name.c_str(), error.what());
    if (!std::strstr(error.what(), fragment))
      fail_msg("%s: message \"%s\" lacks \"%s\"", name.c_str(), error.what(), fragment);
    if (!std::strstr(error.what(), name.c_str()))
      fail_msg("%s: message \"%s\" does not name the file", name.c_str(), error.what());
  }
}

void round_trip_preserves_every_dtype_shape_and_byte(void**) {
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1e-3f};
  std::vector<std::uint16_t> f16 = {0x3c00, 0xc000, 0x7bff};  // 1, -2, 65504
  std::vector<std::uint16_t> bf16 = {0x3f80, 0x4040};         // 1, 3
  std::vector<int64_t> i64 = {-5, 0, 1ll << 40};
  std::vector<TensorToWrite> tensors = {
      {"weights", DType::F32, {2, 3}, f32.data(), f32.size() * 4},
      {"half", DType::F16, {3}, f16.data(), f16.size() * 2},
      {"brain", DType::BF16, {1, 2}, bf16.data(), bf16.size() * 2},
      {"ids", DType::I64, {3, 1}, i64.data(), i64.size() * 8},
      {"empty", DType::F32, {0, 4}, nullptr, 0},
  };
  write_file_atomically(path_of("round.safetensors"), encode_safetensors(tensors, {{"format", "pt"}, {"note", "x"}}));
  auto file = SafetensorsFile::open(path_of("round.safetensors"));
  assert_int_equal(file->tensors().size(), tensors.size());
  for (const auto& expected : tensors) {
    const TensorView* view = file->find(expected.name);
    assert_non_null(view);
    assert_int_equal(static_cast<int>(view->dtype), static_cast<int>(expected.dtype));
    assert_true(view->shape == expected.shape);
    assert_int_equal(view->nbytes, expected.nbytes);
    if (expected.nbytes) assert_memory_equal(view->data, expected.data, expected.nbytes);
  }
  assert_null(file->find("missing"));
  assert_string_equal(file->metadata().at("note").c_str(), "x");
}

void writer_lays_out_files_like_the_reference_writer(void**) {
  // The MPT adapter PEFT writes for GPT-2 (spec section 6.6): header text, its padded length 272
  // and the file size 64,872 are the reference writer's.
  std::vector<float> cols(20), rows(768), table(20 * 768);
  std::vector<TensorToWrite> tensors = {
      {"prompt_embeddings", DType::F32, {20, 768}, table.data(), table.size() * 4},
      {"prefix_task_rows", DType::F32, {1, 1, 768}, rows.data(), rows.size() * 4},
      {"prefix_task_cols", DType::F32, {1, 20, 1}, cols.data(), cols.size() * 4},
  };
  const std::string bytes = encode_safetensors(tensors, {{"format", "pt"}});
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},\"prefix_task_cols\":{\"dtype\":\"F32\",\"shape\":[1,20,1],\"data_"
      "offsets\":[0,80]},"
      "\"prefix_task_rows\":{\"dtype\":\"F32\",\"shape\":[1,1,768],\"data_offsets\":[80,3152]},"
      "\"prompt_embeddings\":{\"dtype\":\"F32\",\"shape\":[20,768],\"data_offsets\":[3152,64592]}}";
  assert_int_equal(bytes.size(), 64872);
  assert_memory_equal(bytes.data(), le64(272).data(), 8);
  assert_memory_equal(bytes.data() + 8, header.data(), header.size());
  assert_true(bytes.substr(8 + header.size(), 272 - header.size()) == std::string(272 - header.size(), ' '));
  // Larger dtypes first: an I64 tensor precedes an F32 tensor whose name sorts earlier.
  std::vector<int64_t> big = {1};
  std::vector<float> small = {1.0f};
  const std::string mixed = encode_safetensors(
      {{"a_small", DType::F32, {1}, small.data(), 4}, {"z_big", DType::I64, {1}, big.data(), 8}}, {});
  assert_true(mixed.find("\"z_big\"") < mixed.find("\"a_small\""));
}

void sharded_folder_finds_every_tensor_in_its_shard(void**) {
  const std::string folder = path_of("sharded");
  make_directories(folder);
  std::vector<float> a = {1, 2}, b = {3, 4, 5};
  write_file_atomically(join_path(folder, "part-1.safetensors"),
                        encode_safetensors({{"a", DType::F32, {2}, a.data(), 8}}, {}));
  write_file_atomically(join_path(folder, "part-2.safetensors"),
                        encode_safetensors({{"b", DType::F32, {3}, b.data(), 12}}, {}));
  write_raw(join_path(folder, "model.safetensors.index.json"),
            "{\"metadata\": {}, \"weight_map\": {\"a\": \"part-1.safetensors\", \"b\": \"part-2.safetensors\"}}");
  WeightStore store = WeightStore::open_folder(folder);
  assert_non_null(store.find("a"));
  assert_non_null(store.find("b"));
  assert_float_equal(reinterpret_cast<const float*>(store.find("b")->data)[2], 5.0f, 0.0f);
  assert_int_equal(store.names().size(), 2);

  write_raw(join_path(folder, "model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"part-2.safetensors\"}}");
  try {
    WeightStore::open_folder(folder);
    fail_msg("an index naming the wrong shard was accepted");
  } catch (const sp::Error& error) {
    assert_int_equal(static_cast<int>(error.kind()), static_cast<int>(ErrorKind::Format));
    assert_non_null(std::strstr(error.what(), "does not contain it"));
  }
  write_raw(join_path(folder, "model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"../x.safetensors\"}}");
  try {
    WeightStore::open_folder(folder);
    fail_msg("an index leaving the folder was accepted");
  } catch (const sp::Error& error) {
    assert_non_null(std::strstr(error.what(), "leaves the folder"));
  }
}

void missing_file_is_not_found(void**) {
  try {
    SafetensorsFile::open(path_of("absent.safetensors"));
    fail_msg("opened a missing file");
  } catch (const sp::Error& error) {
    assert_int_equal(static_cast<int>(error.kind()), static_cast<int>(ErrorKind::NotFound));
  }
}

void malformed_files_are_format_errors(void**) {
  const std::string good = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  expect_format_error("empty.safetensors", "", "too short");
  expect_format_error("short.safetensors", "abc", "too short");
  expect_format_error("header-past-end.safetensors", le64(1000) + "{}", "runs past the end");
  expect_format_error("header-huge.safetensors", le64(1ull << 40) + "{}", "exceeds the 100 MB limit");
  expect_format_error("bad-json.safetensors", file_with_header("{\"t\": [", 0), "not valid JSON");
  expect_format_error("not-object.safetensors", file_with_header("[1, 2]", 0), "not a JSON object");
  expect_format_error("unknown-dtype.safetensors",
                      file_with_header("{\"t\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                      "unknown dtype 'F7'");
  expect_format_error("offsets-out-of-range.safetensors", file_with_header(good, 4), "outside the 4-byte data section");
  expect_format_error("shape-size-mismatch.safetensors",
                      file_with_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
                      "needs 12 bytes");
  expect_format_error("overlapping.safetensors",
                      file_with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                                       8),
                      "overlaps");
  expect_format_error("gap.safetensors",
                      file_with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "gap");
  expect_format_error("trailing.safetensors", file_with_header(good, 12), "tensors cover 8");
  expect_format_error("negative-dim.safetensors",
                      file_with_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
                      "negative dimension");
  expect_format_error("no-dtype.safetensors", file_with_header("{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                      "no dtype");
  expect_format_error("bad-offsets.safetensors",
                      file_with_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8),
                      "data_offsets");
  expect_format_error(
      "huge-shape.safetensors",
      file_with_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8),
      "too large");
  expect_format_error("bad-metadata.safetensors", file_with_header("{\"__metadata__\":{\"k\":1}}", 0), "not a string");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <scratch-folder>\n", argv[0]);
    return 2;
  }
  scratch = argv[1];
  make_directories(scratch);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_preserves_every_dtype_shape_and_byte),
      cmocka_unit_test(writer_lays_out_files_like_the_reference_writer),
      cmocka_unit_test(sharded_folder_finds_every_tensor_in_its_shard),
      cmocka_unit_test(missing_file_is_not_found),
      cmocka_unit_test(malformed_files_are_format_errors),
  };
  return cmocka_run_group_tests_name("safetensors", tests, nullptr, nullptr);
}
