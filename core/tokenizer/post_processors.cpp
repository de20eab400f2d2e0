// make_post_processor: the special tokens `tokenizers`' processors put around a single sequence
// (processors/*.rs; pairs are not part of this library's API).
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/model_json.h"
#include "tokenizer/pipeline.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

// The ids a processor puts in front of and after the sequence, and whether the sequence itself
// appears (a template may repeat it; BertProcessing and RobertaProcessing are [cls] A [sep]).
class TemplateProcessor : public PostProcessor {
 public:
  // One template piece: the sequence (special_ids empty, is_sequence) or special ids.
  struct Part {
    bool is_sequence;
    std::vector<int32_t> special_ids;
  };
  explicit TemplateProcessor(std::vector<Part> parts) : parts_(std::move(parts)) {
    for (const Part& part : parts_) added_ += part.special_ids.size();
  }

  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    std::vector<int32_t> result;
    size_t sequences = 0;
    for (const Part& part : parts_) sequences += part.is_sequence ? 1 : 0;
    result.reserve(ids.size() * sequences + (add_special_tokens ? added_ : 0));
    for (const Part& part : parts_) {
      if (part.is_sequence) {
        result.insert(result.end(), ids.begin(), ids.end());
      } else if (add_special_tokens) {
        result.insert(result.end(), part.special_ids.begin(), part.special_ids.end());
      }
    }
    ids.swap(result);
  }
  size_t added_tokens() const override { return added_; }

 private:
  std::vector<Part> parts_;
  size_t added_ = 0;
};

// ByteLevel as a processor only trims offsets: no ids.
class NoIdsProcessor : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
  size_t added_tokens() const override { return 0; }
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> processors)
      : processors_(std::move(processors)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& processor : processors_) processor->process(ids, add_special_tokens);
  }
  size_t added_tokens() const override {
    size_t added = 0;
    for (const auto& processor : processors_) added += processor->added_tokens();
    return added;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> processors_;
};

// A ["token", id] pair of BertProcessing / RobertaProcessing; the id is what counts.
int32_t pair_id(const nlohmann::json& json, const char* key, const std::string& where) {
  const nlohmann::json* pair = field(json, key);
  if (pair == nullptr) fail(ErrorKind::Format, where + ": missing \"" + key + "\"");
  if (!pair->is_array() || pair->size() != 2 || !(*pair)[0].is_string())
    fail(ErrorKind::Format, where + "." + key + " must be [token, id]");
  return token_id((*pair)[1], where + "." + key + "[1]");
}

std::unique_ptr<PostProcessor> around(int32_t cls, int32_t sep) {
  return std::make_unique<TemplateProcessor>(
      std::vector<TemplateProcessor::Part>{{false, {cls}}, {true, {}}, {false, {sep}}});
}

std::unique_ptr<PostProcessor> make_template(const nlohmann::json& json, const std::string& where) {
  for (const char* key : {"single", "pair", "special_tokens"})
    if (!json.contains(key)) fail(ErrorKind::Format, where + ": missing \"" + key + "\"");
  // special_tokens: {"name": {"id": "name", "ids": [...], "tokens": [...]}}
  std::unordered_map<std::string, std::vector<int32_t>> specials;
  const auto& special_tokens = json["special_tokens"];
  if (!special_tokens.is_object()) fail(ErrorKind::Format, where + ".special_tokens must be an object");
  for (auto it = special_tokens.begin(); it != special_tokens.end(); ++it) {
    std::string at = where + ".special_tokens[\"" + it.key() + "\"]";
    const auto& token = it.value();
    if (!token.is_object()) fail(ErrorKind::Format, at + " must be an object");
    const nlohmann::json* ids = field(token, "ids");
    const nlohmann::json* tokens = field(token, "tokens");
    if (ids == nullptr || !ids->is_array()) fail(ErrorKind::Format, at + ".ids must be an array");
    if (tokens == nullptr || !tokens->is_array()) fail(ErrorKind::Format, at + ".tokens must be an array");
    required_string(token, "id", at);
    std::vector<int32_t> values;
    for (size_t i = 0; i < ids->size(); ++i)
      values.push_back(token_id((*ids)[i], at + ".ids[" + std::to_string(i) + "]"));
    specials[it.key()] = std::move(values);
  }
  const auto& single = json["single"];
  if (!single.is_array()) fail(ErrorKind::Format, where + ".single must be an array of template pieces");
  std::vector<TemplateProcessor::Part> parts;
  for (size_t i = 0; i < single.size(); ++i) {
    std::string at = where + ".single[" + std::to_string(i) + "]";
    const auto& piece = single[i];
    if (!piece.is_object() || piece.size() != 1)
      fail(ErrorKind::Format, at + " must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    if (const nlohmann::json* sequence = field(piece, "Sequence")) {
      std::string id = required_string(*sequence, "id", at + ".Sequence");
      if (id == "B")
        fail(ErrorKind::Unsupported, at + ": the single-sequence template uses sequence B (only pairs have it)");
      if (id != "A") fail(ErrorKind::Format, at + ".Sequence.id must be \"A\" or \"B\"");
      parts.push_back({true, {}});
    } else if (const nlohmann::json* special = field(piece, "SpecialToken")) {
      std::string id = required_string(*special, "id", at + ".SpecialToken");
      auto found = specials.find(id);
      // `tokenizers` loads such a template and panics when it applies it.
      if (found == specials.end())
        fail(ErrorKind::Format, at + ": special token \"" + id + "\" is not in special_tokens");
      parts.push_back({false, found->second});
    } else {
      fail(ErrorKind::Format, at + " must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  return std::make_unique<TemplateProcessor>(std::move(parts));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
  std::string type = required_string(json, "type", where);
  if (type == "TemplateProcessing") return make_template(json, where);
  if (type == "BertProcessing") return around(pair_id(json, "cls", where), pair_id(json, "sep", where));
  if (type == "RobertaProcessing") {
    // trim_offsets and add_prefix_space only move offsets.
    optional_bool(json, "trim_offsets", where);
    optional_bool(json, "add_prefix_space", where);
    return around(pair_id(json, "cls", where), pair_id(json, "sep", where));
  }
  if (type == "ByteLevel") {
    required_bool(json, "add_prefix_space", where);  // as the ByteLevel decoder: required, unused here
    required_bool(json, "trim_offsets", where);
    return std::make_unique<NoIdsProcessor>();
  }
  if (type == "Sequence") {
    const nlohmann::json* list = field(json, "processors");
    if (list == nullptr || !list->is_array()) fail(ErrorKind::Format, where + ".processors must be an array");
    std::vector<std::unique_ptr<PostProcessor>> processors;
    for (size_t i = 0; i < list->size(); ++i)
      processors.push_back(make_post_processor((*list)[i], where + ".processors[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceProcessor>(std::move(processors));
  }
  fail(ErrorKind::Unsupported, where + ": unknown post-processor type \"" + type + "\"");
}

}  // namespace sp::tok
