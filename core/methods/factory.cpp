#include "methods/factory.h"

#include "methods/registry.h"
#include "util/errors.h"

namespace sp::methods {

namespace {
// Each method must allocate exactly what expected_parameters() predicts; the file checks rely on it.
void check_prediction(const SoftPromptMethod& method, const std::vector<ExpectedTensor>& expected) {
  const NamedTensors actual = method.parameters();
  bool same = actual.size() == expected.size();
  for (std::size_t i = 0; same && i < actual.size(); ++i)
    same = actual[i].first == expected[i].name && actual[i].second.sizes().vec() == expected[i].shape();
  if (!same)
    fail(ErrorKind::Internal, std::string("expected_parameters() disagrees with the tensors of a ") +
                                  method_row(method.method()).peft_type + " adapter");
}
}  // namespace

MethodConfig config_from_params(const sp_adapter_params& params, const ParamsContext& context) {
  MethodConfig config;
  config.num_virtual_tokens = params.num_virtual_tokens;
  config.seed = params.seed;
  method_row(params.method).read_params(params, context, config);
  return config;
}

MethodConfig config_from_params(const sp_adapter_params& params, const model::ModelConfig& model) {
  return config_from_params(params, ParamsContext{model, []() -> std::shared_ptr<const tok::Tokenizer> {
                                                    fail(ErrorKind::NotFound, "this model has no tokenizer");
                                                  }});
}

std::vector<ExpectedTensor> check_config(const MethodConfig& config, const model::ModelConfig& model, ErrorKind kind,
                                         const std::string& source) {
  const SettingsCheck check{kind, source};
  check.require(config.num_virtual_tokens > 0,
                "num_virtual_tokens must be positive, got " + std::to_string(config.num_virtual_tokens));
  check.bound(config.num_virtual_tokens, 1, kMaxVirtualTokens, "num_virtual_tokens");
  const MethodRow& row = method_row(config.method());
  row.validate(config, check);
  return row.expected_parameters(config, model);
}

std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model,
                                                bool loading) {
  const std::vector<ExpectedTensor> expected = check_config(config, model.config(), ErrorKind::InvalidArgument, "");
  check_fits_in_memory(expected, "");
  std::unique_ptr<SoftPromptMethod> method = method_row(config.method()).create(config, model, loading);
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
