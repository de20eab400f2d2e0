// The added vocabulary of a tokenizer.json ("added_tokens"): tokens matched in the text before
// the model sees it, as `tokenizers`' AddedVocabulary does:
//   - tokens with normalized = false are found in the caller's raw text, tokens with
//     normalized = true in each remaining part after the normalizer ran (against their own
//     normalized form);
//   - matching is leftmost-longest over all tokens of one kind; a single_word token only counts
//     when no word character touches it; lstrip / rstrip swallow the whitespace on that side;
//   - ids: a token whose content the model (or an earlier added token) already has keeps that id,
//     any other gets the next id after the model's vocabulary, in file order (the "id" field of
//     the file is not used, as in `tokenizers`).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokenizer/pipeline.h"

namespace sp::tok {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A part of the text after the added-token split: either an added token's id, or text for the
// normalizer (raw stage) / pre-tokenizer (normalized stage).
struct Segment {
  std::optional<int32_t> id;
  Piece piece;  // the text, for a segment without id
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  // Reads tokenizer.json's "added_tokens" array (`where` names it for messages). `normalizer` may
  // be null.
  AddedVocabulary(const nlohmann::json& tokens, const std::string& where, const Model& model,
                  const Normalizer* normalizer);

  // Splits `piece` by the tokens of one kind (normalized false: the raw stage; true: the
  // normalized stage) and appends the segments to `out`.
  void split(const Piece& piece, bool normalized, std::vector<Segment>& out) const;

  std::optional<int32_t> token_to_id(std::string_view content) const;
  // The token's text as `tokenizers` reports it: the normalized form for a normalized token
  // whose normalization changes it, its content otherwise. nullptr when `id` is not added.
  const std::string* id_to_token(int32_t id) const;
  bool is_special(int32_t id) const { return special_ids_.count(id) != 0; }
  // Whether `text` is the content of a special token (decode's skip test works on token strings).
  bool is_special_content(std::string_view text) const;
  size_t size() const { return by_content_.size(); }
  // Largest id of an added token, or -1.
  int64_t max_id() const { return max_id_; }
  // Added tokens whose content the model's vocabulary also holds.
  size_t overlapping_model() const { return overlapping_model_; }

 private:
  // A byte trie over the contents of one kind, for leftmost-longest matching.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
      int32_t token = -1;                                       // index into tokens_ when a content ends here
    };
    std::vector<Node> nodes{Node{}};
    void insert(std::string_view text, int32_t token);
    // Longest token starting at text[start]: its index and end, or -1.
    int32_t longest_at(std::string_view text, size_t start, size_t* end) const;
  };

  std::vector<AddedToken> tokens_;
  std::vector<int32_t> ids_;               // ids_[i]: the id of tokens_[i]
  std::vector<std::string> matched_form_;  // what the trie holds for tokens_[i]
  std::unordered_map<std::string, int32_t> by_content_;
  std::unordered_map<int32_t, size_t> by_id_;  // id -> index of the token that owns it
  std::unordered_set<int32_t> special_ids_;
  std::unordered_set<std::string> special_contents_;
  Trie raw_trie_, normalized_trie_;
  bool has_raw_ = false, has_normalized_ = false;
  int64_t max_id_ = -1;
  size_t overlapping_model_ = 0;
};

}  // namespace sp::tok
