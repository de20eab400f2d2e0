#include "methods/factory.h"


#include "methods/multitask_prompt_tuning.h"
#include "methods/p_tuning.h"
#include "methods/parameter_shapes.h"
#include "methods/prefix_tuning.h"
#include "methods/prompt_tuning.h"
#include "util/errors.h"

namespace sp::methods {

namespace {
// The settings' own rules (ranges, init modes a method has). `kind` is InvalidArgument for a
// caller's request and Format for a file's record; `source` (empty for a request) prefixes messages.
void validate(const MethodConfig& c, ErrorKind kind, const std::string& source) {
  auto require = [&](bool condition, const std::string& message) {
    if (!condition) fail(kind, source.empty() ? message : source + ": " + message);
  };
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
  check_size_bounds(c, kind, source);
}

// Each method must allocate exactly what expected_parameters() predicts; the file checks rely on it.
void check_prediction(const SoftPromptMethod& method, const std::vector<ExpectedTensor>& expected) {
  const NamedTensors actual = method.parameters();
  bool same = actual.size() == expected.size();
  for (std::size_t i = 0; same && i < actual.size(); ++i)
    same = actual[i].first == expected[i].name && actual[i].second.sizes().vec() == expected[i].shape();
  if (!same)
    fail(ErrorKind::Internal, std::string("expected_parameters() disagrees with the tensors of a ") +
                                  peft_type_name(method.kind()) + " adapter");
}
}  // namespace

std::vector<ExpectedTensor> check_config(const MethodConfig& config, const model::ModelConfig& model, ErrorKind kind,
                                         const std::string& source) {
  validate(config, kind, source);
  return expected_parameters(config, model);
}

std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model, bool loading) {
  const std::vector<ExpectedTensor> expected = check_config(config, model.config(), ErrorKind::InvalidArgument, "");
  check_fits_in_memory(expected, "");
  std::unique_ptr<SoftPromptMethod> method;
  switch (config.kind) {
    case MethodKind::PromptTuning: method = std::make_unique<PromptTuning>(config, model, loading); break;
    case MethodKind::PrefixTuning: method = std::make_unique<PrefixTuning>(config, model); break;
    case MethodKind::PTuning: method = std::make_unique<PTuning>(config, model); break;
    case MethodKind::MultitaskPromptTuning: method = std::make_unique<MultitaskPromptTuning>(config, model, loading); break;
  }
  if (!method) fail(ErrorKind::Internal, "unknown method kind");
  check_prediction(*method, expected);
  return method;
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
