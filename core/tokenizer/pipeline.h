// The stages of a Hugging Face tokenizer, as `tokenizers` runs them, for ids only (no offsets):
//
//   text -> added tokens split out (added_tokens.h) -> each other part: Normalizer -> PreTokenizer
//        -> Model (word -> ids) -> PostProcessor (special tokens around the sequence)
//   ids  -> tokens (vocabulary strings) -> Decoder chain -> joined UTF-8 text
//
// Each stage is an interface here and a set of implementations in its own file, built from the
// stage's object in tokenizer.json by a make_* function. A `type` the library does not know (or an
// option it cannot honour) is refused with ErrorKind::Unsupported naming it; a malformed object is
// ErrorKind::Format naming where it is ("tokenizer.json: normalizer.normalizers[1].pattern ...").
// Nothing here uses LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sp::tok {

// One part of the input on its way to the model: UTF-8 text (always valid UTF-8) and whether its
// first character comes from byte 0 of the caller's text. `tokenizers` asks that only in the
// Metaspace pre-tokenizer with prepend_scheme "first" (offsets_original().0 == 0); every stage
// that removes characters in front of a part, or splits a part, keeps it true only for a part
// that still starts at the original first character.
struct Piece {
  std::string text;
  bool at_origin = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(Piece& piece) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each piece with the words it splits into, in order. Empty words are dropped (as
  // `tokenizers` drops empty splits).
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// The vocabulary model: words to ids, ids to vocabulary strings.
class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-tokenized word (non-empty, valid UTF-8). Thread-safe (several
  // threads encode with one tokenizer at once; a cache inside must lock or be per thread).
  virtual void tokenize(std::string_view word, std::vector<int32_t>& ids) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of `id`; nullptr when the model has no such id.
  virtual const std::string* id_to_token(int32_t id) const = 0;
  // Number of ids in the model's own vocabulary (largest id + 1; added tokens not counted).
  virtual int64_t vocab_size() const = 0;
};

// `tokenizers`' Decoder::decode_chain: tokens in, tokens out; the tokenizer joins the result.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Adds the special tokens of a single sequence (pairs are not part of the C API).
class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // `ids` is the encoded sequence; with add_special_tokens false the processor leaves it alone
  // (as `tokenizers` does for every processor).
  virtual void process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;
  // How many ids process() adds to a single sequence when asked to.
  virtual size_t added_tokens() const = 0;
};

// Builders from tokenizer.json objects. `where` names the object for messages ("normalizer",
// "pre_tokenizer.pretokenizers[0]"). A JSON null is not passed here (the tokenizer skips the
// stage). Unknown "type" -> Unsupported naming it; malformed -> Format.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& json, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& json, const std::string& where);
std::unique_ptr<Model> make_model(const nlohmann::json& json, const std::string& where);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& json, const std::string& where);
std::unique_ptr<PostProcessor> make_post_processor(const nlohmann::json& json, const std::string& where);

}  // namespace sp::tok
