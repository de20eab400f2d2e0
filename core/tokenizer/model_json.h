// Reading the fields of tokenizer.json's model, decoder and post-processor objects the way
// `tokenizers`' serde definitions accept them: an optional field may be absent or null; a
// present one must have its type. Failures are ErrorKind::Format naming "<where>.<key>".
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tokenizer/flat_tables.h"
#include "util/errors.h"

namespace sp::tok {

inline const nlohmann::json* field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

inline std::optional<std::string> optional_string(const nlohmann::json& object, const char* key,
                                                  const std::string& where) {
  const nlohmann::json* value = field(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail(ErrorKind::Format, where + "." + key + " must be a string");
  return value->get<std::string>();
}

inline std::string required_string(const nlohmann::json& object, const char* key, const std::string& where) {
  auto value = optional_string(object, key, where);
  if (!value) fail(ErrorKind::Format, where + ": missing \"" + key + "\"");
  return *value;
}

inline std::optional<bool> optional_bool(const nlohmann::json& object, const char* key, const std::string& where) {
  const nlohmann::json* value = field(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) fail(ErrorKind::Format, where + "." + key + " must be true or false");
  return value->get<bool>();
}

inline bool required_bool(const nlohmann::json& object, const char* key, const std::string& where) {
  auto value = optional_bool(object, key, where);
  if (!value) fail(ErrorKind::Format, where + ": missing \"" + key + "\"");
  return *value;
}

// A token id (`tokenizers` keeps u32; this library keeps ids that fit int32).
inline int32_t token_id(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
    fail(ErrorKind::Format, where + " must be a token id (a non-negative integer)");
  uint64_t id = value.get<uint64_t>();
  if (id > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
    fail(ErrorKind::Format, where + " = " + value.dump() + " is too large for a token id");
  return static_cast<int32_t>(id);
}

// A non-negative count (usize in `tokenizers`).
inline uint64_t count_value(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
    fail(ErrorKind::Format, where + " must be a non-negative integer");
  return value.get<uint64_t>();
}

// A {"token": id, ...} object into `vocab` (then finished for reverse lookups).
inline void read_vocab_object(const nlohmann::json& json, const std::string& where, VocabMap& vocab) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " must be an object of token: id");
  vocab.reserve(json.size());
  for (auto it = json.begin(); it != json.end(); ++it) {
    const auto& id = it.value();
    bool plain_id = id.is_number_unsigned() && id.get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX);
    vocab.insert(it.key(),
                 plain_id ? static_cast<int32_t>(id.get<uint64_t>()) : token_id(id, where + "[\"" + it.key() + "\"]"));
  }
  vocab.finish();
}

}  // namespace sp::tok
