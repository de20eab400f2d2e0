#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "io/file_util.h"
#include "io/gguf.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {
namespace {

// The stage object under `key`, or nullptr when absent or null (the stage is skipped).
const nlohmann::json* stage(const nlohmann::json& root, const char* key) {
  auto it = root.find(key);
  return it == root.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

struct Tokenizer::Stages {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocabulary added;
  SpecialIds special;
  std::string chat_template;
  int64_t vocab_size = 0;
};

Tokenizer::Tokenizer() : stages_(std::make_unique<Stages>()) {}
Tokenizer::~Tokenizer() = default;
int64_t Tokenizer::vocab_size() const { return stages_->vocab_size; }
const SpecialIds& Tokenizer::special_ids() const { return stages_->special; }
const std::string& Tokenizer::chat_template() const { return stages_->chat_template; }

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::string& path) {
  if (io::is_directory(path)) {
    const std::string file = io::join_path(path, "tokenizer.json");
    if (!io::is_regular_file(file)) fail(ErrorKind::NotFound, "folder " + path + " has no tokenizer.json");
    return parse(io::read_file(file), file, path);
  }
  if (io::is_regular_file(path) && io::GgufFile::has_magic(path)) return from_gguf(*io::GgufFile::open(path));
  return parse(io::read_file(path), path, "");
}

std::shared_ptr<const Tokenizer> Tokenizer::parse(const std::string& json_text, const std::string& source,
                                                  const std::string& folder) {
  const nlohmann::json root = parse_json(json_text, source);
  return build(root, source, [&folder](const Tokenizer& tokenizer, const nlohmann::json& model) {
    Stages& stages = *tokenizer.stages_;
    stages.special = read_special_ids(
        folder, model, [&tokenizer](std::string_view token) { return tokenizer.token_to_id(token); },
        stages.vocab_size);
    if (!folder.empty()) stages.chat_template = read_chat_template(folder);
  });
}

std::shared_ptr<const Tokenizer> Tokenizer::from_gguf(const io::GgufFile& file) {
  GgufTokenizerParts parts = tokenizer_from_gguf(file);
  return build(parts.tokenizer_json, "GGUF file '" + file.path() + "' (tokenizer)",
               [&parts](const Tokenizer& tokenizer, const nlohmann::json&) {
                 tokenizer.stages_->special = parts.special;
                 tokenizer.stages_->chat_template = parts.chat_template;
               });
}

std::shared_ptr<const Tokenizer> Tokenizer::build(
    const nlohmann::json& root, const std::string& source,
    const std::function<void(const Tokenizer&, const nlohmann::json& model)>& finish) {
  std::shared_ptr<Tokenizer> tokenizer(new Tokenizer());
  Stages& stages = *tokenizer->stages_;
  try {
    if (!root.is_object()) fail(ErrorKind::Format, source + ": must be a JSON object");
    if (auto version = root.find("version"); version != root.end()) {
      if (!version->is_string() || version->get<std::string>() != "1.0")
        fail(ErrorKind::Unsupported,
             source + ": tokenizer version " + version->dump() + " (this library reads \"1.0\")");
    }
    const nlohmann::json* model = stage(root, "model");
    if (!model) fail(ErrorKind::Format, source + ": has no \"model\"");
    stages.model = make_model(*model, source + ": model");
    if (auto* json = stage(root, "normalizer")) stages.normalizer = make_normalizer(*json, source + ": normalizer");
    if (auto* json = stage(root, "pre_tokenizer"))
      stages.pre_tokenizer = make_pre_tokenizer(*json, source + ": pre_tokenizer");
    if (auto* json = stage(root, "post_processor"))
      stages.post_processor = make_post_processor(*json, source + ": post_processor");
    if (auto* json = stage(root, "decoder")) stages.decoder = make_decoder(*json, source + ": decoder");
    if (auto* json = stage(root, "added_tokens"))
      stages.added = AddedVocabulary(*json, source + ": added_tokens", *stages.model, stages.normalizer.get());
    stages.vocab_size = std::max<int64_t>(stages.model->vocab_size(), stages.added.max_id() + 1);
    finish(*tokenizer, *model);
  } catch (const nlohmann::json::exception& error) {
    // A component reading a value of the wrong JSON type: the file is malformed.
    fail(ErrorKind::Format, source + ": malformed: " + error.what());
  }
  return tokenizer;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    fail(ErrorKind::InvalidArgument, "text is not valid UTF-8: byte " + std::to_string(bad) + " (" + byte + ")");
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  // As `tokenizers`' extract_and_normalize: tokens that are not normalized are found in the raw
  // text; each part between them is normalized on its own, then searched for normalized tokens.
  std::vector<Segment> raw, normalized;
  stages_->added.split(Piece{std::string(text), true}, false, raw);
  std::vector<Piece> words;
  for (Segment& segment : raw) {
    if (segment.id) {
      ids.push_back(*segment.id);
      continue;
    }
    if (stages_->normalizer) stages_->normalizer->normalize(segment.piece);
    normalized.clear();
    stages_->added.split(segment.piece, true, normalized);
    for (Segment& part : normalized) {
      if (part.id) {
        ids.push_back(*part.id);
        continue;
      }
      words.clear();
      words.push_back(std::move(part.piece));
      if (stages_->pre_tokenizer) stages_->pre_tokenizer->pre_tokenize(words);
      for (const Piece& word : words)
        if (!word.text.empty()) stages_->model->tokenize(word.text, ids);
    }
  }
  if (stages_->post_processor) stages_->post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string Tokenizer::decode(const int32_t* ids, size_t count, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string* token = id_to_token(ids[i]);
    if (!token)
      fail(ErrorKind::OutOfRange, "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                                      " is not in the vocabulary (" + std::to_string(stages_->vocab_size) + " ids)");
    // `tokenizers` tests the token's text, so a model token spelled like a special token goes too.
    if (skip_special_tokens && stages_->added.is_special_content(*token)) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (stages_->decoder) {
    stages_->decoder->decode_chain(tokens);
    for (const std::string& part : tokens) text += part;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) text += ' ';
      text += tokens[i];
    }
  }
  return text;
}

const std::string* Tokenizer::id_to_token(int32_t id) const {
  if (const std::string* added = stages_->added.id_to_token(id)) return added;
  return stages_->model->id_to_token(id);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = stages_->added.token_to_id(token)) return id;
  return stages_->model->token_to_id(token);
}

}  // namespace sp::tok
