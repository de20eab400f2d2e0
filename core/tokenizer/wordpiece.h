// WordPiece as `tokenizers`' models/wordpiece (BERT): greedy longest match first from the start
// of the word, pieces after the first looked up with the continuing-subword prefix ("##"); a
// word with a part no piece matches, or longer than max_input_chars_per_word characters, is the
// unknown token as a whole.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_tables.h"
#include "tokenizer/pipeline.h"

namespace sp::tok {

class WordPieceModel : public Model {
 public:
  WordPieceModel(const nlohmann::json& json, const std::string& where);

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int64_t vocab_size() const override { return vocab_.id_bound(); }

 private:
  int32_t unknown_id() const;

  std::string where_;
  VocabMap vocab_;
  std::string unk_token_;
  std::string continuing_subword_prefix_;
  uint64_t max_input_chars_per_word_ = 100;
  size_t longest_token_ = 0;  // no match can be longer, so longer candidates are not looked up
};

}  // namespace sp::tok
