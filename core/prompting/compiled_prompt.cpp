#include "prompting/compiled_prompt.h"

namespace sp::prompting {

VirtualTokenOutputs run_virtual_tokens(const model::Transformer& model, const at::Tensor& prompts) {
  model::ForwardInputs inputs;
  inputs.embeddings = prompts.to(model.dtype());
  VirtualTokenOutputs outputs;
  inputs.keys_out = &outputs.keys;
  outputs.last_hidden = model.forward(inputs).select(1, prompts.size(1) - 1);
  return outputs;
}

bool reusable_prompt_keys(const model::Transformer& model) {
  return model.config().topology == model::Topology::DecoderOnly && model.config().rope.type != "dynamic";
}

std::shared_ptr<const CompiledPrompt> CompiledPrompt::compile(const model::Transformer& model,
                                                              std::shared_ptr<const PromptSnapshot> snapshot) {
  auto compiled = std::make_shared<CompiledPrompt>();
  compiled->snapshot_ = std::move(snapshot);
  if (!reusable_prompt_keys(model)) return compiled;
  compiled->compiled_ = true;
  const PromptSnapshot& prompt = *compiled->snapshot_;
  if (prompt.prepended().defined()) {
    c10::InferenceMode guard;
    VirtualTokenOutputs outputs = run_virtual_tokens(model, prompt.prepended());
    compiled->keys_ = std::move(outputs.keys);
    compiled->last_hidden_ = std::move(outputs.last_hidden);
  } else {
    compiled->keys_ = prompt.prefix();
  }
  return compiled;
}

}  // namespace sp::prompting
