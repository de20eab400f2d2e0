// make_model: the vocabulary model named by tokenizer.json's model.type, and WordLevel (a word is
// its own token or the unknown token), too small for a file of its own.
#include <memory>

#include "tokenizer/bpe.h"
#include "tokenizer/model_json.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unigram.h"
#include "tokenizer/wordpiece.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

class WordLevelModel : public Model {
 public:
  WordLevelModel(const nlohmann::json& json, const std::string& where) : where_(where) {
    if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
    if (!json.contains("vocab") || !json.contains("unk_token"))
      fail(ErrorKind::Format, where + ": missing \"vocab\" or \"unk_token\"");
    unk_token_ = required_string(json, "unk_token", where);
    read_vocab_object(json["vocab"], where + ".vocab", vocab_);
  }

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override {
    if (auto id = vocab_.find(word)) {
      ids.push_back(*id);
    } else if (auto unknown = vocab_.find(unk_token_)) {
      ids.push_back(*unknown);
    } else {
      fail(ErrorKind::Format, where_ + ": unk_token \"" + unk_token_ + "\" is not in the vocabulary");
    }
  }
  std::optional<int32_t> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int64_t vocab_size() const override { return vocab_.id_bound(); }

 private:
  std::string where_;
  VocabMap vocab_;
  std::string unk_token_;
};

std::unique_ptr<Model> make_typed_model(const std::string& type, const nlohmann::json& json, const std::string& where) {
  if (type == "BPE") return std::make_unique<BpeModel>(json, where);
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(json, where);
  if (type == "WordLevel") return std::make_unique<WordLevelModel>(json, where);
  if (type == "Unigram") return std::make_unique<UnigramModel>(json, where);
  fail(ErrorKind::Unsupported, where + ": unknown model type \"" + type + "\"");
}

}  // namespace

std::unique_ptr<Model> make_model(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
  if (const nlohmann::json* type = field(json, "type")) {
    if (!type->is_string()) fail(ErrorKind::Format, where + ".type must be a string");
    return make_typed_model(type->get<std::string>(), json, where);
  }
  // Files older than the "type" field: `tokenizers` takes the first model whose fields fit, in
  // the order BPE, WordPiece, WordLevel, Unigram.
  for (const char* type : {"BPE", "WordPiece", "WordLevel", "Unigram"}) {
    try {
      return make_typed_model(type, json, where);
    } catch (const Error& error) {
      if (error.kind() != ErrorKind::Format) throw;
    }
  }
  fail(ErrorKind::Format, where + ": no \"type\", and the fields fit no model (BPE, WordPiece, WordLevel, Unigram)");
}

}  // namespace sp::tok
