// The character classes and transforms the text stages of `tokenizers` use, each with the exact
// membership `tokenizers` 0.23.3 has (see scripts/gen-tokenizer-unicode-tables.py: its Rust crates
// follow different Unicode versions, so the tables are read off the library itself), and the
// Unicode normalization forms over utf8proc.
#pragma once

#include <string>
#include <string_view>

namespace sp::tok {

enum class NormalizationForm { NFC, NFD, NFKC, NFKD };

// Appends `text` (valid UTF-8) in normalization form `form` to `out`, as `tokenizers`'
// NormalizedString::nfc/nfd/nfkc/nfkd do (characters its older tables do not decompose are
// kept as they are).
void append_normalized(std::string& out, std::string_view text, NormalizationForm form);

// Rust char::is_whitespace (the White_Space property).
bool is_whitespace(char32_t c);
// Rust char::is_numeric (Nd, Nl, No).
bool is_numeric(char32_t c);
// \w of the `regex` crate (the Whitespace pre-tokenizer's pattern \w+|[^\w\s]+).
bool is_word_character(char32_t c);
// BERT punctuation: ASCII punctuation or a Unicode P* category (BertPreTokenizer, Punctuation).
bool is_bert_punctuation(char32_t c);
// Characters BertNormalizer's clean_text removes: NUL, U+FFFD and "other" characters (Cc, Cf,
// Co...) except \t, \n and \r.
bool is_bert_removed(char32_t c);
// BertNormalizer's handle_chinese_chars: the CJK ideograph blocks.
bool is_chinese_char(char32_t c);
// Non-spacing marks (Mn), which BertNormalizer's strip_accents removes after NFD.
bool is_nonspacing_mark(char32_t c);
// Combining marks (M*), which the StripAccents normalizer removes.
bool is_combining_mark(char32_t c);

// Appends Rust char::to_lowercase of `c` (the full mapping, e.g. U+0130 -> "i\u0307").
void append_lowercase(std::string& out, char32_t c);

}  // namespace sp::tok
