// Unigram as `tokenizers`' models/unigram (T5, ALBERT): the segmentation of a word into pieces
// whose summed log-probability scores are highest (Viterbi over a trie of the pieces). A character
// no piece starts with scores min_score - 10 as the unknown piece; neighbouring unknowns fuse into
// one unknown token; with byte_fallback an unknown run becomes its <0xXX> byte tokens instead.
#pragma once

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

class UnigramModel : public Model {
 public:
  UnigramModel(const nlohmann::json& json, const std::string& where);

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override {
    return id >= 0 && static_cast<size_t>(id) < pieces_.size() ? &pieces_[id] : nullptr;
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }

 private:
  // The best segmentation (models/unigram/model.rs encode_optimized), then ids as tokenize.
  void segment(std::string_view word, std::vector<int32_t>& ids) const;
  void append_piece_ids(std::string_view piece, std::vector<int32_t>& ids) const;
  int32_t unknown_id() const;

  std::string where_;
  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  VocabMap vocab_;  // piece -> id (a repeated piece: its last id, as `tokenizers`)
  // Byte trie over the pieces: node 0 is the root; edges (node << 8 | byte) -> child node.
  U64Map<int32_t> trie_edges_;
  std::vector<int32_t> trie_piece_;     // per node: the piece id ending there, or -1
  std::vector<int32_t> root_children_;  // per first byte: the child of the root, or -1
  double unknown_score_ = 0;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  int32_t byte_token_ids_[256];
  mutable WordCache cache_;
};

}  // namespace sp::tok
