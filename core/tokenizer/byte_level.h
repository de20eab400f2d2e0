// GPT-2's byte-to-character table (bytes_to_unicode): byte-level BPE writes every byte of the
// input as one printable character, e.g. ' ' as 'Ġ' (U+0120). The ByteLevel pre-tokenizer maps
// bytes to characters; the ByteLevel decoder maps them back.
#pragma once

#include <string>
#include <string_view>

namespace sp::tok {

// Appends the byte-level characters (UTF-8) of every byte of `text`.
void append_byte_level(std::string& out, std::string_view text);

// The bytes behind one byte-level token. A token holding any character outside the table is
// returned unchanged (its own UTF-8 bytes), as `tokenizers`' ByteLevel decoder does per token.
std::string bytes_from_byte_level(std::string_view token);

}  // namespace sp::tok
