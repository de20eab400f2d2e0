#include "tokenizer/special_tokens.h"

#include "io/file_util.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {
namespace {

// The parsed file, or a null JSON when the folder does not have it.
nlohmann::json optional_json(const std::string& folder, const char* name) {
  if (folder.empty()) return nullptr;
  const std::string path = io::join_path(folder, name);
  if (!io::is_regular_file(path)) return nullptr;
  nlohmann::json json = parse_json(io::read_file(path), path);
  if (!json.is_object()) fail(ErrorKind::Format, path + ": must be a JSON object");
  return json;
}

class Resolver {
 public:
  Resolver(const std::function<std::optional<int32_t>(std::string_view)>& token_to_id, int64_t vocab_size)
      : token_to_id_(token_to_id), vocab_size_(vocab_size) {}

  // A token given by its text: "<s>", or transformers' {"content": "<s>", ...} form.
  std::optional<int32_t> by_token(const nlohmann::json& file, const char* file_name, const char* key) const {
    if (!file.is_object() || !file.contains(key) || file[key].is_null()) return std::nullopt;
    const nlohmann::json& value = file[key];
    const nlohmann::json* content = &value;
    if (value.is_object()) {
      if (!value.contains("content"))
        fail(ErrorKind::Format, std::string(file_name) + ": \"" + key + "\" has no content");
      content = &value["content"];
    }
    if (!content->is_string())
      fail(ErrorKind::Format, std::string(file_name) + ": \"" + key + "\" must be a token string");
    const std::string text = content->get<std::string>();
    auto id = token_to_id_(text);
    if (!id)
      fail(ErrorKind::Format,
           std::string(file_name) + ": \"" + key + "\" is \"" + text + "\", which the vocabulary does not have");
    return id;
  }

  // Ids given as numbers: one, or a list (eos_token_id in generation_config.json).
  std::vector<int32_t> by_ids(const nlohmann::json& file, const char* file_name, const char* key) const {
    std::vector<int32_t> ids;
    if (!file.is_object() || !file.contains(key) || file[key].is_null()) return ids;
    const nlohmann::json& value = file[key];
    auto take = [&](const nlohmann::json& item) {
      if (!item.is_number_integer() || item.get<int64_t>() < 0 || item.get<int64_t>() >= vocab_size_)
        fail(ErrorKind::Format,
             std::string(file_name) + ": \"" + key + "\" must hold ids in [0, " + std::to_string(vocab_size_) + ")");
      ids.push_back(static_cast<int32_t>(item.get<int64_t>()));
    };
    if (value.is_array()) {
      for (const auto& item : value) take(item);
    } else {
      take(value);
    }
    return ids;
  }

  std::optional<int32_t> lookup(std::string_view text) const { return token_to_id_(text); }

 private:
  const std::function<std::optional<int32_t>(std::string_view)>& token_to_id_;
  int64_t vocab_size_;
};

// The model's own unknown token: BPE and WordPiece name it, Unigram numbers it.
int32_t model_unk(const nlohmann::json& model_json, const Resolver& resolver, int64_t vocab_size) {
  if (!model_json.is_object()) return -1;
  if (model_json.contains("unk_token") && model_json["unk_token"].is_string()) {
    // `tokenizers` accepts an unk_token the vocabulary lacks (and fails only when it is needed).
    auto id = resolver.lookup(model_json["unk_token"].get<std::string>());
    return id ? *id : -1;
  }
  if (model_json.contains("unk_id") && model_json["unk_id"].is_number_integer()) {
    const int64_t id = model_json["unk_id"].get<int64_t>();
    if (id >= 0 && id < vocab_size) return static_cast<int32_t>(id);
  }
  return -1;
}

}  // namespace

SpecialIds read_special_ids(const std::string& folder, const nlohmann::json& model_json,
                            const std::function<std::optional<int32_t>(std::string_view)>& token_to_id,
                            int64_t vocab_size) {
  const Resolver resolver(token_to_id, vocab_size);
  const nlohmann::json tokenizer_config = optional_json(folder, "tokenizer_config.json");
  const nlohmann::json special_tokens_map = optional_json(folder, "special_tokens_map.json");
  const nlohmann::json generation_config = optional_json(folder, "generation_config.json");
  const nlohmann::json config = optional_json(folder, "config.json");

  // One role: the token files first, then the id files; all ids the first source lists.
  auto role = [&](const char* token_key, const char* id_key) {
    if (auto id = resolver.by_token(tokenizer_config, "tokenizer_config.json", token_key))
      return std::vector<int32_t>{*id};
    if (auto id = resolver.by_token(special_tokens_map, "special_tokens_map.json", token_key))
      return std::vector<int32_t>{*id};
    auto ids = resolver.by_ids(generation_config, "generation_config.json", id_key);
    if (ids.empty()) ids = resolver.by_ids(config, "config.json", id_key);
    return ids;
  };
  SpecialIds special;
  if (auto ids = role("bos_token", "bos_token_id"); !ids.empty()) special.bos = ids.front();
  if (auto ids = role("eos_token", "eos_token_id"); !ids.empty()) special.eos = ids.front();
  // Generation stops on every id generation_config.json (or config.json) lists; the tokenizer's
  // own eos token when neither lists any.
  special.eos_ids = resolver.by_ids(generation_config, "generation_config.json", "eos_token_id");
  if (special.eos_ids.empty()) special.eos_ids = resolver.by_ids(config, "config.json", "eos_token_id");
  if (special.eos_ids.empty() && special.eos >= 0) special.eos_ids.push_back(special.eos);
  if (auto ids = role("pad_token", "pad_token_id"); !ids.empty()) special.pad = ids.front();
  if (auto id = resolver.by_token(tokenizer_config, "tokenizer_config.json", "unk_token")) {
    special.unk = *id;
  } else if (auto map_id = resolver.by_token(special_tokens_map, "special_tokens_map.json", "unk_token")) {
    special.unk = *map_id;
  } else {
    special.unk = model_unk(model_json, resolver, vocab_size);
  }
  return special;
}

}  // namespace sp::tok
