// What the engine's public classes hide (engine.cpp and context.cpp share it; nothing outside the
// engine includes it).
#pragma once

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "methods/method.h"
#include "model/transformer.h"
#include "prompting/compiled_prompt.h"
#include "train/trainer.h"
#include "util/errors.h"

namespace sp::engine {

struct Model::Impl {
  std::shared_ptr<const model::Transformer> transformer;
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  std::optional<Error> tokenizer_error;  // why the folder's tokenizer.json could not be read
  std::vector<int32_t> eos_ids;          // from generation_config.json or config.json
  std::optional<Error> eos_error;        // why those could not be read
};

struct Adapter::Impl {
  std::unique_ptr<methods::SoftPromptMethod> method;
  uint64_t version = 1;
  std::shared_ptr<const prompting::CompiledPrompt> compiled;  // of `compiled_version`, or null
  uint64_t compiled_version = 0;
};

// The compiled prompts of the adapters a call names per row (null entries stay null), each adapter
// asked once. InvalidArgument for an adapter of another model, Unsupported for one whose task is
// not CAUSAL_LM or SEQ_2_SEQ_LM; `what` names the array in messages.
std::vector<std::shared_ptr<const prompting::CompiledPrompt>> compiled_prompts_of(
    const Model& model, const std::vector<std::shared_ptr<const Adapter>>& adapters, const std::string& what);

struct Trainer::Impl {
  std::unique_ptr<train::Trainer> trainer;
};

// Gives this thread LibTorch's thread count of the process-wide setting (set_num_threads) when it
// has another; nothing until a setting was made. For entry points that compute without a model's
// prepare_call (loading, creating); cheap enough for every call.
void apply_num_threads();

// Copies a result into a float32 buffer the caller sized (checked before the computation).
inline void copy_out(const at::Tensor& tensor, float* out) {
  at::Tensor host = tensor.to(at::kCPU, at::kFloat).contiguous();
  std::memcpy(out, host.data_ptr<float>(), static_cast<std::size_t>(host.numel()) * sizeof(float));
}

}  // namespace sp::engine
