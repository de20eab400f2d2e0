// Byte-pair encoding as `tokenizers`' models/bpe: a word starts as one symbol per character (or
// per byte token with byte_fallback, or an unknown-token run) and the pair with the lowest merge
// rank is merged, leftmost first, until no listed pair is left.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_tables.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/word_cache.h"

namespace sp::tok {

class BpeModel : public Model {
 public:
  // `json` is tokenizer.json's "model" object; `where` names it for messages.
  BpeModel(const nlohmann::json& json, const std::string& where);

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int64_t vocab_size() const override { return vocab_.id_bound(); }

 private:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    int32_t byte_length;  // 0 once merged into its left neighbour
  };

  void read_merges(const nlohmann::json& merges, const std::string& where);
  void add_merge(const std::string& left, const std::string& right, size_t rank, const std::string& where);
  // The word's symbols before any merge (models/bpe/model.rs merge_word).
  void split_into_symbols(std::string_view word, std::vector<Symbol>& symbols) const;
  // Merges `symbols` in rank order (models/bpe/word.rs merge_all) and appends the ids left.
  void merge_symbols(std::vector<Symbol>& symbols, std::vector<int32_t>& ids) const;
  std::optional<int32_t> character_id(std::string_view character, bool first, bool last, std::string& scratch) const;
  const Merge* merge_of(int32_t left, int32_t right) const {
    return merges_.get((static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right));
  }

  std::string where_;
  VocabMap vocab_;
  U64Map<Merge> merges_;
  std::optional<std::string> unk_token_;
  std::optional<int32_t> unk_id_;  // unset when unk_token is unset or not in the vocabulary
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  // Ids of "<0xXX>" for each byte (-1 when absent), for byte_fallback.
  std::array<int32_t, 256> byte_token_ids_{};
  // Ids of single characters below U+0800 looked up without prefix or suffix (-1: not a token),
  // the lookup every uncached word makes per character.
  std::vector<int32_t> small_character_ids_;
  mutable WordCache cache_;
};

}  // namespace sp::tok
