#include "methods/factory.h"

#include "methods/multitask_prompt_tuning.h"
#include "methods/p_tuning.h"
#include "methods/prefix_tuning.h"
#include "methods/prompt_tuning.h"
#include "util/errors.h"

namespace sp::methods {

namespace {
void require(bool condition, const std::string& message) {
  if (!condition) fail(ErrorKind::InvalidArgument, message);
}

void validate(const MethodConfig& c) {
  require(c.num_virtual_tokens > 0, "num_virtual_tokens must be positive, got " + std::to_string(c.num_virtual_tokens));
  require(c.encoder_hidden_size >= 0, "encoder_hidden_size must not be negative (0 = token_dim)");
  const bool source_init = c.init == PromptInit::AverageSourceTasks || c.init == PromptInit::ExactSourceTask ||
                           c.init == PromptInit::OnlySourceShared;
  switch (c.kind) {
    case MethodKind::PromptTuning:
      require(!source_init, std::string("prompt tuning has no ") + prompt_init_name(c.init) + " initialisation");
      break;
    case MethodKind::PrefixTuning:
    case MethodKind::PTuning:
      require(c.init == PromptInit::Random, std::string(peft_type_name(c.kind)) + " has no " + prompt_init_name(c.init) +
                                                " initialisation (its tables start random)");
      if (c.kind == MethodKind::PTuning) {
        require(c.encoder_num_layers >= 1, "encoder_num_layers must be at least 1");
        require(c.encoder_dropout >= 0 && c.encoder_dropout < 1, "encoder_dropout must be in [0, 1)");
      }
      break;
    case MethodKind::MultitaskPromptTuning:
      require(c.init != PromptInit::SampleVocab, "multitask prompt tuning has no SAMPLE_VOCAB initialisation");
      require(c.num_tasks >= 1, "num_tasks must be at least 1, got " + std::to_string(c.num_tasks));
      require(c.num_ranks >= 1, "num_ranks must be at least 1, got " + std::to_string(c.num_ranks));
      break;
  }
}
}  // namespace

std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model, bool loading) {
  validate(config);
  switch (config.kind) {
    case MethodKind::PromptTuning: return std::make_unique<PromptTuning>(config, model, loading);
    case MethodKind::PrefixTuning: return std::make_unique<PrefixTuning>(config, model);
    case MethodKind::PTuning: return std::make_unique<PTuning>(config, model);
    case MethodKind::MultitaskPromptTuning: return std::make_unique<MultitaskPromptTuning>(config, model, loading);
  }
  fail(ErrorKind::Internal, "unknown method kind");
}

void load_parameters(SoftPromptMethod& method, const NamedTensors& values, const std::string& source) {
  at::NoGradGuard no_grad;
  for (auto& [name, parameter] : method.parameters()) {
    const at::Tensor* found = nullptr;
    for (const auto& entry : values)
      if (entry.first == name) found = &entry.second;
    if (!found) fail(ErrorKind::Format, source + " lacks tensor \"" + name + "\"");
    if (found->sizes() != parameter.sizes())
      fail(ErrorKind::ShapeMismatch, source + ": tensor \"" + name + "\" has " + std::to_string(found->numel()) +
                                         " values in another shape than this adapter's");
    parameter.copy_(found->to(parameter.device(), at::kFloat));
  }
}

}  // namespace sp::methods
