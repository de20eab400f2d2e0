#include "model/config.h"

#include <cmath>

#include "model/config_reader.h"
#include "model/families.h"
#include "util/errors.h"

namespace sp::model {

bool ConfigReader::present(const std::string& key) const { return json_.find(key) != json_.end(); }

bool ConfigReader::has(const std::string& key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

const nlohmann::json& ConfigReader::at(const std::string& key) const {
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) fail(ErrorKind::Format, source_ + ": missing required key \"" + key + "\"");
  return *it;
}

int64_t ConfigReader::integer(const std::string& key) const {
  const auto& value = at(key);
  if (!value.is_number_integer()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be an integer");
  return value.get<int64_t>();
}

int64_t ConfigReader::integer(const std::string& key, int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}

double ConfigReader::number(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& value = at(key);
  if (!value.is_number()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be a number");
  return value.get<double>();
}

bool ConfigReader::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& value = at(key);
  if (!value.is_boolean()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be true or false");
  return value.get<bool>();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& value = at(key);
  if (!value.is_string()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be a string");
  return value.get<std::string>();
}

const nlohmann::json* ConfigReader::object(const std::string& key) const {
  if (!has(key)) return nullptr;
  const auto& value = at(key);
  if (!value.is_object()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be an object");
  return &value;
}

const nlohmann::json& ConfigReader::array(const std::string& key) const {
  const auto& value = at(key);
  if (!value.is_array()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be an array");
  return value;
}

void ConfigReader::unsupported(const std::string& what) const {
  fail(ErrorKind::Unsupported, source_ + ": " + what);
}

void ConfigReader::format_error(const std::string& what) const { fail(ErrorKind::Format, source_ + ": " + what); }

int64_t ConfigReader::size(const std::string& key, int64_t max) const {
  const int64_t value = integer(key);
  if (value < 1 || value > max)
    format_error("\"" + key + "\" must be between 1 and " + std::to_string(max) + ", got " + std::to_string(value));
  return value;
}

int64_t ConfigReader::size(const std::string& key, int64_t max, int64_t fallback) const {
  return has(key) ? size(key, max) : fallback;
}

double ConfigReader::positive(const std::string& key, double fallback) const {
  const double value = number(key, fallback);
  if (!std::isfinite(value) || value <= 0)
    format_error("\"" + key + "\" must be a finite number > 0, got " + std::to_string(value));
  return value;
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& source_name) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& error) {
    fail(ErrorKind::Format, source_name + " is not valid JSON: " + error.what());
  }
  if (!json.is_object()) fail(ErrorKind::Format, source_name + " is not a JSON object");
  ConfigReader reader(json, source_name);

  ModelConfig config;
  config.model_type = reader.string("model_type", "");
  if (config.model_type.empty()) fail(ErrorKind::Format, source_name + ": missing \"model_type\"");
  const Family* family = find_family(config.model_type);
  if (!family)
    reader.unsupported("unsupported model_type \"" + config.model_type + "\" (supported: " + supported_model_types() + ")");
  family->read_config(reader, config);

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
