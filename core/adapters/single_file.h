// softprompt's single-file adapter format (see single_file_format.md beside this file): one checked,
// compressed, versioned file holding a method's configuration, all of its trainable tensors
// (encoders included, so training can resume) and a record of the base model it was trained on.
// The same container, with its own magic number, carries trainer states (train/trainer_state.h):
// the container's framing, records and bounded reading are here, once, for both.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "methods/method.h"
#include "methods/parameter_shapes.h"
#include "model/transformer.h"

namespace sp::adapters {

// Version 2 records the base model by sampled embedding values (model/embedding_sample.h); version 1
// files, which record a fingerprint of the embedding's stored bytes, are still read.
constexpr std::uint32_t kSingleFileVersion = 2;

// Writes atomically (temporary file in the same folder, flush, rename).
void save_single_file(const std::string& path, const methods::SoftPromptMethod& method,
                      const model::Transformer& model);

// Reads and verifies a file. Throws NotFound, Format (empty, truncated, corrupt: magic, sizes,
// checksum, content), Unsupported (a format version this build does not read) or ModelMismatch
// (trained on another base model: family or sizes differ, or the sampled embedding values differ by
// more than copies of one model do).
std::unique_ptr<methods::SoftPromptMethod> load_single_file(const std::string& path, const model::Transformer& model);

// --- The container, for the file kinds built on it

// What tells the kinds apart: the magic number (same length and style for all), the version this
// build writes, the oldest it still reads, and the noun messages use ("adapter file", "trainer state").
struct ContainerKind {
  char magic[8];
  std::uint32_t version;
  std::uint32_t oldest_version;
  const char* noun;
};
extern const ContainerKind kAdapterFileKind;

// Metadata keys of the two records every file of the container holds.
constexpr const char* kMethodKey = "softprompt.method";
constexpr const char* kBaseModelKey = "softprompt.base_model";

// The method and base-model records of `method` on `model`, as metadata for write_container.
std::map<std::string, std::string> adapter_records(const methods::SoftPromptMethod& method,
                                                   const model::Transformer& model);

// The whole file (framing, compressed safetensors payload, checksum), written atomically.
void write_container(const std::string& path, const ContainerKind& kind, const methods::NamedTensors& tensors,
                     const std::map<std::string, std::string>& records);

// The kind whose magic number starts `prefix` (at least 8 bytes), or nullptr.
const ContainerKind* container_kind_of(const std::string& prefix, const std::vector<const ContainerKind*>& kinds);

// A container file opened for reading: the constructor reads the file and checks its framing
// (magic, version, sizes, checksum, flags, the inflation bound), then inflates and parses the
// payload's safetensors header alone. Nothing is allocated for the data until read_tensors, after
// the caller has checked the declared tensors against what it expects.
class ContainerReader {
 public:
  ContainerReader(const std::string& path, const ContainerKind& kind);
  ~ContainerReader();
  ContainerReader(const ContainerReader&) = delete;
  ContainerReader& operator=(const ContainerReader&) = delete;

  const std::string& path() const { return path_; }
  // "<noun> '<path>'", the start of every message about this file.
  std::string source() const;
  [[noreturn]] void corrupt(const std::string& cause) const;
  const io::SafetensorsHeader& header() const { return header_; }
  // A metadata record as a JSON object (Format when missing, not JSON or not an object).
  nlohmann::json record(const char* key) const;

  // The method record read against `model`: the base-model record first (ModelMismatch), then
  // the method's configuration and its bounds (Format). Returns the configuration and the tensors
  // it implies.
  struct MethodRecord {
    methods::MethodConfig config;
    std::vector<methods::ExpectedTensor> expected;
  };
  MethodRecord method_record(const model::Transformer& model) const;

  // The tensors declared under names that do not start with `other_prefix` (all of them when it
  // is empty) must be exactly `expected`, in F32 (Format / ShapeMismatch otherwise).
  void check_adapter_tensors(const std::vector<methods::ExpectedTensor>& expected,
                             const std::string& other_prefix = "") const;

  // Inflates the data section (exactly its declared size) and returns every declared tensor as a
  // read-only CPU tensor over it. Once only.
  methods::NamedTensors read_tensors();
  // Inflates the data section into a small scratch buffer, checking that the stream holds exactly
  // the declared bytes, without keeping them (for a reader that only describes the file). Once only.
  void verify_data();

 private:
  class Inflater;
  std::string path_;
  const ContainerKind& kind_;
  std::string file_;
  std::unique_ptr<Inflater> inflater_;
  io::SafetensorsHeader header_;
  std::uint64_t data_size_ = 0;
};

}  // namespace sp::adapters
