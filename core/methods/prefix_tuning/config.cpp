#include "methods/prefix_tuning/config.h"

#include "methods/prefix_tuning/prefix_tuning.h"

namespace sp::methods {

namespace {
void read_params(const sp_adapter_params& params, const ParamsContext&, MethodConfig& config) {
  require_random_init(params, kPrefixTuningRow.peft_type);
  PrefixTuningSettings settings;
  settings.prefix_projection = params.prefix_projection != 0;
  settings.encoder_hidden_size = params.encoder_hidden_size;
  settings.prefix_zero_init = params.prefix_zero_init != 0;
  config.settings = settings;
}

void validate(const MethodConfig& config, const SettingsCheck& check) {
  const auto& settings = config.get<PrefixTuningSettings>();
  check.require(settings.encoder_hidden_size >= 0, "encoder_hidden_size must not be negative (0 = token_dim), got " +
                                                       std::to_string(settings.encoder_hidden_size));
  check.bound(settings.encoder_hidden_size, 0, kMaxEncoderHiddenSize, "encoder_hidden_size");
}

void write_peft(const MethodConfig& config, const model::ModelConfig& model, const std::string&, nlohmann::json& json) {
  const auto& settings = config.get<PrefixTuningSettings>();
  json["encoder_hidden_size"] = prefix_encoder_width(settings, model);
  json["init_weights"] = settings.prefix_zero_init ? nlohmann::json("zero") : nlohmann::json(nullptr);
  json["prefix_projection"] = settings.prefix_projection;
}

void read_peft(const JsonReader& json, MethodConfig& config) {
  PrefixTuningSettings settings;
  settings.encoder_hidden_size = json.integer("encoder_hidden_size", 0);
  settings.prefix_projection = json.boolean("prefix_projection", false);
  settings.prefix_zero_init = json.string("init_weights", "") == "zero";
  config.settings = settings;
  config.encoded_only = settings.prefix_projection;  // PEFT saves the projected prefix, not the MLP
}

std::vector<ExpectedTensor> expected_parameters(const MethodConfig& config, const model::ModelConfig& model) {
  // Mirrors PrefixTuning's constructor: a flat (n, 2 L token_dim) table, or a (n, token_dim) table
  // and a two-Linear projection when projected (and not loaded encoded-only).
  const auto& settings = config.get<PrefixTuningSettings>();
  const ExpectedDim token_dim{prefix_geometry(model).token_dim, "token_dim (head_dim * num_key_value_heads)"};
  const ExpectedDim flat{2 * model.num_layers * token_dim.size, "2 * num_layers * token_dim"};
  const ExpectedDim encoder{prefix_encoder_width(settings, model), settings.encoder_hidden_size > 0
                                                                       ? "encoder_hidden_size"
                                                                       : "encoder_hidden_size (0: token_dim)"};
  std::vector<ExpectedTensor> out;
  if (settings.prefix_projection && !config.encoded_only) {
    out.push_back({"embedding.weight", {virtual_tokens_dim(config), token_dim}});
    add_linear(out, "transform.0", token_dim, encoder);
    add_linear(out, "transform.2", encoder, flat);
  } else {
    out.push_back({"embedding.weight", {virtual_tokens_dim(config), flat}});
  }
  return out;
}

std::unique_ptr<SoftPromptMethod> create(const MethodConfig& config, const model::Transformer& model, bool) {
  return std::make_unique<PrefixTuning>(config, model);
}
}  // namespace

const MethodRow kPrefixTuningRow = {
    SP_METHOD_PREFIX_TUNING, "PREFIX_TUNING", prefix_geometry, read_params, validate, write_peft, read_peft,
    expected_parameters,     create};

int64_t prefix_encoder_width(const PrefixTuningSettings& settings, const model::ModelConfig& model) {
  return settings.encoder_hidden_size > 0 ? settings.encoder_hidden_size : prefix_geometry(model).token_dim;
}

PeftGeometry prefix_geometry(const model::ModelConfig& model) {
  return {model.head_dim * model.num_kv_heads, model.num_kv_heads, true};
}

}  // namespace sp::methods
