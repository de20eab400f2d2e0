#include "tokenizer/wordpiece.h"

#include "tokenizer/model_json.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

bool is_continuation_byte(char byte) { return (static_cast<unsigned char>(byte) & 0xC0) == 0x80; }

}  // namespace

WordPieceModel::WordPieceModel(const nlohmann::json& json, const std::string& where) : where_(where) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
  // `tokenizers` requires all four fields (the type is optional in old files).
  for (const char* key : {"unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"})
    if (!json.contains(key)) fail(ErrorKind::Format, where + ": missing \"" + key + "\"");
  unk_token_ = required_string(json, "unk_token", where);
  continuing_subword_prefix_ = required_string(json, "continuing_subword_prefix", where);
  const nlohmann::json* max_chars = field(json, "max_input_chars_per_word");
  if (max_chars == nullptr) fail(ErrorKind::Format, where + ": missing \"max_input_chars_per_word\"");
  max_input_chars_per_word_ = count_value(*max_chars, where + ".max_input_chars_per_word");
  read_vocab_object(json["vocab"], where + ".vocab", vocab_);
  longest_token_ = vocab_.longest();
}

int32_t WordPieceModel::unknown_id() const {
  auto id = vocab_.find(unk_token_);
  if (!id) fail(ErrorKind::Format, where_ + ": unk_token \"" + unk_token_ + "\" is not in the vocabulary");
  return *id;
}

void WordPieceModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  uint64_t characters = 0;
  for (char byte : word) characters += is_continuation_byte(byte) ? 0 : 1;
  if (characters > max_input_chars_per_word_) {
    ids.push_back(unknown_id());
    return;
  }
  size_t first = ids.size();
  std::string candidate;
  size_t start = 0;
  while (start < word.size()) {
    size_t prefix_length = start > 0 ? continuing_subword_prefix_.size() : 0;
    // Longest first; ends fall on character boundaries. Candidates longer than any token are
    // skipped (they cannot match), which changes nothing but the time taken.
    size_t end = word.size();
    if (longest_token_ < prefix_length)
      end = start;
    else if (end - start > longest_token_ - prefix_length) {
      end = start + (longest_token_ - prefix_length);
      while (end > start && end < word.size() && is_continuation_byte(word[end])) --end;
    }
    std::optional<int32_t> match;
    for (; end > start; --end) {
      if (end < word.size() && is_continuation_byte(word[end])) continue;
      if (prefix_length == 0) {
        match = vocab_.find(word.substr(start, end - start));
      } else {
        candidate.assign(continuing_subword_prefix_);
        candidate.append(word.substr(start, end - start));
        match = vocab_.find(candidate);
      }
      if (match) break;
    }
    if (!match) {
      ids.resize(first);
      ids.push_back(unknown_id());
      return;
    }
    ids.push_back(*match);
    start = end;
  }
}

}  // namespace sp::tok
