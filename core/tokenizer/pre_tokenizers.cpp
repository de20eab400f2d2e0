// The pre-tokenizers of tokenizer.json. Each finds, in every piece, the segments `tokenizers`'
// Pattern::find_matches finds (contiguous, covering the piece, each flagged as a match or not),
// applies the split behaviour (SplitDelimiterBehavior) and keeps the non-empty results.
//
// at_origin: a split part keeps its piece's flag only when it starts at the piece's first byte
// (what `tokenizers` reads from the part's original offset).
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/byte_level.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {
namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct Segment {
  size_t start;
  size_t end;
  bool flag;  // in find_matches output: is a match; after the behaviour: is removed
};

// The parts of one piece after `behavior`, as tokenizers' NormalizedString::split computes them.
void apply_behavior(std::vector<Segment>& segments, Behavior behavior) {
  switch (behavior) {
    case Behavior::Removed:
      return;  // matches are the removed parts
    case Behavior::Isolated:
      for (Segment& segment : segments) segment.flag = false;
      return;
    case Behavior::Contiguous:
    case Behavior::MergedWithPrevious: {
      size_t kept = 0;
      bool previous_match = false;
      for (size_t i = 0; i < segments.size(); ++i) {
        const Segment segment = segments[i];  // a copy: the slot may be rewritten below
        const bool merge =
            behavior == Behavior::Contiguous ? segment.flag == previous_match : segment.flag && !previous_match;
        if (merge && kept > 0) {
          segments[kept - 1].end = segment.end;
        } else {
          segments[kept++] = {segment.start, segment.end, false};
        }
        previous_match = segment.flag;
      }
      segments.resize(kept);
      return;
    }
    case Behavior::MergedWithNext: {
      // Walk from the end: a match right before a non-match joins it.
      size_t kept = segments.size();
      bool previous_match = false;
      for (size_t i = segments.size(); i-- > 0;) {
        const Segment segment = segments[i];
        if (segment.flag && !previous_match && kept < segments.size()) {
          segments[kept].start = segment.start;
        } else {
          segments[--kept] = {segment.start, segment.end, false};
        }
        previous_match = segment.flag;
      }
      segments.erase(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(kept));
      return;
    }
  }
}

// Appends the kept, non-empty parts of `piece` to `out`.
void emit_parts(Piece& piece, const std::vector<Segment>& segments, std::vector<Piece>& out) {
  if (segments.size() == 1 && !segments[0].flag && segments[0].start == 0 && segments[0].end == piece.text.size()) {
    if (!piece.text.empty()) out.push_back(std::move(piece));
    return;
  }
  for (const Segment& segment : segments) {
    if (segment.flag || segment.end == segment.start) continue;
    out.push_back(
        Piece{piece.text.substr(segment.start, segment.end - segment.start), piece.at_origin && segment.start == 0});
  }
}

// find_matches of a character predicate: each matching character is its own match, the runs
// between them are non-matches.
template <typename Predicate>
void find_character_matches(std::string_view text, Predicate is_match, std::vector<Segment>& segments) {
  segments.clear();
  size_t run_start = 0;
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t start = offset;
    const char32_t c = static_cast<unsigned char>(text[offset]) < 0x80 ? static_cast<char32_t>(text[offset++])
                                                                       : next_code_point(text, &offset);
    if (is_match(c)) {
      if (run_start < start) segments.push_back({run_start, start, false});
      segments.push_back({start, offset, true});
      run_start = offset;
    }
  }
  if (run_start < text.size()) segments.push_back({run_start, text.size(), false});
}

// find_matches of a regular expression (optionally inverted, as Pattern's Invert does).
void find_regex_matches(const Regex& regex, std::string_view text, bool invert, std::vector<Segment>& segments) {
  thread_local std::vector<MatchRange> matches;
  segments.clear();
  if (text.empty()) return;
  regex.find_all(text, matches);
  size_t previous = 0;
  for (const MatchRange& match : matches) {
    if (previous != match.start) segments.push_back({previous, match.start, invert});
    segments.push_back({match.start, match.end, !invert});
    previous = match.end;
  }
  if (previous != text.size()) segments.push_back({previous, text.size(), invert});
}

// Runs `split(piece, segments)` on every piece and replaces the pieces with the parts.
template <typename FindSegments>
void split_pieces(std::vector<Piece>& pieces, Behavior behavior, FindSegments find_segments) {
  thread_local std::vector<Segment> segments;
  std::vector<Piece> out;
  out.reserve(pieces.size() * 4);
  for (Piece& piece : pieces) {
    find_segments(piece.text, segments);
    apply_behavior(segments, behavior);
    emit_parts(piece, segments, out);
  }
  pieces.swap(out);
}

Behavior parse_behavior(const JsonReader& reader, const std::string& key, Behavior fallback) {
  if (!reader.has(key)) return fallback;
  const std::string name = reader.string(key, "");
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  reader.format_error("unknown \"" + key + "\" \"" + name + "\"");
}

// GPT-2's pattern, which the ByteLevel pre-tokenizer of `tokenizers` hard-codes.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex, const std::string& where)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
    if (use_regex_) regex_ = std::make_unique<Regex>(kGpt2Pattern, where);
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    if (add_prefix_space_) {
      for (Piece& piece : pieces)
        if (!piece.text.empty() && piece.text[0] != ' ') piece.text.insert(0, 1, ' ');
    }
    if (use_regex_) {
      split_pieces(pieces, Behavior::Isolated, [this](std::string_view text, std::vector<Segment>& segments) {
        find_regex_matches(*regex_, text, false, segments);
      });
    }
    thread_local std::string mapped;
    for (Piece& piece : pieces) {
      mapped.clear();
      append_byte_level(mapped, piece.text);
      piece.text.swap(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
  std::unique_ptr<Regex> regex_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(const std::string& pattern, Behavior behavior, bool invert, const std::string& where)
      : regex_(pattern, where), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, behavior_, [this](std::string_view text, std::vector<Segment>& segments) {
      find_regex_matches(regex_, text, invert_, segments);
    });
  }

 private:
  Regex regex_;
  Behavior behavior_;
  bool invert_;
};

enum class PrependScheme { Always, First, Never };

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_code_point_(replacement), scheme_(scheme), split_(split) {
    append_utf8(replacement_, replacement);
  }

  void pre_tokenize(std::vector<Piece>& pieces) const override {
    thread_local std::string replaced;
    for (Piece& piece : pieces) {
      replaced.clear();
      // After spaces become the replacement, the piece starts with it when it started with either.
      const bool starts_with_replacement =
          !piece.text.empty() &&
          (piece.text[0] == ' ' || piece.text.compare(0, replacement_.size(), replacement_) == 0);
      const bool prepend = !piece.text.empty() && !starts_with_replacement &&
                           (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && piece.at_origin));
      if (prepend) replaced.append(replacement_);
      for (char c : piece.text) {
        if (c == ' ') {
          replaced.append(replacement_);
        } else {
          replaced.push_back(c);
        }
      }
      piece.text.swap(replaced);
    }
    if (!split_) return;
    const char32_t replacement = replacement_code_point_;
    split_pieces(pieces, Behavior::MergedWithNext,
                 [replacement](std::string_view text, std::vector<Segment>& segments) {
                   find_character_matches(
                       text, [replacement](char32_t c) { return c == replacement; }, segments);
                 });
  }

 private:
  char32_t replacement_code_point_;
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

// \w+|[^\w\s]+ kept, everything else (whitespace) removed: runs of word characters and runs of
// other non-space characters.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, Behavior::Removed, [](std::string_view text, std::vector<Segment>& segments) {
      segments.clear();
      enum Kind { kSpace, kWord, kOther };
      size_t offset = 0;
      size_t run_start = 0;
      Kind run_kind = kSpace;
      while (offset < text.size()) {
        const size_t start = offset;
        const char32_t c = next_code_point(text, &offset);
        const Kind kind = is_word_character(c) ? kWord : (is_whitespace(c) ? kSpace : kOther);
        if (start == 0) {
          run_kind = kind;
        } else if (kind != run_kind) {
          segments.push_back({run_start, start, run_kind == kSpace});
          run_start = start;
          run_kind = kind;
        }
      }
      if (!text.empty()) segments.push_back({run_start, text.size(), run_kind == kSpace});
    });
  }
};

class CharacterSplit final : public PreTokenizer {
 public:
  CharacterSplit(bool (*is_match)(char32_t), Behavior behavior) : is_match_(is_match), behavior_(behavior) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    auto is_match = is_match_;
    split_pieces(pieces, behavior_, [is_match](std::string_view text, std::vector<Segment>& segments) {
      find_character_matches(text, is_match, segments);
    });
  }

 private:
  bool (*is_match_)(char32_t);
  Behavior behavior_;
};

class CharDelimiterSplit final : public PreTokenizer {
 public:
  explicit CharDelimiterSplit(char32_t delimiter) : delimiter_(delimiter) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    const char32_t delimiter = delimiter_;
    split_pieces(pieces, Behavior::Removed, [delimiter](std::string_view text, std::vector<Segment>& segments) {
      find_character_matches(
          text, [delimiter](char32_t c) { return c == delimiter; }, segments);
    });
  }

 private:
  char32_t delimiter_;
};

// Whitespace removed, then punctuation isolated (two passes in `tokenizers`, one here).
class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    split_pieces(pieces, Behavior::Removed, [](std::string_view text, std::vector<Segment>& segments) {
      segments.clear();
      size_t offset = 0;
      size_t word_start = 0;
      while (offset < text.size()) {
        const size_t start = offset;
        const char32_t c = static_cast<unsigned char>(text[offset]) < 0x80 ? static_cast<char32_t>(text[offset++])
                                                                           : next_code_point(text, &offset);
        const bool space = is_whitespace(c);
        if (space || is_bert_punctuation(c)) {
          if (word_start < start) segments.push_back({word_start, start, false});
          segments.push_back({start, offset, space});
          word_start = offset;
        }
      }
      if (word_start < text.size()) segments.push_back({word_start, text.size(), false});
    });
  }
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(std::vector<Piece>& pieces) const override {
    for (const auto& step : steps_) step->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// A JSON string holding exactly one character (Metaspace's replacement, CharDelimiterSplit's
// delimiter: Rust `char`s).
char32_t read_character(const JsonReader& reader, const std::string& key) {
  if (!reader.has(key)) reader.format_error("missing required key \"" + key + "\"");
  const std::string text = reader.string(key, "");
  size_t offset = 0;
  char32_t c = 0;
  if (!text.empty() && invalid_utf8_offset(text) == std::string_view::npos) c = next_code_point(text, &offset);
  if (text.empty() || offset != text.size()) reader.format_error("\"" + key + "\" must be one character");
  return c;
}

std::unique_ptr<PreTokenizer> make_metaspace(const JsonReader& reader) {
  const char32_t replacement = read_character(reader, "replacement");
  PrependScheme scheme = PrependScheme::Always;
  if (reader.has("prepend_scheme")) {
    const std::string name = reader.string("prepend_scheme", "");
    if (name == "always") {
      scheme = PrependScheme::Always;
    } else if (name == "first") {
      scheme = PrependScheme::First;
    } else if (name == "never") {
      scheme = PrependScheme::Never;
    } else {
      reader.format_error("unknown \"prepend_scheme\" \"" + name + "\"");
    }
  }
  // Files written before prepend_scheme existed say add_prefix_space; false means "never" (and
  // contradicts any other scheme, which `tokenizers` refuses).
  if (reader.has("add_prefix_space") && !reader.boolean("add_prefix_space", true)) {
    if (reader.has("prepend_scheme") && scheme != PrependScheme::Never)
      reader.format_error("add_prefix_space does not match declared prepend_scheme");
    scheme = PrependScheme::Never;
  }
  return std::make_unique<Metaspace>(replacement, scheme, reader.boolean("split", true));
}

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& json, const std::string& where) {
  const JsonReader reader(json, where);
  if (!reader.has("type")) reader.format_error("missing required key \"type\"");
  const std::string type = reader.string("type", "");
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(reader.boolean("add_prefix_space", true),
                                                   reader.boolean("use_regex", true), where);
  }
  if (type == "Split") {
    const std::string pattern = pattern_from_json(json.contains("pattern") ? &json["pattern"] : nullptr, where);
    if (!reader.has("behavior")) reader.format_error("missing required key \"behavior\"");
    return std::make_unique<SplitPreTokenizer>(pattern, parse_behavior(reader, "behavior", Behavior::Removed),
                                               reader.boolean("invert", false), where);
  }
  if (type == "Metaspace") return make_metaspace(reader);
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") return std::make_unique<CharacterSplit>(&is_whitespace, Behavior::Removed);
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Digits") {
    return std::make_unique<CharacterSplit>(
        &is_numeric, reader.boolean("individual_digits", false) ? Behavior::Isolated : Behavior::Contiguous);
  }
  if (type == "Punctuation") {
    return std::make_unique<CharacterSplit>(&is_bert_punctuation,
                                            parse_behavior(reader, "behavior", Behavior::Isolated));
  }
  if (type == "CharDelimiterSplit") return std::make_unique<CharDelimiterSplit>(read_character(reader, "delimiter"));
  if (type == "Sequence") {
    const nlohmann::json& list = reader.array("pretokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list.size(); ++i)
      steps.push_back(make_pre_tokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]"));
    return std::make_unique<Sequence>(std::move(steps));
  }
  reader.unsupported("unknown type \"" + type + "\"");
}

}  // namespace sp::tok
