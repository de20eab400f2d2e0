// make_decoder: the decoders of `tokenizers` (decoders/*.rs and the Metaspace, ByteLevel and
// Replace types that double as decoders), each decode_chain exactly as there: tokens in, tokens
// out, the tokenizer joins them.
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/model_json.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

const char kReplacementCharacter[] = "\xEF\xBF\xBD";  // U+FFFD

// The one character of a `char` field (serde refuses a string of any other length).
char32_t single_character(const nlohmann::json& object, const char* key, const std::string& where) {
  std::string text = required_string(object, key, where);
  if (text.empty() || invalid_utf8_offset(text) != std::string_view::npos)
    fail(ErrorKind::Format, where + "." + key + " must be one character");
  size_t offset = 0;
  char32_t character = next_code_point(text, &offset);
  if (offset != text.size()) fail(ErrorKind::Format, where + "." + key + " must be one character");
  return character;
}

uint64_t count_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const nlohmann::json* value = field(object, key);
  if (value == nullptr) fail(ErrorKind::Format, where + ": missing \"" + key + "\"");
  return count_value(*value, where + "." + key);
}

// Rust's str::replace: every non-overlapping occurrence, left to right; an empty pattern matches
// before every character and at the end.
void replace_all(std::string& text, std::string_view from, std::string_view to) {
  std::string result;
  if (from.empty()) {
    result.append(to);
    for (size_t offset = 0; offset < text.size();) {
      size_t begin = offset;
      offset += utf8_sequence_length(static_cast<unsigned char>(text[offset]));
      result.append(text, begin, offset - begin);
      result.append(to);
    }
    text.swap(result);
    return;
  }
  size_t at = text.find(from);
  if (at == std::string::npos) return;
  size_t done = 0;
  for (; at != std::string::npos; at = text.find(from, done)) {
    result.append(text, done, at - done);
    result.append(to);
    done = at + from.size();
  }
  result.append(text, done, std::string::npos);
  text.swap(result);
}

// decoders/wordpiece.rs cleanup: the spaces WordPiece decoding leaves before punctuation and
// English contractions.
void cleanup(std::string& text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},           {" !", "!"},   {" ,", ","},     {" ' ", "'"},   {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& rule : kRules) replace_all(text, rule.first, rule.second);
}

// Every token's bytes through GPT-2's byte table, the whole as one token, repaired as Rust's
// from_utf8_lossy.
class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& token : tokens) bytes += bytes_from_byte_level(token);
    tokens.assign(1, utf8_lossy(bytes));
  }
};

// The replacement character back to spaces; in the first token it is dropped (every one of them,
// as `tokenizers` does) unless prepend_scheme is "never".
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool drop_in_first) : drop_in_first_(drop_in_first) {
    append_utf8(replacement_, replacement);
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      replace_all(tokens[i], replacement_, i == 0 && drop_in_first_ ? "" : " ");
  }

 private:
  std::string replacement_;
  bool drop_in_first_;
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& token = tokens[i];
      if (i != 0) {
        if (token.compare(0, prefix_.size(), prefix_) == 0) {
          token.erase(0, prefix_.size());
        } else {
          token.insert(0, 1, ' ');
        }
      }
      if (cleanup_) cleanup(token);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// Runs of "<0xXX>" tokens become the bytes they name: the run's text when it is valid UTF-8, one
// U+FFFD per byte token otherwise.
class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> decoded;
    decoded.reserve(tokens.size());
    std::string run;
    size_t run_tokens = 0;
    auto flush = [&]() {
      if (run_tokens == 0) return;
      if (invalid_utf8_offset(run) == std::string_view::npos) {
        decoded.push_back(run);
      } else {
        for (size_t i = 0; i < run_tokens; ++i) decoded.emplace_back(kReplacementCharacter);
      }
      run.clear();
      run_tokens = 0;
    };
    for (auto& token : tokens) {
      int byte = byte_token_value(token);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        ++run_tokens;
      } else {
        flush();
        decoded.push_back(std::move(token));
      }
    }
    flush();
    tokens.swap(decoded);
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  // The byte of "<0xXX>", or -1. As Rust's u8::from_str_radix(.., 16), a leading '+' is accepted.
  static int byte_token_value(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
    if (token[3] == '+') return hex_digit(token[4]);
    int high = hex_digit(token[3]);
    int low = hex_digit(token[4]);
    return high < 0 || low < 0 ? -1 : high * 16 + low;
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const auto& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters from every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, uint64_t start, uint64_t stop, std::string where)
      : content_(content), start_(start), stop_(stop), where_(std::move(where)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<size_t> boundaries;  // byte offset of every character, then the size
    for (auto& token : tokens) {
      boundaries.clear();
      std::vector<char32_t> characters;
      for (size_t offset = 0; offset < token.size();) {
        boundaries.push_back(offset);
        characters.push_back(next_code_point(token, &offset));
      }
      boundaries.push_back(token.size());
      size_t start_cut = 0;
      for (size_t i = 0; i < characters.size() && i < start_; ++i) {
        if (characters[i] != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = characters.size();
      for (uint64_t i = 0; i < stop_; ++i) {
        // `tokenizers` indexes past the front here (a panic) when a token is all `content`
        // and shorter than `stop`, and slices backwards when the cuts cross; both are errors here.
        if (i >= characters.size())
          fail(ErrorKind::InvalidArgument, where_ + ": Strip cannot decode the token \"" + token + "\"");
        size_t index = characters.size() - i - 1;
        if (characters[index] != content_) break;
        stop_cut = index;
      }
      if (start_cut > stop_cut)
        fail(ErrorKind::InvalidArgument, where_ + ": Strip cannot decode the token \"" + token + "\"");
      token = token.substr(boundaries[start_cut], boundaries[stop_cut] - boundaries[start_cut]);
    }
  }

 private:
  char32_t content_;
  uint64_t start_;
  uint64_t stop_;
  std::string where_;
};

// Every match of the pattern (a literal for {"String": ...}) in each token replaced by content.
class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const std::string& pattern, std::string content, const std::string& where)
      : regex_(pattern, where + ".pattern"), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<MatchRange> matches;
    for (auto& token : tokens) {
      if (token.empty()) continue;
      regex_.find_all(token, matches);
      if (matches.empty()) continue;
      std::string replaced;
      size_t done = 0;
      for (const MatchRange& match : matches) {
        replaced.append(token, done, match.start - done);
        replaced += content_;
        done = match.end;
      }
      replaced.append(token, done, std::string::npos);
      token.swap(replaced);
    }
  }

 private:
  Regex regex_;
  std::string content_;
};

// Every token's suffix occurrences become a space, in the last token nothing.
class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

// Connectionist temporal classification output: repeats collapsed, padding removed, the word
// delimiter a space (with cleanup), empty tokens dropped.
class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> decoded;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && tokens[i] == tokens[i - 1]) continue;
      std::string token = tokens[i];
      replace_all(token, pad_, "");
      if (cleanup_) {
        cleanup(token);
        replace_all(token, delimiter_, " ");
      }
      if (!token.empty()) decoded.push_back(std::move(token));
    }
    tokens.swap(decoded);
  }

 private:
  std::string pad_;
  std::string delimiter_;
  bool cleanup_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> decoders) : decoders_(std::move(decoders)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& decoder : decoders_) decoder->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> decoders_;
};

std::unique_ptr<Decoder> make_metaspace(const nlohmann::json& json, const std::string& where) {
  char32_t replacement = single_character(json, "replacement", where);
  std::string scheme = optional_string(json, "prepend_scheme", where).value_or("always");
  if (scheme != "always" && scheme != "first" && scheme != "never")
    fail(ErrorKind::Format, where + ".prepend_scheme \"" + scheme + "\" is not always, first or never");
  if (optional_bool(json, "add_prefix_space", where) == std::optional<bool>(false)) {
    // As `tokenizers`: add_prefix_space false means "never", and contradicts any other scheme
    // (including the default "always" when prepend_scheme is absent).
    if (scheme != "never") fail(ErrorKind::Format, where + ": add_prefix_space does not match declared prepend_scheme");
  }
  return std::make_unique<MetaspaceDecoder>(replacement, scheme != "never");
}

std::unique_ptr<Decoder> make_replace(const nlohmann::json& json, const std::string& where) {
  const nlohmann::json* pattern = field(json, "pattern");
  if (pattern == nullptr || !pattern->is_object() || pattern->size() != 1)
    fail(ErrorKind::Format, where + ".pattern must be {\"String\": ...} or {\"Regex\": ...}");
  std::string content = required_string(json, "content", where);
  if (const nlohmann::json* literal = field(*pattern, "String")) {
    if (!literal->is_string()) fail(ErrorKind::Format, where + ".pattern.String must be a string");
    return std::make_unique<ReplaceDecoder>(Regex::escape(literal->get<std::string>()), std::move(content), where);
  }
  if (const nlohmann::json* regex = field(*pattern, "Regex")) {
    if (!regex->is_string()) fail(ErrorKind::Format, where + ".pattern.Regex must be a string");
    return std::make_unique<ReplaceDecoder>(regex->get<std::string>(), std::move(content), where);
  }
  fail(ErrorKind::Format, where + ".pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
  std::string type = required_string(json, "type", where);
  if (type == "ByteLevel") {
    // The fields only matter to the pre-tokenizer; `tokenizers` still requires the first two.
    required_bool(json, "add_prefix_space", where);
    required_bool(json, "trim_offsets", where);
    optional_bool(json, "use_regex", where);
    return std::make_unique<ByteLevelDecoder>();
  }
  if (type == "Metaspace") return make_metaspace(json, where);
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(required_string(json, "prefix", where),
                                              required_bool(json, "cleanup", where));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(single_character(json, "content", where), count_field(json, "start", where),
                                          count_field(json, "stop", where), where);
  }
  if (type == "Replace") return make_replace(json, where);
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(required_string(json, "suffix", where));
  if (type == "CTC") {
    return std::make_unique<CtcDecoder>(required_string(json, "pad_token", where),
                                        required_string(json, "word_delimiter_token", where),
                                        required_bool(json, "cleanup", where));
  }
  if (type == "Sequence") {
    const nlohmann::json* list = field(json, "decoders");
    if (list == nullptr || !list->is_array()) fail(ErrorKind::Format, where + ".decoders must be an array");
    std::vector<std::unique_ptr<Decoder>> decoders;
    for (size_t i = 0; i < list->size(); ++i)
      decoders.push_back(make_decoder((*list)[i], where + ".decoders[" + std::to_string(i) + "]"));
    return std::make_unique<SequenceDecoder>(std::move(decoders));
  }
  fail(ErrorKind::Unsupported, where + ": unknown decoder type \"" + type + "\"");
}

}  // namespace sp::tok
