#include "methods/factory.h"

#include "methods/registry.h"
#include "util/errors.h"

namespace sp::methods {

namespace {
// The task's settings, and the task against the model: what transformers offers for its family.
void check_task(const MethodConfig& config, const model::Transformer& model, const SettingsCheck& check) {
  const objectives::TaskConfig& task = config.task;
  const char* name = objectives::task_name(task.type);
  check.require(name != nullptr, "task_type " + std::to_string(static_cast<int>(task.type)) +
                                     " is not an sp_task_type value (" + objectives::task_names() + ")");
  if (task.classifies()) check.bound(task.num_labels, 2, objectives::kMaxLabels, "num_labels");
  const SettingsCheck unsupported{ErrorKind::Unsupported, check.source};  // valid settings this model cannot honour
  const model::ModelConfig& m = model.config();
  const bool encoder_decoder = m.topology == model::Topology::EncoderDecoder;
  if ((task.type == SP_TASK_SEQ_2_SEQ_LM) != encoder_decoder)
    unsupported.fail(encoder_decoder ? m.model_type +
                                           " is an encoder-decoder model: its adapters' task_type is "
                                           "SEQ_2_SEQ_LM (softprompt offers no other task for it)"
                                     : "task_type SEQ_2_SEQ_LM needs an encoder-decoder model (t5); " + m.model_type +
                                           " is not one");
  if (encoder_decoder && config.method() == SP_METHOD_PREFIX_TUNING) {
    // PEFT sizes the prefix by d_model / num_heads and gives decoder layer l the slot (2l) mod
    // num_layers; a model where that is not the attention's head size, or with more decoder than
    // encoder layers, cannot take a PEFT prefix.
    if (m.head_dim * m.num_heads != m.hidden_size)
      unsupported.fail("prefix tuning on " + m.model_type + " needs d_kv * num_heads = d_model (PEFT's prefix is " +
                       "sized by d_model / num_heads), got " + std::to_string(m.head_dim) + " * " +
                       std::to_string(m.num_heads) + " != " + std::to_string(m.hidden_size));
    if (m.num_decoder_layers > m.num_layers)
      unsupported.fail("prefix tuning on " + m.model_type + " needs num_decoder_layers <= num_layers (PEFT makes " +
                       "num_layers prefix slots), got " + std::to_string(m.num_decoder_layers) + " > " +
                       std::to_string(m.num_layers));
  }
  check.require(config.num_transformer_submodules == 1 ||
                    (task.type == SP_TASK_SEQ_2_SEQ_LM && config.num_transformer_submodules == 2),
                "num_transformer_submodules must be 1, or 2 for SEQ_2_SEQ_LM, got " +
                    std::to_string(config.num_transformer_submodules));
  if (task.type == SP_TASK_CAUSAL_LM && !model.has_lm_head())
    unsupported.fail("task_type CAUSAL_LM needs a decoder; " + model.config().model_type +
                     " is an encoder (use SEQ_CLS, TOKEN_CLS or FEATURE_EXTRACTION)");
}

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
  config.task.type = params.task_type;
  config.task.num_labels = config.task.classifies() ? params.num_labels : 0;
  // PEFT's default: an encoder and a decoder half of the prompt table for seq2seq.
  config.num_transformer_submodules = config.task.type == SP_TASK_SEQ_2_SEQ_LM ? 2 : 1;
  method_row(params.method).read_params(params, context, config);
  return config;
}

MethodConfig config_from_params(const sp_adapter_params& params, const model::ModelConfig& model) {
  return config_from_params(params, ParamsContext{model, []() -> std::shared_ptr<const tok::Tokenizer> {
                                                    fail(ErrorKind::NotFound, "this model has no tokenizer");
                                                  }});
}

std::vector<ExpectedTensor> check_config(const MethodConfig& config, const model::Transformer& model, ErrorKind kind,
                                         const std::string& source) {
  const SettingsCheck check{kind, source};
  check.require(config.num_virtual_tokens > 0,
                "num_virtual_tokens must be positive, got " + std::to_string(config.num_virtual_tokens));
  check.bound(config.num_virtual_tokens, 1, kMaxVirtualTokens, "num_virtual_tokens");
  check_task(config, model, check);
  const MethodRow& row = method_row(config.method());
  row.validate(config, check);
  std::vector<ExpectedTensor> expected = row.expected_parameters(config, model.config());
  for (const auto& tensor : objectives::head_layout(config.task, model)) {
    ExpectedTensor head{tensor.name, {}};
    const std::string rows = tensor.rows_are_labels ? "num_labels" : "hidden_size";
    head.dims.push_back({tensor.shape[0], rows});
    if (tensor.shape.size() > 1) head.dims.push_back({tensor.shape[1], "hidden_size"});
    expected.push_back(head);
  }
  return expected;
}

std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model,
                                                bool loading) {
  const std::vector<ExpectedTensor> expected = check_config(config, model, ErrorKind::InvalidArgument, "");
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
