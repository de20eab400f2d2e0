// Hostile GGUF files: named corruptions of a hand-built file (each count and length made huge, bad
// magic and versions, bad alignment, overlapping or misplaced tensors, unknown types, duplicates,
// nested-array bombs), truncations, and fixed-seed random mutations of the Python fixtures. Each
// must give its error kind (or, for the mutations, any sp::Error) without a crash and without
// allocating more than a small bound: test_gguf.cpp's operator new meters every allocation.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gguf_test_support.h"
#include "io/gguf.h"
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

namespace gguf_test {

namespace {

// A hostile file is a few KB; parsing it may take a few hundred KB at most.
constexpr std::size_t kMaxParseBytes = 16u << 20;

const char* kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Format:
      return "Format";
    case ErrorKind::Unsupported:
      return "Unsupported";
    case ErrorKind::NotFound:
      return "NotFound";
    case ErrorKind::Io:
      return "Io";
    default:
      return "other";
  }
}

// How many cases ended in each error kind ("opened" for none), printed by each test.
using Tally = std::map<std::string, int>;

void print_tally(const char* what, const Tally& tally) {
  std::printf("  %s:", what);
  for (const auto& [kind, count] : tally) std::printf(" %s %d", kind.c_str(), count);
  std::printf("\n");
}

// Opens `bytes` written as `name`, then reads everything a loader would: every typed metadata read
// and every supported tensor dequantized. Returns the error kind's name, or "opened". Any exception
// other than sp::Error, or an allocation past the bound, fails the test.
std::string open_and_use(const std::string& name, const std::string& bytes, std::string* message = nullptr) {
  const std::string path = path_of(name);
  write_raw(path, bytes);
  const std::size_t before = live_bytes();
  reset_peak();
  std::string outcome = "opened";
  try {
    auto file = GgufFile::open(path);
    for (const auto& [key, value] : file->metadata()) {
      const std::function<void()> reads[] = {
          [&] { file->integer(key); },      [&] { file->number(key); },       [&] { file->boolean(key); },
          [&] { file->string(key); },       [&] { file->string_array(key); }, [&] { file->integer_array(key); },
          [&] { file->number_array(key); },
      };
      for (const auto& read : reads) {
        try {
          read();
        } catch (const sp::Error& error) {
          if (error.kind() != ErrorKind::Format) fail_msg("%s: typed read gave %s", name.c_str(), error.what());
        }
      }
    }
    for (const auto& tensor : file->tensors()) {
      if (!ggml_type_supported(tensor.type)) continue;
      std::vector<float> values(static_cast<std::size_t>(tensor.numel()));
      dequantize(tensor, values.data());
    }
  } catch (const sp::Error& error) {
    outcome = kind_name(error.kind());
    if (message) *message = error.what();
  } catch (const std::exception& error) {
    fail_msg("%s: non-sp exception: %s", name.c_str(), error.what());
  }
  if (peak_bytes() - before > kMaxParseBytes)
    fail_msg("%s: %zu bytes allocated at once for a %zu-byte file", name.c_str(), peak_bytes() - before, bytes.size());
  return outcome;
}

// Expects `kind` with a message that names the file and contains `fragment`.
void check_error(Tally& tally, const std::string& name, const std::string& bytes, ErrorKind kind,
                 const char* fragment) {
  std::string message;
  const std::string outcome = open_and_use(name, bytes, &message);
  ++tally[outcome];
  if (outcome != kind_name(kind))
    fail_msg("%s: expected %s, got %s (%s)", name.c_str(), kind_name(kind), outcome.c_str(), message.c_str());
  if (message.find(name) == std::string::npos)
    fail_msg("%s: message \"%s\" does not name the file", name.c_str(), message.c_str());
  if (message.find(fragment) == std::string::npos)
    fail_msg("%s: message \"%s\" lacks \"%s\"", name.c_str(), message.c_str(), fragment);
}

// A file of one metadata entry (no tensors) whose value type and bytes are given.
std::string single_entry_file(std::uint32_t type, const std::string& value_bytes) {
  GgufBuilder file;
  file.header(0, 1);
  file.str("test.entry");
  file.u32(type);
  file.raw(value_bytes);
  return file.bytes;
}

// An array value nested `depth` arrays deep around an empty u8 array.
std::string nested_arrays(int depth) {
  std::string bytes;
  for (int level = 0; level < depth; ++level) bytes += le(9, 4) + le(1, 8);
  return bytes + le(0, 4) + le(0, 8);
}

}  // namespace

void base_file_reads_as_built(void**) {
  const GgufBuilder built = base_file();
  write_raw(path_of("base.gguf"), built.bytes);
  auto file = GgufFile::open(path_of("base.gguf"));
  assert_int_equal(file->version(), 3);
  assert_int_equal(file->alignment(), 32);
  assert_int_equal(file->metadata().size(), 6);
  assert_string_equal(file->string("general.architecture")->c_str(), "llama");
  assert_int_equal(*file->integer("test.a"), 7);
  assert_true(*file->boolean("test.b"));
  assert_true((*file->string_array("test.tokens") == std::vector<std::string>{"a", "bc"}));
  const GgufValue* nested = file->find("test.nested");
  assert_non_null(nested);
  assert_int_equal(nested->elements.size(), 1);
  assert_int_equal(nested->elements[0].element_type, GgufValue::Type::I32);
  assert_int_equal(nested->elements[0].elements.size(), 2);
  assert_int_equal(nested->elements[0].elements[1].signed_value, 2);

  assert_int_equal(file->tensors().size(), 2);
  const GgufTensor* q = file->find_tensor("blk.0.attn_q.weight");
  assert_non_null(q);
  assert_true((q->dims == std::vector<int64_t>{32, 2}));
  assert_true((q->shape() == std::vector<int64_t>{2, 32}));
  assert_int_equal(q->nbytes, 68);
  assert_non_null(q->data);
  std::vector<float> values(64);
  dequantize(*q, values.data());
  for (int j = 0; j < 32; ++j) {
    assert_true(values[j] == static_cast<float>(j - 16));
    assert_true(values[32 + j] == static_cast<float>(3 * j - 50) * -0.5f);
  }
  const GgufTensor* k = file->find_tensor("blk.0.attn_k.weight");
  assert_non_null(k);
  assert_int_equal(k->nbytes, 32);
  assert_int_equal(k->data - q->data, 96);
  dequantize(*k, values.data());
  for (int i = 0; i < 8; ++i) assert_true(values[i] == 0.5f * static_cast<float>(i - 3));
  assert_null(file->find_tensor("blk.0.attn_v.weight"));

  // Valid corner cases: an empty array, a 10-deep nest, a zero dimension, version 2.
  auto empty = GgufFile::open(
      (write_raw(path_of("empty-array.gguf"), single_entry_file(9, le(5, 4) + le(0, 8))), path_of("empty-array.gguf")));
  assert_int_equal(empty->find("test.entry")->elements.size(), 0);
  assert_int_equal(empty->integer_array("test.entry")->size(), 0);
  assert_int_equal(empty->string_array("test.entry")->size(), 0);
  write_raw(path_of("nest-10.gguf"), single_entry_file(9, nested_arrays(10)));
  auto nest = GgufFile::open(path_of("nest-10.gguf"));
  const GgufValue* value = nest->find("test.entry");
  for (int level = 0; level < 10; ++level) value = &value->elements.at(0);
  assert_int_equal(value->elements.size(), 0);
  std::string zero_dim = patched(built.bytes, built.at.at("t1.dim0"), 0, 8);
  write_raw(path_of("zero-dim.gguf"), zero_dim);
  auto zero = GgufFile::open(path_of("zero-dim.gguf"));
  assert_int_equal(zero->find_tensor("blk.0.attn_k.weight")->numel(), 0);
  assert_int_equal(zero->find_tensor("blk.0.attn_k.weight")->nbytes, 0);
  write_raw(path_of("v2.gguf"), patched(built.bytes, built.at.at("version"), 2, 4));
  assert_int_equal(GgufFile::open(path_of("v2.gguf"))->version(), 2);
}

void named_hostile_files_give_their_error_kind(void**) {
  const GgufBuilder built = base_file();
  const std::string& base = built.bytes;
  auto field = [&](const char* name) { return built.at.at(name); };
  auto with = [&](const char* name, std::uint64_t value, int size) { return patched(base, field(name), value, size); };
  const ErrorKind F = ErrorKind::Format, U = ErrorKind::Unsupported;
  const std::uint64_t huge[] = {std::uint64_t{1} << 60, std::uint64_t{1} << 63, ~std::uint64_t{0}};
  Tally tally;
  int cases = 0;
  auto expect = [&](const std::string& name, const std::string& bytes, ErrorKind kind, const char* fragment) {
    check_error(tally, name + ".gguf", bytes, kind, fragment);
    ++cases;
  };

  expect("empty", "", F, "too short");
  expect("magic", std::string("GGUX") + base.substr(4), F, "magic");
  expect("version-1", with("version", 1, 4), U, "version 1");
  expect("version-4", with("version", 4, 4), U, "version 4");
  expect("version-garbage", with("version", 0xdeadbeef, 4), F, "not a GGUF version");
  expect("big-endian-3", with("version", 0x03000000, 4), U, "big-endian");
  expect("big-endian-2", with("version", 0x02000000, 4), U, "big-endian");
  for (std::uint64_t value : huge) {
    const std::string suffix = "-" + std::to_string(value);
    expect("tensor-count" + suffix, with("tensor_count", value, 8), F, "tensor count");
    expect("kv-count" + suffix, with("kv_count", value, 8), F, "metadata count");
    expect("key-length" + suffix, with("kv0.key", value, 8), F, "metadata entry 0 key");
    expect("string-length" + suffix, with("kv0.value", value, 8), F, "general.architecture");
    expect("array-length" + suffix, with("kv4.length", value, 8), F, "array length");
    expect("array-item-length" + suffix, with("kv4.item1", value, 8), F, "test.tokens");
    expect("inner-array-length" + suffix, with("kv5.inner_length", value, 8), F, "array length");
    expect("tensor-name-length" + suffix, with("t1.name", value, 8), F, "tensor info 1 name");
    expect("offset" + suffix, with("t1.offset", value & ~std::uint64_t{31}, 8), F, "blk.0.attn_k.weight");
    expect("dim" + suffix, with("t1.dim0", value, 8), F, "blk.0.attn_k.weight");
  }
  // One more entry than written: the reader takes the next section's bytes for it and fails later.
  expect("tensor-count-one-more", with("tensor_count", 3, 8), F, "");
  expect("kv-count-one-more", with("kv_count", 7, 8), F, "");
  expect("value-type-13", with("kv2.type", 13, 4), F, "unknown value type 13");
  expect("value-type-huge", with("kv2.type", 0xffffffff, 4), F, "unknown value type");
  expect("element-type-13", with("kv4.element_type", 13, 4), F, "unknown array element type 13");
  expect("bool-2", with("kv3.value", 2, 1), F, "neither 0 nor 1");
  std::string duplicate_key = base;
  duplicate_key[field("kv3.key.text") + 5] = 'a';  // test.b -> test.a
  expect("duplicate-key", duplicate_key, F, "'test.a' appears more than once");
  expect("alignment-0", with("kv1.value", 0, 4), F, "not a power of two");
  expect("alignment-3", with("kv1.value", 3, 4), F, "not a power of two");
  expect("alignment-48", with("kv1.value", 48, 4), F, "not a power of two");
  expect("alignment-64", with("kv1.value", 64, 4), F, "not a multiple of the alignment 64");
  expect("alignment-i32", with("kv1.type", 5, 4), F, "general.alignment is a i32");
  expect("n-dims-0", with("t0.n_dims", 0, 4), F, "0 dimensions");
  expect("n-dims-5", with("t0.n_dims", 5, 4), F, "5 dimensions");
  expect("n-dims-huge", with("t0.n_dims", 0xffffffff, 4), F, "dimensions");
  expect("dim-negative", with("t0.dim1", ~std::uint64_t{0}, 8), F, "negative");
  expect("dims-overflow", patched(with("t0.dim0", std::uint64_t{1} << 32, 8), field("t0.dim1"), 1u << 31, 8), F,
         "more values than can be addressed");
  expect("bytes-overflow", patched(with("t0.dim0", std::uint64_t{1} << 62, 8), field("t0.dim1"), 1, 8), F,
         "blk.0.attn_q.weight");
  expect("dim-not-block-multiple", with("t0.dim0", 48, 8), F, "not a multiple of Q8_0's block size 32");
  expect("type-99", with("t0.type", 99, 4), F, "unknown ggml type 99");
  expect("type-removed-4", with("t0.type", 4, 4), F, "unknown ggml type 4");
  expect("type-removed-31", with("t0.type", 31, 4), F, "unknown ggml type 31");
  expect("type-huge", with("t0.type", 0xffffffff, 4), F, "unknown ggml type");
  expect("offset-misaligned", with("t1.offset", 97, 8), F, "not a multiple of the alignment 32");
  expect("offset-past-end", with("t1.offset", 128, 8), F, "past the end");
  expect("offset-far-past-end", with("t1.offset", std::uint64_t{1} << 40, 8), F, "past the end");
  expect("overlap", with("t1.offset", 64, 8), F, "overlaps");
  expect("overlap-same-offset", with("t1.offset", 0, 8), F, "overlaps");
  std::string duplicate_name = base;
  duplicate_name[field("t1.name.text") + 11] = 'q';  // blk.0.attn_k -> blk.0.attn_q
  expect("duplicate-tensor", duplicate_name, F, "'blk.0.attn_q.weight' appears more than once");
  expect("last-byte-missing", base.substr(0, base.size() - 1), F, "past the end");
  expect("depth-bomb", single_entry_file(9, nested_arrays(100000)), F, "nested more than");
  expect("depth-17", single_entry_file(9, nested_arrays(17)), F, "nested more than");
  expect("array-of-huge-arrays", single_entry_file(9, le(9, 4) + le(1000, 8) + le(0, 4) + le(~0ull, 8)), F,
         "array length");
  // 2^24 one-byte values, all present: the byte count allows them, the reader's limit on metadata
  // values (each costs ~100 bytes in memory) refuses them.
  expect("array-value-budget",
         single_entry_file(9, le(0, 4) + le(std::uint64_t{1} << 24, 8)) + std::string(1 << 24, 'x'), F,
         "values in all");
  std::printf("  %d named hostile files\n", cases);
  print_tally("error kinds", tally);
  assert_int_equal(tally["opened"], 0);
}

void truncations_are_format_errors(void**) {
  Tally tally;
  int cases = 0;
  const GgufBuilder built = base_file();
  for (std::size_t cut : built.boundaries) {
    if (cut >= built.bytes.size()) continue;
    check_error(tally, "cut-" + std::to_string(cut) + ".gguf", built.bytes.substr(0, cut), ErrorKind::Format,
                cut < 8 ? "too short" : "");
    ++cases;
  }
  // A Python-written file cut at seeded random lengths. GGUFWriter pads the last tensor to the
  // alignment (32), so any cut more than 32 bytes before the end loses tensor data.
  const std::string q8 = read_raw(fixtures + "/quant_Q8_0.gguf");
  assert_true(q8.size() > 1000);
  std::mt19937_64 random(20260611);
  for (int i = 0; i < 200; ++i) {
    const std::size_t cut = static_cast<std::size_t>(random() % (q8.size() - 32));
    check_error(tally, "q8-cut-" + std::to_string(cut) + ".gguf", q8.substr(0, cut), ErrorKind::Format, "");
    ++cases;
  }
  std::printf("  %d truncated files\n", cases);
  print_tally("error kinds", tally);
}

void random_mutations_never_crash(void**) {
  Tally tally;
  std::mt19937_64 random(7);
  const char* sources[] = {"metadata.gguf", "quant_Q4_K.gguf", "quant_Q4_1.gguf"};
  int cases = 0;
  for (const char* source : sources) {
    const std::string original = read_raw(fixtures + "/" + source);
    assert_true(original.size() > 256);
    for (int i = 0; i < 100; ++i) {
      std::string bytes = original;
      const int edits = 1 + static_cast<int>(random() % 4);
      for (int e = 0; e < edits; ++e) {
        // Mostly in the header region (the first 2 KB), where the structure is.
        const std::size_t span = (random() % 4 != 0) ? std::min<std::size_t>(bytes.size(), 2048) : bytes.size();
        const std::size_t at = static_cast<std::size_t>(random() % span);
        switch (random() % 4) {
          case 0:
            bytes[at] = static_cast<char>(random() & 0xff);
            break;
          case 1:
            bytes[at] = static_cast<char>(bytes[at] ^ (1 << (random() % 8)));
            break;
          case 2:
            bytes.replace(at, std::min<std::size_t>(8, bytes.size() - at), std::string(8, '\xff'));
            break;
          default:
            bytes.erase(at, 1 + random() % 16);
            break;
        }
      }
      ++tally[open_and_use("mutant-" + std::to_string(cases) + ".gguf", bytes)];
      ++cases;
    }
  }
  std::printf("  %d mutated files\n", cases);
  print_tally("outcomes", tally);
}

}  // namespace gguf_test
