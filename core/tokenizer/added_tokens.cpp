#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {
namespace {

// The code point that ends just before text[end] (end > 0, text valid UTF-8).
char32_t code_point_before(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return next_code_point(text, &start);
}

// `tokenizers` tests these with the Rust regex crate's \w and \s (unicode.h has both classes).
bool ends_with_word(std::string_view text) {
  return !text.empty() && is_word_character(code_point_before(text, text.size()));
}
bool starts_with_word(std::string_view text) {
  size_t offset = 0;
  return !text.empty() && is_word_character(next_code_point(text, &offset));
}
// Start of the whitespace run that ends `text`.
size_t trailing_space_start(std::string_view text) {
  size_t start = text.size();
  while (start > 0) {
    size_t before = start - 1;
    while (before > 0 && (static_cast<unsigned char>(text[before]) & 0xC0) == 0x80) --before;
    size_t offset = before;
    if (!is_whitespace(next_code_point(text, &offset))) break;
    start = before;
  }
  return start;
}
// Length of the whitespace run that starts `text`.
size_t leading_space_length(std::string_view text) {
  size_t offset = 0;
  while (offset < text.size()) {
    size_t next = offset;
    if (!is_whitespace(next_code_point(text, &next))) break;
    offset = next;
  }
  return offset;
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view text, int32_t token) {
  int32_t node = 0;
  for (unsigned char byte : text) {
    auto& children = nodes[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != byte) {
      const int32_t child = static_cast<int32_t>(nodes.size());
      it = children.insert(it, {byte, child});
      nodes.push_back(Node{});  // invalidates `children`: done with it
      node = child;
    } else {
      node = it->second;
    }
  }
  nodes[node].token = token;
}

int32_t AddedVocabulary::Trie::longest_at(std::string_view text, size_t start, size_t* end) const {
  int32_t node = 0, found = -1;
  for (size_t i = start; i < text.size(); ++i) {
    const auto& children = nodes[node].children;
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    if (nodes[node].token >= 0) {
      found = nodes[node].token;
      *end = i + 1;
    }
  }
  return found;
}

AddedVocabulary::AddedVocabulary(const nlohmann::json& tokens, const std::string& where, const Model& model,
                                 const Normalizer* normalizer) {
  if (!tokens.is_array()) fail(ErrorKind::Format, where + " must be an array");
  // As `tokenizers`' add_tokens: new ids continue after the model's vocabulary.
  int64_t next_id = model.vocab_size();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string item_where = where + "[" + std::to_string(i) + "]";
    JsonReader json(tokens[i], item_where);
    AddedToken token;
    token.content = json.string("content", "");
    if (!tokens[i].contains("content") || !tokens[i]["content"].is_string())
      json.format_error("\"content\" must be a string");
    if (token.content.empty()) continue;  // `tokenizers` ignores empty tokens
    if (invalid_utf8_offset(token.content) != std::string_view::npos) json.format_error("\"content\" is not UTF-8");
    token.special = json.boolean("special", false);
    token.single_word = json.boolean("single_word", false);
    token.lstrip = json.boolean("lstrip", false);
    token.rstrip = json.boolean("rstrip", false);
    token.normalized = json.boolean("normalized", !token.special);

    int32_t id;
    if (auto known = by_content_.find(token.content); known != by_content_.end()) {
      id = known->second;
    } else if (auto in_model = model.token_to_id(token.content)) {
      id = *in_model;
      ++overlapping_model_;
    } else {
      if (next_id > INT32_MAX) fail(ErrorKind::Format, item_where + ": too many added tokens");
      id = static_cast<int32_t>(next_id++);
    }
    std::string matched = token.content;
    if (token.normalized && normalizer) {
      Piece piece{token.content, true};
      normalizer->normalize(piece);
      matched = std::move(piece.text);
    }
    if (token.special) {
      special_ids_.insert(id);
      special_contents_.insert(token.content);
    }
    if (auto owner = by_id_.find(id); owner != by_id_.end()) {
      // The same content again: the later entry's properties win, as in `tokenizers`.
      tokens_[owner->second] = std::move(token);
      matched_form_[owner->second] = std::move(matched);
    } else {
      by_id_[id] = tokens_.size();
      by_content_[token.content] = id;
      tokens_.push_back(std::move(token));
      ids_.push_back(id);
      matched_form_.push_back(std::move(matched));
    }
    max_id_ = std::max<int64_t>(max_id_, id);
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (matched_form_[i].empty()) continue;  // a token that normalizes to nothing never matches
    if (tokens_[i].normalized) {
      normalized_trie_.insert(matched_form_[i], static_cast<int32_t>(i));
      has_normalized_ = true;
    } else {
      raw_trie_.insert(matched_form_[i], static_cast<int32_t>(i));
      has_raw_ = true;
    }
  }
}

void AddedVocabulary::split(const Piece& piece, bool normalized, std::vector<Segment>& out) const {
  const std::string_view text = piece.text;
  const bool active = normalized ? has_normalized_ : has_raw_;
  if (!active || text.empty()) {
    if (!text.empty()) out.push_back(Segment{std::nullopt, piece});
    return;
  }
  const Trie& trie = normalized ? normalized_trie_ : raw_trie_;
  size_t emitted = 0;  // end of what is already in `out`
  size_t search = 0;   // where the next match may start (matches never overlap)
  auto emit_text = [&](size_t from, size_t to) {
    if (from < to)
      out.push_back(
          Segment{std::nullopt, Piece{std::string(text.substr(from, to - from)), piece.at_origin && from == 0}});
  };
  while (search < text.size()) {
    size_t start = search, end = 0;
    int32_t token = -1;
    for (; start < text.size(); ++start) {
      token = trie.longest_at(text, start, &end);
      if (token >= 0) break;
    }
    if (token < 0) break;
    search = end;
    const AddedToken& added = tokens_[static_cast<size_t>(token)];
    if (added.single_word) {
      const bool space_before = start == 0 || !ends_with_word(text.substr(0, start));
      const bool space_after = end == text.size() || !starts_with_word(text.substr(end));
      if (!space_before || !space_after) continue;
    }
    size_t match_start = start, match_end = end;
    if (added.lstrip) match_start = std::max(trailing_space_start(text.substr(0, start)), emitted);
    if (added.rstrip) match_end += leading_space_length(text.substr(end));
    emit_text(emitted, match_start);
    out.push_back(Segment{ids_[static_cast<size_t>(token)], Piece{}});
    emitted = match_end;
  }
  emit_text(emitted, text.size());
}

std::optional<int32_t> AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

const std::string* AddedVocabulary::id_to_token(int32_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  return tokens_[it->second].normalized ? &matched_form_[it->second] : &tokens_[it->second].content;
}

bool AddedVocabulary::is_special_content(std::string_view text) const {
  return special_contents_.count(std::string(text)) != 0;
}

}  // namespace sp::tok
