// Typed, error-reporting access to one JSON object read from a file (config.json,
// adapter_config.json, a single-file record). Every failure is ErrorKind::Format with the source
// and the key in the message: "<source>: \"<key>\" must be an integer".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace sp {

class JsonReader {
 public:
  // `json` must outlive the reader. Throws Format when it is not an object.
  JsonReader(const nlohmann::json& json, std::string source);

  bool has(const std::string& key) const;         // present and not null
  bool present(const std::string& key) const;     // present, possibly null (some defaults differ for null)
  int64_t integer(const std::string& key) const;  // required; an integer that fits int64
  int64_t integer(const std::string& key, int64_t fallback) const;
  double number(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  const nlohmann::json* object(const std::string& key) const;  // nullptr when absent or null
  const nlohmann::json& array(const std::string& key) const;   // required, must be a JSON array
  // A size: an integer in [1, max]; Format naming the key and the bound otherwise.
  int64_t size(const std::string& key, int64_t max) const;
  int64_t size(const std::string& key, int64_t max, int64_t fallback) const;
  // A number that must be finite and > 0 (epsilons, RoPE bases and factors).
  double positive(const std::string& key, double fallback) const;
  [[noreturn]] void format_error(const std::string& what) const;
  [[noreturn]] void unsupported(const std::string& what) const;
  const std::string& source() const { return source_; }

 private:
  const nlohmann::json& at(const std::string& key) const;
  const nlohmann::json& json_;
  std::string source_;
};

// Parses `text` as JSON; Format naming `source` when it is not valid JSON.
nlohmann::json parse_json(const std::string& text, const std::string& source);

}  // namespace sp
