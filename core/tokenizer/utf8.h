// UTF-8 as `tokenizers` (Rust strings) sees it: strict validation (no overlong forms, no
// surrogates, nothing above U+10FFFF), code-point iteration, and Rust's from_utf8_lossy repair
// for decoded byte sequences.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sp::tok {

// Byte offset of the first byte that is not part of valid UTF-8, or std::string_view::npos.
size_t invalid_utf8_offset(std::string_view text);

// Decodes the code point starting at text[*offset] (which must be valid UTF-8) and advances
// *offset past it.
char32_t next_code_point(std::string_view text, size_t* offset);

// Appends the UTF-8 encoding of `code_point` (a Unicode scalar value).
void append_utf8(std::string& out, char32_t code_point);

// Length in bytes of the UTF-8 sequence whose first byte is `lead` (1 for a stray continuation
// byte, so that loops always advance).
size_t utf8_sequence_length(unsigned char lead);

// `bytes` with every invalid sequence replaced by U+FFFD, exactly as Rust's
// String::from_utf8_lossy does (one U+FFFD per maximal invalid subpart).
std::string utf8_lossy(std::string_view bytes);

}  // namespace sp::tok
