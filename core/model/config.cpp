#include "model/config.h"

#include <cmath>

#include "model/families.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::model {

ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name) {
  const nlohmann::json json = parse_json(json_text, source_name);
  const JsonReader reader(json, source_name);

  ModelConfig config;
  config.model_type = reader.string("model_type", "");
  if (config.model_type.empty()) fail(ErrorKind::Format, source_name + ": missing \"model_type\"");
  const Family* family = find_family(config.model_type);
  if (!family)
    reader.unsupported("unsupported model_type \"" + config.model_type + "\" (supported: " + supported_model_types() +
                       ")");
  family->read_config(reader, config);
  config.initializer_range = reader.number("initializer_range", 0.02);
  if (!std::isfinite(config.initializer_range) || config.initializer_range < 0)
    reader.format_error("initializer_range must be finite and >= 0");

  // The family readers bounded every size they read; what remains are sizes derived from others.
  if (config.head_dim < 1 || config.head_dim > kMaxHeadDim)
    reader.format_error("head_dim must be between 1 and " + std::to_string(kMaxHeadDim) + ", got " +
                        std::to_string(config.head_dim));
  if (config.num_heads % config.num_kv_heads != 0)
    reader.format_error("num_attention_heads (" + std::to_string(config.num_heads) +
                        ") is not a multiple of num_key_value_heads (" + std::to_string(config.num_kv_heads) + ")");
  if (config.position == PositionKind::Rotary && config.head_dim % 2 != 0)
    reader.format_error("rotary embeddings need an even head_dim, got " + std::to_string(config.head_dim));
  if (config.rope.type == "dynamic" && config.head_dim <= 2)
    reader.format_error("dynamic rope scaling needs head_dim > 2 (its exponent is dim / (dim - 2))");
  return config;
}

}  // namespace sp::model
