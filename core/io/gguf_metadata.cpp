// GgufFile's typed metadata reads: a value of another type than asked is a Format error naming the
// key, the file and the type stored.
#include <limits>

#include "io/gguf.h"
#include "util/errors.h"

namespace sp::io {

namespace {

bool is_unsigned(GgufValue::Type type) {
  return type == GgufValue::Type::U8 || type == GgufValue::Type::U16 || type == GgufValue::Type::U32 ||
         type == GgufValue::Type::U64;
}

bool is_signed(GgufValue::Type type) {
  return type == GgufValue::Type::I8 || type == GgufValue::Type::I16 || type == GgufValue::Type::I32 ||
         type == GgufValue::Type::I64;
}

bool is_float(GgufValue::Type type) { return type == GgufValue::Type::F32 || type == GgufValue::Type::F64; }

// Names what was asked and found: "metadata key 'k' of GGUF file 'f' holds a string, not an integer".
[[noreturn]] void wrong_type(const GgufFile& file, const std::string& key, const std::string& where,
                             const std::string& stored, const char* wanted) {
  fail(ErrorKind::Format, "metadata key '" + key + "'" + where + " of GGUF file '" + file.path() + "' holds " + stored +
                              ", not " + wanted);
}

std::string stored_name(const GgufValue& value) {
  if (value.type != GgufValue::Type::Array) return std::string("a ") + gguf_value_type_name(value.type);
  return std::string("an array of ") + gguf_value_type_name(value.element_type);
}

// The conversions of one value, shared by the scalar and the array reads; `key` and `where` (""
// or " (array element 3)") are for the message.
int64_t as_integer(const GgufFile& file, const std::string& key, const GgufValue& value, const std::string& where) {
  if (is_signed(value.type)) return value.signed_value;
  if (is_unsigned(value.type)) {
    if (value.unsigned_value > static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(ErrorKind::Format, "metadata key '" + key + "'" + where + " of GGUF file '" + file.path() + "' holds " +
                                  std::to_string(value.unsigned_value) + ", above the largest int64");
    return static_cast<int64_t>(value.unsigned_value);
  }
  wrong_type(file, key, where, stored_name(value), "an integer");
}

double as_number(const GgufFile& file, const std::string& key, const GgufValue& value, const std::string& where) {
  if (is_float(value.type)) return value.float_value;
  if (is_signed(value.type)) return static_cast<double>(value.signed_value);
  if (is_unsigned(value.type)) return static_cast<double>(value.unsigned_value);
  wrong_type(file, key, where, stored_name(value), "a number");
}

std::string as_string(const GgufFile& file, const std::string& key, const GgufValue& value, const std::string& where) {
  if (value.type != GgufValue::Type::String) wrong_type(file, key, where, stored_name(value), "a string");
  return value.string_value;
}

// Every element of the array at `key` converted by `convert`; an empty array of any element type
// is an empty list.
template <class T, class Convert>
std::optional<std::vector<T>> read_array(const GgufFile& file, const std::string& key, const char* wanted,
                                         Convert convert) {
  const GgufValue* value = file.find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufValue::Type::Array) wrong_type(file, key, "", stored_name(*value), wanted);
  std::vector<T> result;
  result.reserve(value->elements.size());
  for (std::size_t i = 0; i < value->elements.size(); ++i)
    result.push_back(convert(file, key, value->elements[i], " (array element " + std::to_string(i) + ")"));
  return result;
}

}  // namespace

std::optional<int64_t> GgufFile::integer(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  return as_integer(*this, key, *value, "");
}

std::optional<double> GgufFile::number(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  return as_number(*this, key, *value, "");
}

std::optional<bool> GgufFile::boolean(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  if (value->type != GgufValue::Type::Bool) wrong_type(*this, key, "", stored_name(*value), "a bool");
  return value->unsigned_value != 0;
}

std::optional<std::string> GgufFile::string(const std::string& key) const {
  const GgufValue* value = find(key);
  if (!value) return std::nullopt;
  return as_string(*this, key, *value, "");
}

std::optional<std::vector<std::string>> GgufFile::string_array(const std::string& key) const {
  return read_array<std::string>(*this, key, "an array of strings", as_string);
}

std::optional<std::vector<int64_t>> GgufFile::integer_array(const std::string& key) const {
  return read_array<int64_t>(*this, key, "an array of integers", as_integer);
}

std::optional<std::vector<double>> GgufFile::number_array(const std::string& key) const {
  return read_array<double>(*this, key, "an array of numbers", as_number);
}

}  // namespace sp::io
