// A Hugging Face tokenizer (tokenizer.json) in-process: text to ids and back, with the ids
// `tokenizers` gives. Immutable once loaded; every method may be called from many threads at once.
// This header is what the engine and the C API see: standard types only (the stages and their
// JSON stay inside core/tokenizer).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sp::io {
class GgufFile;
}

namespace sp::tok {

// The ids of the special roles; -1 where the tokenizer has none (see special_tokens.h for where
// they come from).
struct SpecialIds {
  int32_t bos = -1, eos = -1, pad = -1, unk = -1;
  // Every id that ends generation: generation_config.json's eos_token_id (one or a list), else
  // config.json's, else the eos above.
  std::vector<int32_t> eos_ids;
};

class Tokenizer {
 public:
  // `path`: a tokenizer.json file, a folder holding tokenizer.json (and, optionally, the files
  // special_tokens.h and chat_template.h read), or a GGUF file. NotFound, Io, Format or Unsupported
  // as the files warrant.
  static std::shared_ptr<const Tokenizer> load(const std::string& path);
  // The tokenizer a GGUF file's metadata describes (tokenizer/gguf_tokenizer.h).
  static std::shared_ptr<const Tokenizer> from_gguf(const io::GgufFile& file);
  // From tokenizer.json's text (`source` names it in messages); `folder` holds the special-token
  // files, or is empty.
  static std::shared_ptr<const Tokenizer> parse(const std::string& json_text, const std::string& source,
                                                const std::string& folder);

  // InvalidArgument naming the byte offset when `text` is not valid UTF-8.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;
  // OutOfRange naming the position of an id the vocabulary does not have. The result is valid
  // UTF-8 (invalid decoded bytes become U+FFFD, as in `tokenizers`).
  std::string decode(const int32_t* ids, size_t count, bool skip_special_tokens) const;

  // The vocabulary string of `id` (added tokens first, as `tokenizers`); nullptr when none.
  const std::string* id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Largest id + 1, added tokens included.
  int64_t vocab_size() const;
  const SpecialIds& special_ids() const;
  // The chat template's Jinja source ("" when the files have none); chat_template.h renders it.
  const std::string& chat_template() const;

  ~Tokenizer();

 private:
  Tokenizer();
  // The stages of a tokenizer.json document; `finish` then sets what the document does not say
  // (special roles, chat template) from wherever the tokenizer came from.
  static std::shared_ptr<const Tokenizer> build(
      const nlohmann::json& root, const std::string& source,
      const std::function<void(const Tokenizer&, const nlohmann::json& model)>& finish);
  struct Stages;  // the pipeline, defined in tokenizer.cpp
  std::unique_ptr<Stages> stages_;
};

}  // namespace sp::tok
