// Where a model's configuration and weights come from: a Hugging Face folder (config.json and
// safetensors) or a GGUF file (metadata and quantized tensors). The loader sees both the same way:
// a config.json text and tensors under their Hugging Face checkpoint names, in the layout
// transformers' checkpoints store them.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sp::model {

class WeightSource {
 public:
  virtual ~WeightSource() = default;

  // "model folder '/m'" or "GGUF file '/m.gguf'", for messages.
  virtual std::string description() const = 0;
  // config.json's text (a GGUF's is written from its metadata as transformers maps it) and the name
  // messages give it.
  virtual const std::string& config_json() const = 0;
  virtual std::string config_name() const = 0;

  // A tensor's shape as the checkpoint stores it and whether it is floating point; nullopt when absent.
  struct Entry {
    std::vector<int64_t> shape;
    bool floating = true;
  };
  virtual std::optional<Entry> find(const std::string& name) const = 0;
  // Its values on the CPU (the stored dtype, or float32 for quantized data). Read-only: the tensor
  // may alias a mapped file.
  virtual at::Tensor read(const std::string& name) const = 0;
  // The fingerprint of a tensor's stored bytes that single files of format version 1 record ("" when
  // the source has no such bytes, as GGUF's).
  virtual std::string stored_bytes_fingerprint(const std::string& name) const = 0;

  // How messages name the checkpoint weight `name`, present or not: "weight 'lm_head.weight'"; a GGUF
  // file names its own tensor too: "tensor 'output.weight' (lm_head.weight)".
  virtual std::string weight_text(const std::string& name) const = 0;
  // Told which weights the loader uses (checkpoint names), once it knows them and before anything is
  // read: refuses what it does not use where ignoring it would compute another model. A folder keeps
  // extras (transformers ignores them too: buffers, copies of tied weights); every tensor of a GGUF
  // file is one llama.cpp computes with, so an unused one is Unsupported, named.
  virtual void check_unused(const std::set<std::string>& used) const = 0;
};

// A folder (config.json + model.safetensors or shards) or a GGUF file, told apart by what is at
// `path`. NotFound, Format, Unsupported as the files warrant.
std::unique_ptr<WeightSource> open_weight_source(const std::string& path);

// The GGUF half of open_weight_source (model/gguf_source.cpp).
std::unique_ptr<WeightSource> open_gguf_source(const std::string& path);

}  // namespace sp::model
