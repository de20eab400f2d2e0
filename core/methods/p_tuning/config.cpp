#include "methods/p_tuning/config.h"

#include "methods/p_tuning/p_tuning.h"

namespace sp::methods {

namespace {
const char* encoder_type_name(sp_encoder_type type) { return type == SP_ENCODER_LSTM ? "LSTM" : "MLP"; }

void read_params(const sp_adapter_params& params, const ParamsContext&, MethodConfig& config) {
  require_random_init(params, kPTuningRow.peft_type);
  PTuningSettings settings;
  settings.encoder_type = params.encoder_type;
  settings.encoder_hidden_size = params.encoder_hidden_size;
  settings.encoder_num_layers = params.encoder_num_layers;
  settings.encoder_dropout = params.encoder_dropout;
  config.settings = settings;
}

void validate(const MethodConfig& config, const SettingsCheck& check) {
  const auto& settings = config.get<PTuningSettings>();
  check.require(settings.encoder_hidden_size >= 0, "encoder_hidden_size must not be negative (0 = hidden_size), got " +
                                                       std::to_string(settings.encoder_hidden_size));
  check.require(settings.encoder_num_layers >= 1,
                "encoder_num_layers must be at least 1, got " + std::to_string(settings.encoder_num_layers));
  check.require(settings.encoder_dropout >= 0 && settings.encoder_dropout < 1, "encoder_dropout must be in [0, 1)");
  check.bound(settings.encoder_hidden_size, 0, kMaxEncoderHiddenSize, "encoder_hidden_size");
  check.bound(settings.encoder_num_layers, 1, kMaxEncoderLayers, "encoder_num_layers");
}

void write_peft(const MethodConfig& config, const model::ModelConfig& model, const std::string&, nlohmann::json& json) {
  const auto& settings = config.get<PTuningSettings>();
  json["encoder_dropout"] = settings.encoder_dropout;
  json["encoder_hidden_size"] = p_tuning_encoder_width(settings, model);
  json["encoder_num_layers"] = settings.encoder_num_layers;
  json["encoder_reparameterization_type"] = encoder_type_name(settings.encoder_type);
}

void read_peft(const JsonReader& json, MethodConfig& config) {
  PTuningSettings settings;
  const std::string encoder = json.string("encoder_reparameterization_type", "MLP");
  if (encoder != "MLP" && encoder != "LSTM")
    json.format_error("unknown encoder_reparameterization_type \"" + encoder + "\"");
  settings.encoder_type = encoder == "LSTM" ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  settings.encoder_hidden_size = json.integer("encoder_hidden_size", 0);
  settings.encoder_num_layers = json.integer("encoder_num_layers", 2);
  settings.encoder_dropout = json.number("encoder_dropout", 0.0);
  config.settings = settings;
  config.encoded_only = true;  // PEFT saves the encoder's output, not the encoder
}

std::vector<ExpectedTensor> expected_parameters(const MethodConfig& config, const model::ModelConfig& model) {
  // Mirrors PTuning's constructor and parameters(): table, LSTM layers (forward then reverse
  // direction), then the MLP head's Linears at Sequential indices 0, 2 (, 4).
  const auto& settings = config.get<PTuningSettings>();
  const ExpectedDim hidden = hidden_size_dim(model);
  std::vector<ExpectedTensor> out;
  out.push_back({"embedding.weight", {table_rows_dim(config), hidden}});
  if (config.encoded_only) return out;
  const ExpectedDim h{p_tuning_encoder_width(settings, model), settings.encoder_hidden_size > 0
                                                                   ? "encoder_hidden_size"
                                                                   : "encoder_hidden_size (0: hidden_size)"};
  if (settings.encoder_type == SP_ENCODER_LSTM) {
    const std::string of_h = h.origin + " (" + std::to_string(h.size) + ")";
    const ExpectedDim gates{4 * h.size, "4 * " + of_h};
    const ExpectedDim both{2 * h.size, "2 * " + of_h};
    for (int64_t layer = 0; layer < settings.encoder_num_layers; ++layer) {
      const ExpectedDim in = layer == 0 ? hidden : both;
      for (const char* suffix : {"", "_reverse"}) {
        const std::string s = std::to_string(layer) + suffix;
        out.push_back({"lstm_head.weight_ih_l" + s, {gates, in}});
        out.push_back({"lstm_head.weight_hh_l" + s, {gates, h}});
        out.push_back({"lstm_head.bias_ih_l" + s, {gates}});
        out.push_back({"lstm_head.bias_hh_l" + s, {gates}});
      }
    }
    add_linear(out, "mlp_head.0", both, both);
    add_linear(out, "mlp_head.2", both, hidden);
  } else {
    add_linear(out, "mlp_head.0", hidden, h);
    add_linear(out, "mlp_head.2", h, h);
    add_linear(out, "mlp_head.4", h, hidden);
  }
  return out;
}

std::unique_ptr<SoftPromptMethod> create(const MethodConfig& config, const model::Transformer& model, bool) {
  return std::make_unique<PTuning>(config, model);
}
}  // namespace

int64_t p_tuning_encoder_width(const PTuningSettings& settings, const model::ModelConfig& model) {
  return settings.encoder_hidden_size > 0 ? settings.encoder_hidden_size : model.hidden_size;
}

const MethodRow kPTuningRow = {SP_METHOD_P_TUNING, "P_TUNING", embedding_geometry,  read_params, validate,
                               write_peft,         read_peft,  expected_parameters, create};

}  // namespace sp::methods
