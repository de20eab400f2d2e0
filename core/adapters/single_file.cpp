#include "adapters/single_file.h"

#include <zlib.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "adapters/peft_config.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/torch_tensors.h"
#include "methods/factory.h"
#include "util/errors.h"

namespace sp::adapters {

namespace {

// PNG-style magic: a non-ASCII first byte and CR LF / LF pairs expose text-mode and 7-bit mangling.
constexpr char kMagic[8] = {'\x89', 'S', 'P', 'A', '\r', '\n', '\x1a', '\n'};
constexpr std::size_t kHeaderSize = 32;  // magic, version, flags, payload size, compressed size
constexpr std::size_t kTrailerSize = 4;  // CRC-32 of everything before it
constexpr std::uint32_t kFlagZlib = 1;
constexpr const char* kMethodKey = "softprompt.method";
constexpr const char* kBaseModelKey = "softprompt.base_model";

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const unsigned char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

std::uint32_t crc_of(const void* data, std::size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

[[noreturn]] void corrupt(const std::string& path, const std::string& cause) {
  fail(ErrorKind::Format, "adapter file '" + path + "' is unusable: " + cause);
}

nlohmann::json base_model_record(const model::Transformer& model) {
  const model::ModelConfig& c = model.config();
  return {{"model_type", c.model_type},           {"hidden_size", c.hidden_size},
          {"num_layers", c.num_layers},           {"vocab_size", c.vocab_size},
          {"embedding_fingerprint", model.embedding_fingerprint()}, {"name_or_path", model.folder()}};
}

void check_base_model(const nlohmann::json& recorded, const model::Transformer& model, const std::string& path) {
  const nlohmann::json current = base_model_record(model);
  for (const char* key : {"model_type", "hidden_size", "num_layers", "vocab_size", "embedding_fingerprint"}) {
    if (!recorded.contains(key)) corrupt(path, std::string("base-model record lacks \"") + key + "\"");
    if (recorded[key] != current[key])
      fail(ErrorKind::ModelMismatch, "adapter file '" + path + "' was trained on another base model: its " + key + " is " +
                                         recorded[key].dump() + ", this model's is " + current[key].dump() +
                                         " (trained on " + recorded.value("name_or_path", std::string("?")) + ")");
  }
}

}  // namespace

void save_single_file(const std::string& path, const methods::SoftPromptMethod& method, const model::Transformer& model) {
  nlohmann::json method_record = {{"peft_config", peft_config_json(method, model)},
                                  {"encoded_only", method.config().encoded_only},
                                  {"seed", method.config().seed}};
  const std::string payload = io::encode_tensors(
      method.parameters(), {{kMethodKey, method_record.dump()}, {kBaseModelKey, base_model_record(model).dump()}});

  uLongf compressed_size = compressBound(payload.size());
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(&compressed[0]), &compressed_size,
                reinterpret_cast<const Bytef*>(payload.data()), payload.size(), 6) != Z_OK)
    fail(ErrorKind::Internal, "zlib could not compress the adapter");
  compressed.resize(compressed_size);

  std::string file(kMagic, sizeof kMagic);
  put_le(file, kSingleFileVersion, 4);
  put_le(file, kFlagZlib, 4);
  put_le(file, payload.size(), 8);
  put_le(file, compressed.size(), 8);
  file += compressed;
  put_le(file, crc_of(file.data(), file.size()), 4);
  io::write_file_atomically(path, file);
}

std::unique_ptr<methods::SoftPromptMethod> load_single_file(const std::string& path, const model::Transformer& model) {
  const std::string file = io::read_file(path);
  const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
  if (file.empty()) corrupt(path, "the file is empty");
  if (file.size() < sizeof kMagic || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    corrupt(path, "not a softprompt adapter file (wrong magic number)");
  if (file.size() < kHeaderSize + kTrailerSize) corrupt(path, "truncated: the file is shorter than its header");
  const auto version = static_cast<std::uint32_t>(get_le(bytes + 8, 4));
  if (version != kSingleFileVersion)
    fail(ErrorKind::Unsupported, "adapter file '" + path + "' has format version " + std::to_string(version) +
                                     "; this build reads version " + std::to_string(kSingleFileVersion));
  const auto flags = static_cast<std::uint32_t>(get_le(bytes + 12, 4));
  const std::uint64_t payload_size = get_le(bytes + 16, 8), compressed_size = get_le(bytes + 24, 8);
  if (compressed_size != file.size() - kHeaderSize - kTrailerSize)
    corrupt(path, "truncated or extended: the header announces " + std::to_string(compressed_size) +
                      " compressed bytes but the file holds " + std::to_string(file.size() - kHeaderSize - kTrailerSize));
  const std::uint32_t stored_crc = static_cast<std::uint32_t>(get_le(bytes + file.size() - kTrailerSize, 4));
  if (crc_of(bytes, file.size() - kTrailerSize) != stored_crc) corrupt(path, "checksum mismatch (the file is corrupted)");
  if (flags != kFlagZlib) corrupt(path, "unknown flags " + std::to_string(flags));
  if (payload_size > (std::uint64_t(1) << 40)) corrupt(path, "implausible payload size");

  std::string payload(payload_size, '\0');
  uLongf inflated = payload_size;
  if (uncompress(reinterpret_cast<Bytef*>(&payload[0]), &inflated, bytes + kHeaderSize, compressed_size) != Z_OK ||
      inflated != payload_size)
    corrupt(path, "the compressed data does not inflate to the announced size");

  auto content = io::SafetensorsFile::parse(std::move(payload), path);
  auto method_it = content->metadata().find(kMethodKey);
  auto base_it = content->metadata().find(kBaseModelKey);
  if (method_it == content->metadata().end() || base_it == content->metadata().end())
    corrupt(path, "the method or base-model record is missing");
  nlohmann::json method_record, base_record;
  try {
    method_record = nlohmann::json::parse(method_it->second);
    base_record = nlohmann::json::parse(base_it->second);
  } catch (const nlohmann::json::exception& error) {
    corrupt(path, std::string("a record is not valid JSON: ") + error.what());
  }
  check_base_model(base_record, model, path);

  methods::MethodConfig config = parse_peft_config(method_record.at("peft_config"), path, model);
  config.encoded_only = method_record.value("encoded_only", false);
  config.seed = method_record.value("seed", std::uint64_t{0});
  std::unique_ptr<methods::SoftPromptMethod> method = methods::create_method(config, model, /*loading=*/true);
  methods::NamedTensors values;
  for (const auto& view : content->tensors()) values.emplace_back(view.name, io::tensor_from_view(view, content));
  methods::load_parameters(*method, values, "adapter file '" + path + "'");
  return method;
}

}  // namespace sp::adapters
