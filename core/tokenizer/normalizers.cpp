// The normalizers of tokenizer.json, each rewriting a piece's text as `tokenizers`' NormalizedString
// operations do. Every normalizer writes into a per-thread scratch string and swaps it with the
// piece, so that steady-state normalization allocates nothing.
//
// at_origin (see pipeline.h): `tokenizers` slices the normalized text right after normalizing it
// (the added-token split), and a slice starts at the original offset its first character is
// aligned to. So a normalizer that removes the first character(s) of a piece clears at_origin; one
// that maps, prepends or inserts in front of them keeps it. Replace follows its alignment rule: a
// match at the start replaced by non-empty content keeps it only when the match is one character
// (new characters align to the last character they replace).
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/precompiled.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {
namespace {

std::string& scratch() {
  thread_local std::string buffer;
  buffer.clear();
  return buffer;
}

bool is_ascii(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// Keeps the characters `keep` accepts; clears at_origin when the first character goes.
template <typename Keep>
void filter_characters(Piece& piece, Keep keep) {
  std::string& out = scratch();
  out.reserve(piece.text.size());
  const std::string_view text = piece.text;
  size_t offset = 0;
  bool first = true;
  while (offset < text.size()) {
    const size_t start = offset;
    const char32_t c = next_code_point(text, &offset);
    if (keep(c)) {
      out.append(text.substr(start, offset - start));
    } else if (first) {
      piece.at_origin = false;
    }
    if (!out.empty()) first = false;
  }
  piece.text.swap(out);
}

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalizationForm form) : form_(form) {}
  void normalize(Piece& piece) const override {
    if (is_ascii(piece.text)) return;
    std::string& out = scratch();
    append_normalized(out, piece.text, form_);
    piece.text.swap(out);
  }

 private:
  NormalizationForm form_;
};

void lowercase_text(std::string& text) {
  size_t offset = 0;
  while (offset < text.size() && static_cast<unsigned char>(text[offset]) < 0x80) {
    if (text[offset] >= 'A' && text[offset] <= 'Z') text[offset] = static_cast<char>(text[offset] + 32);
    ++offset;
  }
  if (offset == text.size()) return;
  std::string& out = scratch();
  out.reserve(text.size() + 8);
  out.append(text, 0, offset);
  const std::string_view rest = text;
  while (offset < rest.size()) append_lowercase(out, next_code_point(rest, &offset));
  text.swap(out);
}

class Lowercase final : public Normalizer {
 public:
  void normalize(Piece& piece) const override { lowercase_text(piece.text); }
};

class StripAccents final : public Normalizer {
 public:
  void normalize(Piece& piece) const override {
    if (is_ascii(piece.text)) return;
    filter_characters(piece, [](char32_t c) { return !is_combining_mark(c); });
  }
};

class Nmt final : public Normalizer {
 public:
  void normalize(Piece& piece) const override {
    std::string& out = scratch();
    out.reserve(piece.text.size());
    const std::string_view text = piece.text;
    size_t offset = 0;
    while (offset < text.size()) {
      const char32_t c = next_code_point(text, &offset);
      if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F) {
        if (out.empty()) piece.at_origin = false;
        continue;
      }
      const bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 ||
                         (c >= 0x200B && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF ||
                         c == 0xFFFD;
      append_utf8(out, space ? U' ' : c);
    }
    piece.text.swap(out);
  }
};

class BertNormalizer final : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void normalize(Piece& piece) const override {
    if (is_ascii(piece.text)) {
      normalize_ascii(piece);
      return;
    }
    if (clean_text_ || handle_chinese_chars_) clean_and_space(piece);
    if (strip_accents_) {
      std::string& decomposed = scratch();
      append_normalized(decomposed, piece.text, NormalizationForm::NFD);
      piece.text.swap(decomposed);
      filter_characters(piece, [](char32_t c) { return !is_nonspacing_mark(c); });
    }
    if (lowercase_) lowercase_text(piece.text);
  }

 private:
  // ASCII needs no decomposition and has no CJK: one pass of cleaning and lowercasing.
  void normalize_ascii(Piece& piece) const {
    std::string& text = piece.text;
    size_t kept = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (clean_text_) {
        if (is_bert_removed(static_cast<unsigned char>(c))) {
          if (kept == 0) piece.at_origin = false;
          continue;
        }
        if (is_whitespace(static_cast<unsigned char>(c))) c = ' ';
      }
      if (lowercase_ && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      text[kept++] = c;
    }
    text.resize(kept);
  }

  void clean_and_space(Piece& piece) const {
    std::string& out = scratch();
    out.reserve(piece.text.size() + 16);
    const std::string_view text = piece.text;
    size_t offset = 0;
    while (offset < text.size()) {
      char32_t c = next_code_point(text, &offset);
      if (clean_text_) {
        if (is_bert_removed(c)) {
          if (out.empty()) piece.at_origin = false;
          continue;
        }
        if (is_whitespace(c)) c = U' ';
      }
      if (handle_chinese_chars_ && is_chinese_char(c)) {
        out.push_back(' ');
        append_utf8(out, c);
        out.push_back(' ');
      } else {
        append_utf8(out, c);
      }
    }
    piece.text.swap(out);
  }

  bool clean_text_;
  bool handle_chinese_chars_;
  bool strip_accents_;
  bool lowercase_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(Piece& piece) const override {
    if (!piece.text.empty()) piece.text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(Piece& piece) const override {
    const std::string_view text = piece.text;
    size_t begin = 0;
    if (left_) {
      while (begin < text.size()) {
        size_t next = begin;
        if (!is_whitespace(next_code_point(text, &next))) break;
        begin = next;
      }
    }
    size_t end = text.size();
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t next = start;
        if (!is_whitespace(next_code_point(text, &next))) break;
        end = start;
      }
    }
    if (begin > 0 && begin < end) piece.at_origin = false;
    piece.text.erase(end);
    piece.text.erase(0, begin);
  }

 private:
  bool left_;
  bool right_;
};

class Replace final : public Normalizer {
 public:
  Replace(const std::string& pattern, std::string content, const std::string& where)
      : regex_(pattern, where), content_(std::move(content)) {}

  void normalize(Piece& piece) const override {
    if (piece.text.empty()) return;
    thread_local std::vector<MatchRange> matches;
    regex_.find_all(piece.text, matches);
    if (matches.empty()) return;
    const std::string_view text = piece.text;
    if (matches.front().start == 0 && matches.front().end > 0) {
      size_t first_end = 0;
      next_code_point(text, &first_end);
      const bool one_character = matches.front().end == first_end;
      if (content_.empty() || !one_character) piece.at_origin = false;
    }
    std::string& out = scratch();
    out.reserve(text.size() + matches.size() * content_.size());
    size_t copied = 0;
    for (const MatchRange& match : matches) {
      out.append(text.substr(copied, match.start - copied));
      out.append(content_);
      copied = match.end;
    }
    out.append(text.substr(copied));
    piece.text.swap(out);
  }

 private:
  Regex regex_;
  std::string content_;
};

// Every byte as its GPT-2 byte-level character (the ByteLevel normalizer).
class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(Piece& piece) const override {
    std::string& out = scratch();
    append_byte_level(out, piece.text);
    piece.text.swap(out);
  }
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> normalizers) : normalizers_(std::move(normalizers)) {}
  void normalize(Piece& piece) const override {
    for (const auto& normalizer : normalizers_) normalizer->normalize(piece);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& json, const std::string& where) {
  const JsonReader reader(json, where);
  if (!reader.has("type")) reader.format_error("missing required key \"type\"");
  const std::string type = reader.string("type", "");
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Nmt") return std::make_unique<Nmt>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "BertNormalizer") {
    const bool lowercase = reader.boolean("lowercase", true);
    // strip_accents null (or absent) follows lowercase, as `tokenizers` does.
    const bool strip_accents = reader.boolean("strip_accents", lowercase);
    return std::make_unique<BertNormalizer>(reader.boolean("clean_text", true),
                                            reader.boolean("handle_chinese_chars", true), strip_accents, lowercase);
  }
  if (type == "Prepend") {
    if (!reader.has("prepend")) reader.format_error("missing required key \"prepend\"");
    return std::make_unique<Prepend>(reader.string("prepend", ""));
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(reader.boolean("strip_left", true), reader.boolean("strip_right", true));
  }
  if (type == "Replace") {
    if (!reader.has("content")) reader.format_error("missing required key \"content\"");
    return std::make_unique<Replace>(pattern_from_json(json.contains("pattern") ? &json["pattern"] : nullptr, where),
                                     reader.string("content", ""), where);
  }
  if (type == "Precompiled") return make_precompiled_normalizer(json, where);
  if (type == "Sequence") {
    const nlohmann::json& list = reader.array("normalizers");
    std::vector<std::unique_ptr<Normalizer>> normalizers;
    for (size_t i = 0; i < list.size(); ++i)
      normalizers.push_back(make_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(normalizers));
  }
  reader.unsupported("unknown type \"" + type + "\"");
}

}  // namespace sp::tok
