#include "adapters/single_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "adapters/peft_config.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/torch_tensors.h"
#include "methods/factory.h"
#include "model/embedding_sample.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::adapters {

namespace {

constexpr std::size_t kHeaderSize = 32;  // magic, version, flags, payload size, compressed size
constexpr std::size_t kTrailerSize = 4;  // CRC-32 of everything before it
constexpr std::uint32_t kFlagZlib = 1;
constexpr std::uint64_t kMaxInflateRatio = 1033;  // deflate's bound (about 1032:1), rounded up
// A payload header lists one entry per parameter (an LSTM at the layer bound has about 2,000; a
// trainer state four per parameter) and a few short records: a few hundred kB at most.
constexpr std::uint64_t kMaxPayloadHeaderBytes = std::uint64_t(4) << 20;

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
  return {{"model_type", c.model_type},
          {"hidden_size", c.hidden_size},
          {"num_layers", c.num_layers},
          {"vocab_size", c.vocab_size},
          {"embedding_sample", model.embedding_sample()},
          {"name_or_path", model.folder()}};
}

// The records are written by us, so every key has one JSON type; anything else is a damaged or
// forged file and is refused as such, naming the record and the key.
void expect_type(bool ok, const std::string& path, const char* record, const std::string& key, const char* type) {
  if (!ok) corrupt(path, std::string("record ") + record + ": \"" + key + "\" must be " + type);
}

nlohmann::json parse_record(const std::map<std::string, std::string>& metadata, const char* key,
                            const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) corrupt(path, std::string("the record ") + key + " is missing");
  // parse_json's message reads as corrupt()'s: "... is unusable: the record <key> is not valid JSON: ...".
  nlohmann::json record = parse_json(it->second, "adapter file '" + path + "' is unusable: the record " + key);
  if (!record.is_object()) corrupt(path, std::string("the record ") + key + " is not a JSON object");
  return record;
}

// The recorded token embedding against the model's: sampled values within the tolerance that covers
// one model's float, bfloat16 and quantized copies (records since format 2), or the stored bytes'
// fingerprint, exactly (format 1 records; only the same checkpoint files match it).
void check_embedding(const nlohmann::json& recorded, const model::Transformer& model, const std::string& path,
                     const std::string& trained_on) {
  const auto mismatch = [&](const std::string& what) {
    fail(ErrorKind::ModelMismatch,
         "adapter file '" + path + "' was trained on another base model: " + what + " (trained on " + trained_on + ")");
  };
  if (auto sample = recorded.find("embedding_sample"); sample != recorded.end()) {
    const std::vector<float>& current = model.embedding_sample();
    expect_type(sample->is_array() && sample->size() == current.size(), path, kBaseModelKey, "embedding_sample",
                ("an array of " + std::to_string(current.size()) + " numbers").c_str());
    std::vector<float> values;
    for (const auto& value : *sample) {
      expect_type(value.is_number(), path, kBaseModelKey, "embedding_sample", "an array of numbers");
      values.push_back(value.get<float>());
    }
    const double difference = model::relative_difference(current, values);
    if (!(difference <= model::kSameModelTolerance))
      mismatch("its token embedding differs from this model's by " + std::to_string(difference) +
               " (relative RMS difference of sampled values; copies of one model, quantized ones included, differ "
               "by at most " +
               std::to_string(model::kSameModelTolerance) + ")");
    return;
  }
  if (!recorded.contains("embedding_fingerprint"))
    corrupt(path, std::string("record ") + kBaseModelKey + " lacks \"embedding_sample\"");
  expect_type(recorded["embedding_fingerprint"].is_string(), path, kBaseModelKey, "embedding_fingerprint", "a string");
  const std::string fingerprint = recorded["embedding_fingerprint"].get<std::string>();
  if (model.embedding_fingerprint().empty())
    mismatch(
        "its format-1 record fingerprints the embedding's stored bytes, which a GGUF model does not have; "
        "load it on the model it was trained on and save it again");
  if (fingerprint != model.embedding_fingerprint())
    mismatch("its embedding_fingerprint is \"" + fingerprint + "\", this model's is \"" +
             model.embedding_fingerprint() + "\"");
}

void check_base_model(const nlohmann::json& recorded, const model::Transformer& model, const std::string& path) {
  const nlohmann::json current = base_model_record(model);
  for (const char* key : {"model_type", "hidden_size", "num_layers", "vocab_size"}) {
    if (!recorded.contains(key)) corrupt(path, std::string("record ") + kBaseModelKey + " lacks \"" + key + "\"");
    const bool text = current[key].is_string();
    expect_type(text ? recorded[key].is_string() : recorded[key].is_number_integer(), path, kBaseModelKey, key,
                text ? "a string" : "an integer");
  }
  const auto name_it = recorded.find("name_or_path");
  const std::string trained_on = name_it != recorded.end() && name_it->is_string() ? name_it->get<std::string>() : "?";
  for (const char* key : {"model_type", "hidden_size", "num_layers", "vocab_size"}) {
    if (recorded[key] != current[key])
      fail(ErrorKind::ModelMismatch, "adapter file '" + path + "' was trained on another base model: its " + key +
                                         " is " + recorded[key].dump() + ", this model's is " + current[key].dump() +
                                         " (trained on " + trained_on + ")");
  }
  check_embedding(recorded, model, path, trained_on);
}

methods::MethodConfig method_config(const nlohmann::json& record, const model::Transformer& model,
                                    const std::string& path) {
  auto peft = record.find("peft_config");
  if (peft == record.end()) corrupt(path, std::string("record ") + kMethodKey + " lacks \"peft_config\"");
  expect_type(peft->is_object(), path, kMethodKey, "peft_config", "a JSON object");
  methods::MethodConfig config =
      parse_peft_config(*peft, "adapter file '" + path + "', record " + kMethodKey + ", peft_config", model);
  config.encoded_only = false;
  if (auto it = record.find("encoded_only"); it != record.end()) {
    expect_type(it->is_boolean(), path, kMethodKey, "encoded_only", "true or false");
    config.encoded_only = it->get<bool>();
  }
  config.seed = 0;
  if (auto it = record.find("seed"); it != record.end()) {
    expect_type(it->is_number_unsigned(), path, kMethodKey, "seed", "an integer in [0, 2^64)");
    config.seed = it->get<std::uint64_t>();
  }
  return config;
}

// The payload's tensors are exactly the method's parameters, in float32 (what save_single_file
// writes), so the payload cannot be larger than the adapter itself.
void check_payload_tensors(const std::vector<io::TensorView>& declared,
                           const std::vector<methods::ExpectedTensor>& expected, const std::string& path,
                           const std::string& other_prefix) {
  std::vector<methods::DeclaredTensor> shapes;
  for (const auto& view : declared) {
    if (!other_prefix.empty() && view.name.compare(0, other_prefix.size(), other_prefix) == 0) continue;
    bool known = false;
    for (const auto& want : expected) known = known || want.name == view.name;
    if (!known) corrupt(path, "tensor \"" + view.name + "\" is not a parameter of the recorded method");
    if (view.dtype != io::DType::F32)
      corrupt(path, "tensor \"" + view.name + "\" is stored as " + io::dtype_name(view.dtype) + ", not F32");
    shapes.push_back({view.name, view.name, view.shape});
  }
  methods::check_declared_tensors(expected, shapes, "adapter file '" + path + "'");
}

}  // namespace

const ContainerKind kAdapterFileKind = {
    {'\x89', 'S', 'P', 'A', '\r', '\n', '\x1a', '\n'}, kSingleFileVersion, 1, "adapter file"};

// --- Writing

std::map<std::string, std::string> adapter_records(const methods::SoftPromptMethod& method,
                                                   const model::Transformer& model) {
  nlohmann::json method_record = {{"peft_config", peft_config_json(method, model)},
                                  {"encoded_only", method.config().encoded_only},
                                  {"seed", method.config().seed}};
  return {{kMethodKey, method_record.dump()}, {kBaseModelKey, base_model_record(model).dump()}};
}

void write_container(const std::string& path, const ContainerKind& kind, const methods::NamedTensors& tensors,
                     const std::map<std::string, std::string>& records) {
  const std::string payload = io::encode_tensors(tensors, records);
  uLongf compressed_size = compressBound(payload.size());
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(&compressed[0]), &compressed_size,
                reinterpret_cast<const Bytef*>(payload.data()), payload.size(), 6) != Z_OK)
    fail(ErrorKind::Internal, std::string("zlib could not compress the ") + kind.noun);
  compressed.resize(compressed_size);

  std::string file(kind.magic, sizeof kind.magic);
  put_le(file, kind.version, 4);
  put_le(file, kFlagZlib, 4);
  put_le(file, payload.size(), 8);
  put_le(file, compressed.size(), 8);
  file += compressed;
  put_le(file, crc_of(file.data(), file.size()), 4);
  io::write_file_atomically(path, file);
}

void save_single_file(const std::string& path, const methods::SoftPromptMethod& method,
                      const model::Transformer& model) {
  write_container(path, kAdapterFileKind, method.parameters(), adapter_records(method, model));
}

// --- Reading

// Inflates a zlib stream piece by piece into buffers the caller provides, so that nothing is
// allocated for the payload before its declared tensors have been checked, and the output can
// never exceed what the caller asks for (a decompression bomb stops at the announced size).
class ContainerReader::Inflater {
 public:
  Inflater(const unsigned char* input, std::uint64_t size, const ContainerReader& reader)
      : input_(input), input_left_(size), reader_(reader) {
    if (inflateInit(&stream_) != Z_OK) fail(ErrorKind::Internal, "zlib could not start inflating");
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Exactly `count` more bytes of output into `out` (Format error if the stream ends or breaks first).
  void read(unsigned char* out, std::uint64_t count) {
    while (count > 0) {
      feed();
      const uInt window = static_cast<uInt>(std::min<std::uint64_t>(count, kChunk));
      stream_.next_out = out;
      stream_.avail_out = window;
      const int result = inflate(&stream_, Z_NO_FLUSH);
      const uInt produced = window - stream_.avail_out;
      out += produced;
      count -= produced;
      if (count > 0 && result == Z_STREAM_END) reader_.corrupt("the payload inflates to less than the announced size");
      if (result != Z_OK && result != Z_STREAM_END && !(result == Z_BUF_ERROR && produced > 0))
        reader_.corrupt(
            std::string("the compressed payload is damaged (zlib: ") +
            (stream_.msg ? stream_.msg : (input_left_ == 0 && stream_.avail_in == 0 ? "truncated" : "error")) + ")");
    }
  }

  // The stream must end exactly here, with no compressed byte left over.
  void expect_end() {
    unsigned char extra = 0;
    feed();
    stream_.next_out = &extra;
    stream_.avail_out = 1;
    const int result = inflate(&stream_, Z_FINISH);
    if (stream_.avail_out == 0) reader_.corrupt("the payload inflates to more than the announced size");
    if (result != Z_STREAM_END) reader_.corrupt("the compressed payload does not end where the announced size does");
    if (stream_.avail_in != 0 || input_left_ != 0) reader_.corrupt("bytes follow the end of the compressed payload");
  }

 private:
  static constexpr std::uint64_t kChunk = std::uint64_t(1) << 30;  // zlib counts in 32-bit uInt
  void feed() {
    if (stream_.avail_in != 0 || input_left_ == 0) return;
    const uInt chunk = static_cast<uInt>(std::min<std::uint64_t>(input_left_, kChunk));
    stream_.next_in = const_cast<Bytef*>(input_);
    stream_.avail_in = chunk;
    input_ += chunk;
    input_left_ -= chunk;
  }
  z_stream stream_{};
  const unsigned char* input_;
  std::uint64_t input_left_;
  const ContainerReader& reader_;
};

const ContainerKind* container_kind_of(const std::string& prefix, const std::vector<const ContainerKind*>& kinds) {
  for (const ContainerKind* kind : kinds)
    if (prefix.size() >= sizeof kind->magic && std::memcmp(prefix.data(), kind->magic, sizeof kind->magic) == 0)
      return kind;
  return nullptr;
}

ContainerReader::ContainerReader(const std::string& path, const ContainerKind& kind)
    : path_(path), kind_(kind), file_(io::read_file(path)) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(file_.data());
  if (file_.empty()) corrupt("the file is empty");
  if (file_.size() < sizeof kind.magic || std::memcmp(file_.data(), kind.magic, sizeof kind.magic) != 0)
    corrupt(std::string("not a softprompt ") + kind.noun + " (wrong magic number)");
  if (file_.size() < kHeaderSize + kTrailerSize) corrupt("truncated: the file is shorter than its header");
  const auto version = static_cast<std::uint32_t>(get_le(bytes + 8, 4));
  if (version < kind.oldest_version || version > kind.version)
    fail(ErrorKind::Unsupported,
         source() + " has format version " + std::to_string(version) + "; this build reads version" +
             (kind.oldest_version == kind.version
                  ? " " + std::to_string(kind.version)
                  : "s " + std::to_string(kind.oldest_version) + " to " + std::to_string(kind.version)));
  const auto flags = static_cast<std::uint32_t>(get_le(bytes + 12, 4));
  const std::uint64_t payload_size = get_le(bytes + 16, 8), compressed_size = get_le(bytes + 24, 8);
  if (compressed_size != file_.size() - kHeaderSize - kTrailerSize)
    corrupt("truncated or extended: the header announces " + std::to_string(compressed_size) +
            " compressed bytes but the file holds " + std::to_string(file_.size() - kHeaderSize - kTrailerSize));
  const std::uint32_t stored_crc = static_cast<std::uint32_t>(get_le(bytes + file_.size() - kTrailerSize, 4));
  if (crc_of(bytes, file_.size() - kTrailerSize) != stored_crc) corrupt("checksum mismatch (the file is corrupted)");
  if (flags != kFlagZlib) corrupt("unknown flags " + std::to_string(flags));
  // Deflate codes at most 258 bytes in 2 bits (plus block overhead): no stream inflates by more
  // than about 1032:1, so a larger announced payload cannot be what these bytes hold.
  if (payload_size < io::kSafetensorsLengthBytes || payload_size / kMaxInflateRatio > compressed_size)
    corrupt("the header announces a " + std::to_string(payload_size) + "-byte payload, impossible for " +
            std::to_string(compressed_size) + " compressed bytes (zlib inflates at most " +
            std::to_string(kMaxInflateRatio) + ":1)");

  // First the safetensors header alone: the records and the declared tensors are checked before
  // the payload's memory is allocated or its data inflated.
  inflater_ = std::make_unique<Inflater>(bytes + kHeaderSize, compressed_size, *this);
  unsigned char length_field[io::kSafetensorsLengthBytes];
  inflater_->read(length_field, sizeof length_field);
  const std::uint64_t header_size = io::safetensors_header_length(length_field, payload_size, path);
  if (header_size > kMaxPayloadHeaderBytes)
    corrupt("the payload's header length " + std::to_string(header_size) + " exceeds this format's limit of " +
            std::to_string(kMaxPayloadHeaderBytes) + " bytes");
  std::string header_text(header_size, '\0');
  inflater_->read(reinterpret_cast<unsigned char*>(&header_text[0]), header_size);
  data_size_ = payload_size - sizeof length_field - header_size;
  header_ = io::parse_safetensors_header(reinterpret_cast<const std::uint8_t*>(header_text.data()), header_size,
                                         data_size_, path);
}

ContainerReader::~ContainerReader() = default;

std::string ContainerReader::source() const { return std::string(kind_.noun) + " '" + path_ + "'"; }

void ContainerReader::corrupt(const std::string& cause) const {
  fail(ErrorKind::Format, source() + " is unusable: " + cause);
}

nlohmann::json ContainerReader::record(const char* key) const { return parse_record(header_.metadata, key, path_); }

ContainerReader::MethodRecord ContainerReader::method_record(const model::Transformer& model) const {
  const nlohmann::json method = record(kMethodKey);
  const nlohmann::json base = record(kBaseModelKey);
  check_base_model(base, model, path_);
  MethodRecord result{method_config(method, model, path_), {}};
  std::vector<methods::DeclaredTensor> declared;
  for (const auto& view : header_.tensors) declared.push_back({view.name, view.name, view.shape});
  read_num_labels(result.config, model, declared, source());
  result.expected = methods::check_config(result.config, model, ErrorKind::Format, source() + ", record " + kMethodKey);
  return result;
}

void ContainerReader::check_adapter_tensors(const std::vector<methods::ExpectedTensor>& expected,
                                            const std::string& other_prefix) const {
  check_payload_tensors(header_.tensors, expected, path_, other_prefix);
}

methods::NamedTensors ContainerReader::read_tensors() {
  // The data now has a size the caller's checks justify: inflate it, and not a byte more. The
  // header parsed above already placed every tensor in it.
  auto data = std::make_shared<std::string>(data_size_, '\0');
  inflater_->read(reinterpret_cast<unsigned char*>(&(*data)[0]), data_size_);
  inflater_->expect_end();
  methods::NamedTensors values;
  for (io::TensorView view : header_.tensors) {
    view.data = reinterpret_cast<const std::uint8_t*>(data->data()) + view.data_offset;
    values.emplace_back(view.name, io::tensor_from_view(view, data));
  }
  return values;
}

void ContainerReader::verify_data() {
  std::vector<unsigned char> scratch(std::size_t(1) << 16);
  for (std::uint64_t left = data_size_; left > 0;) {
    const std::uint64_t piece = std::min<std::uint64_t>(left, scratch.size());
    inflater_->read(scratch.data(), piece);
    left -= piece;
  }
  inflater_->expect_end();
}

std::unique_ptr<methods::SoftPromptMethod> load_single_file(const std::string& path, const model::Transformer& model) {
  ContainerReader reader(path, kAdapterFileKind);
  const ContainerReader::MethodRecord recorded = reader.method_record(model);
  reader.check_adapter_tensors(recorded.expected);
  methods::check_fits_in_memory(recorded.expected, reader.source());
  const methods::NamedTensors values = reader.read_tensors();
  std::unique_ptr<methods::SoftPromptMethod> method = methods::create_method(recorded.config, model, /*loading=*/true);
  methods::load_parameters(*method, values, reader.source());
  return method;
}

}  // namespace sp::adapters
