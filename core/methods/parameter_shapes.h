// The trainable tensors a MethodConfig implies (each method's row predicts its own), computed from
// the configuration alone - before any of them is allocated. Three uses:
//   - plausible bounds on every size setting (a file may say num_virtual_tokens = 2^31 - 1),
//   - the bytes an adapter needs, compared with the machine's memory before allocating them,
//   - the shapes a file must declare, compared with its safetensors header before reading its data.
// create_method() checks that each method allocates exactly its predicted shapes, so a prediction
// cannot drift from its method.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "methods/method_config.h"
#include "model/config.h"
#include "util/errors.h"

namespace sp::methods {

// Upper bounds for the size settings, far above any published use (PEFT's examples use 8-100
// virtual tokens, 1-4 encoder layers, ranks 1-64) and far below what would exhaust a machine on
// their own. The memory check below catches products of plausible values that are still too large.
constexpr int64_t kMaxVirtualTokens = int64_t{1} << 20;
constexpr int64_t kMaxEncoderHiddenSize = int64_t{1} << 20;
constexpr int64_t kMaxEncoderLayers = 256;
constexpr int64_t kMaxTasks = int64_t{1} << 20;
constexpr int64_t kMaxRanks = int64_t{1} << 16;

// One dimension of an expected tensor and the setting it comes from ("num_virtual_tokens",
// "4 * encoder_hidden_size", ...), so that a mismatch can name the key a file got wrong.
struct ExpectedDim {
  int64_t size;
  std::string origin;
};

struct ExpectedTensor {
  std::string name;  // PEFT's in-memory name, as SoftPromptMethod::parameters() reports it
  std::vector<ExpectedDim> dims;
  std::vector<int64_t> shape() const;
};

// The first dimension of every prompt table, the model's hidden size, and torch.nn.Linear(in, out)'s
// weight (out, in) and bias (out) appended under `prefix` (".weight", ".bias"): the pieces of the
// methods' predictions.
ExpectedDim virtual_tokens_dim(const MethodConfig& config);
// A prompt table's rows, num_virtual_tokens * num_transformer_submodules.
ExpectedDim table_rows_dim(const MethodConfig& config);
ExpectedDim hidden_size_dim(const model::ModelConfig& model);
void add_linear(std::vector<ExpectedTensor>& out, const std::string& prefix, ExpectedDim in, ExpectedDim out_dim);

// Bytes of float32 storage for `tensors`, saturating at UINT64_MAX instead of overflowing.
std::uint64_t float32_bytes(const std::vector<ExpectedTensor>& tensors);

// Physical memory of this machine in bytes (sysconf), or UINT64_MAX when it cannot be told.
std::uint64_t physical_memory_bytes();

// Throws OutOfMemory (SP_ERR_OUT_OF_MEMORY, with this message)
// when `tensors` need more bytes than the machine's physical memory: every tensor is built on the
// host first, so even a CUDA model needs them there. Failing here replaces an allocation that
// would either fail deep inside LibTorch or succeed lazily and get the process killed later.
void check_fits_in_memory(const std::vector<ExpectedTensor>& tensors, const std::string& source);

// A tensor as a file declares it (from its safetensors header, before any data is read).
struct DeclaredTensor {
  std::string name;          // in-memory name (compared with ExpectedTensor::name)
  std::string name_in_file;  // for messages: PEFT's folder stores "embedding.weight" as "prompt_embeddings"
  std::vector<int64_t> shape;
};

// Every expected tensor must be declared with exactly its shape: Format for a missing tensor,
// ShapeMismatch naming the setting behind the first differing dimension. Extra tensors are allowed.
void check_declared_tensors(const std::vector<ExpectedTensor>& expected, const std::vector<DeclaredTensor>& declared,
                            const std::string& source);

}  // namespace sp::methods
