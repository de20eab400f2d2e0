#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>
#include <vector>

#include "tokenizer/utf8.h"
#include "util/errors.h"

namespace sp::tok {
namespace {

struct CodePointRange {
  char32_t first;
  char32_t last;
};

struct LowercaseEntry {
  char32_t code_point;
  const char* lowercase;  // UTF-8
};

#include "tokenizer/unicode_tables.inc"

template <size_t N>
bool in_table(const CodePointRange (&table)[N], char32_t c) {
  const auto* end = table + N;
  const auto* it =
      std::upper_bound(table, end, c, [](char32_t value, const CodePointRange& range) { return value < range.first; });
  return it != table && c <= std::prev(it)->last;
}

// One flag byte per ASCII character, so the hot pre-tokenizer loops never search for ASCII.
enum AsciiClass : unsigned char { kWhitespace = 1, kWord = 2, kPunctuation = 4, kNumeric = 8, kRemoved = 16 };

struct AsciiClasses {
  unsigned char flags[128] = {};
  AsciiClasses() {
    for (char32_t c = 0; c < 128; ++c) {
      flags[c] = static_cast<unsigned char>(
          (in_table(k_whitespace, c) ? kWhitespace : 0) | (in_table(k_word, c) ? kWord : 0) |
          (in_table(k_bert_punctuation, c) ? kPunctuation : 0) | (in_table(k_numeric, c) ? kNumeric : 0) |
          (in_table(k_bert_control, c) ? kRemoved : 0));
    }
  }
};

const AsciiClasses& ascii_classes() {
  static const AsciiClasses classes;
  return classes;
}

bool ascii_has(char32_t c, AsciiClass which) { return (ascii_classes().flags[c] & which) != 0; }

bool is_decomposition_gap(char32_t c, NormalizationForm form) {
  if (form == NormalizationForm::NFKC || form == NormalizationForm::NFKD)
    return c >= k_nfkd_gap[0].first && in_table(k_nfkd_gap, c);
  return c >= k_nfd_gap[0].first && in_table(k_nfd_gap, c);
}

// Normalizes one run of text without decomposition gaps through utf8proc, with a per-thread
// buffer (no allocation once it has grown).
void append_normalized_run(std::string& out, std::string_view text, NormalizationForm form) {
  if (text.empty()) return;
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::NFC:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalizationForm::NFD:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalizationForm::NFKC:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalizationForm::NFKD:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  thread_local std::vector<utf8proc_int32_t> buffer;
  if (buffer.size() < text.size() + 16) buffer.resize(text.size() + 16);
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const auto length = static_cast<utf8proc_ssize_t>(text.size());
  const auto option_bits = static_cast<utf8proc_option_t>(options);
  utf8proc_ssize_t count = utf8proc_decompose(bytes, length, buffer.data(), buffer.size(), option_bits);
  if (count > static_cast<utf8proc_ssize_t>(buffer.size())) {
    buffer.resize(static_cast<size_t>(count));
    count = utf8proc_decompose(bytes, length, buffer.data(), buffer.size(), option_bits);
  }
  if (count < 0) fail(ErrorKind::Internal, std::string("Unicode normalization failed: ") + utf8proc_errmsg(count));
  // reencode composes (when asked) and writes UTF-8 over the buffer: 4 bytes fit in each entry.
  const utf8proc_ssize_t encoded = utf8proc_reencode(buffer.data(), count, option_bits);
  if (encoded < 0) fail(ErrorKind::Internal, std::string("Unicode normalization failed: ") + utf8proc_errmsg(encoded));
  out.append(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(encoded));
}

}  // namespace

void append_normalized(std::string& out, std::string_view text, NormalizationForm form) {
  // Text below U+0300 that is all ASCII is the same in every form.
  size_t offset = 0;
  while (offset < text.size() && static_cast<unsigned char>(text[offset]) < 0x80) ++offset;
  if (offset == text.size()) {
    out.append(text);
    return;
  }
  // A character `tokenizers` does not decompose (newer than its tables) is a starter it never
  // composes with: normalizing the runs between such characters on their own is exact.
  size_t run_start = 0;
  offset = 0;
  while (offset < text.size()) {
    const size_t char_start = offset;
    const char32_t c = next_code_point(text, &offset);
    if (c >= 0x32FF && is_decomposition_gap(c, form)) {
      append_normalized_run(out, text.substr(run_start, char_start - run_start), form);
      out.append(text.substr(char_start, offset - char_start));
      run_start = offset;
    }
  }
  append_normalized_run(out, text.substr(run_start), form);
}

bool is_whitespace(char32_t c) { return c < 128 ? ascii_has(c, kWhitespace) : in_table(k_whitespace, c); }
bool is_numeric(char32_t c) { return c < 128 ? ascii_has(c, kNumeric) : in_table(k_numeric, c); }
bool is_word_character(char32_t c) { return c < 128 ? ascii_has(c, kWord) : in_table(k_word, c); }
bool is_bert_punctuation(char32_t c) { return c < 128 ? ascii_has(c, kPunctuation) : in_table(k_bert_punctuation, c); }
bool is_bert_removed(char32_t c) { return c < 128 ? ascii_has(c, kRemoved) : in_table(k_bert_control, c); }
bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && in_table(k_nonspacing_mark, c); }
bool is_combining_mark(char32_t c) { return c >= 0x300 && in_table(k_combining_mark, c); }

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(std::string& out, char32_t c) {
  if (c < 128) {
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    return;
  }
  const auto* end = std::end(k_lowercase);
  const auto* it = std::lower_bound(std::begin(k_lowercase), end, c, [](const LowercaseEntry& entry, char32_t value) {
    return entry.code_point < value;
  });
  if (it != end && it->code_point == c) {
    out.append(it->lowercase);
  } else {
    append_utf8(out, c);
  }
}

}  // namespace sp::tok
