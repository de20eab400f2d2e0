#include "model/eos_ids.h"

#include "io/file_util.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::model {

namespace {

std::vector<int32_t> ids_in(const std::string& path, int64_t vocab_size) {
  std::vector<int32_t> ids;
  if (!io::is_regular_file(path)) return ids;
  const nlohmann::json json = parse_json(io::read_file(path), path);
  if (!json.is_object() || !json.contains("eos_token_id") || json["eos_token_id"].is_null()) return ids;
  const nlohmann::json& value = json["eos_token_id"];
  auto take = [&](const nlohmann::json& item) {
    if (!item.is_number_integer()) fail(ErrorKind::Format, path + ": \"eos_token_id\" must be an id or a list of ids");
    const int64_t id = item.get<int64_t>();
    if (id >= 0 && id < vocab_size) ids.push_back(static_cast<int32_t>(id));
  };
  if (value.is_array()) {
    for (const auto& item : value) take(item);
  } else {
    take(value);
  }
  return ids;
}

}  // namespace

std::vector<int32_t> read_eos_ids(const std::string& folder, int64_t vocab_size) {
  std::vector<int32_t> ids = ids_in(io::join_path(folder, "generation_config.json"), vocab_size);
  if (ids.empty()) ids = ids_in(io::join_path(folder, "config.json"), vocab_size);
  return ids;
}

}  // namespace sp::model
