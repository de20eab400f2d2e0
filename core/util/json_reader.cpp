#include "util/json_reader.h"

#include <cmath>

#include "util/errors.h"

namespace sp {

JsonReader::JsonReader(const nlohmann::json& json, std::string source) : json_(json), source_(std::move(source)) {
  if (!json_.is_object()) fail(ErrorKind::Format, source_ + " is not a JSON object");
}

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    fail(ErrorKind::Format, source + " is not valid JSON: " + error.what());
  }
}

bool JsonReader::present(const std::string& key) const { return json_.find(key) != json_.end(); }

bool JsonReader::has(const std::string& key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

const nlohmann::json& JsonReader::at(const std::string& key) const {
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) fail(ErrorKind::Format, source_ + ": missing required key \"" + key + "\"");
  return *it;
}

int64_t JsonReader::integer(const std::string& key) const {
  const auto& value = at(key);
  if (!value.is_number_integer()) format_error("\"" + key + "\" must be an integer");
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    format_error("\"" + key + "\" = " + value.dump() + " is too large");
  return value.get<int64_t>();
}

int64_t JsonReader::integer(const std::string& key, int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}

double JsonReader::number(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& value = at(key);
  if (!value.is_number()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be a number");
  return value.get<double>();
}

bool JsonReader::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& value = at(key);
  if (!value.is_boolean()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be true or false");
  return value.get<bool>();
}

std::string JsonReader::string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& value = at(key);
  if (!value.is_string()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be a string");
  return value.get<std::string>();
}

const nlohmann::json* JsonReader::object(const std::string& key) const {
  if (!has(key)) return nullptr;
  const auto& value = at(key);
  if (!value.is_object()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be an object");
  return &value;
}

const nlohmann::json& JsonReader::array(const std::string& key) const {
  const auto& value = at(key);
  if (!value.is_array()) fail(ErrorKind::Format, source_ + ": \"" + key + "\" must be an array");
  return value;
}

void JsonReader::unsupported(const std::string& what) const { fail(ErrorKind::Unsupported, source_ + ": " + what); }

void JsonReader::format_error(const std::string& what) const { fail(ErrorKind::Format, source_ + ": " + what); }

int64_t JsonReader::size(const std::string& key, int64_t max) const {
  const int64_t value = integer(key);
  if (value < 1 || value > max)
    format_error("\"" + key + "\" must be between 1 and " + std::to_string(max) + ", got " + std::to_string(value));
  return value;
}

int64_t JsonReader::size(const std::string& key, int64_t max, int64_t fallback) const {
  return has(key) ? size(key, max) : fallback;
}

double JsonReader::positive(const std::string& key, double fallback) const {
  const double value = number(key, fallback);
  if (!std::isfinite(value) || value <= 0)
    format_error("\"" + key + "\" must be a finite number > 0, got " + std::to_string(value));
  return value;
}

}  // namespace sp
