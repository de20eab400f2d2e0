#include "tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "tokenizer/utf8.h"

namespace sp::tok {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for
// themselves; the others, in byte order, become U+0100, U+0101, ... Each entry holds the
// character's UTF-8 (at most 2 bytes, as every character is below U+0800).
struct ByteLevelTable {
  std::array<char32_t, 256> character{};
  std::array<std::array<char, 2>, 256> utf8{};
  std::array<uint8_t, 256> utf8_length{};
  std::array<int16_t, 0x144> byte_of{};  // character -> byte, -1 when not in the table

  ByteLevelTable() {
    byte_of.fill(-1);
    char32_t next_extra = 0x100;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
      const char32_t c = printable ? static_cast<char32_t>(byte) : next_extra++;
      character[byte] = c;
      std::string encoded;
      append_utf8(encoded, c);
      utf8_length[byte] = static_cast<uint8_t>(encoded.size());
      for (size_t i = 0; i < encoded.size(); ++i) utf8[byte][i] = encoded[i];
      byte_of[c] = static_cast<int16_t>(byte);
    }
  }
};

const ByteLevelTable& table() {
  static const ByteLevelTable instance;
  return instance;
}

}  // namespace

void append_byte_level(std::string& out, std::string_view text) {
  const ByteLevelTable& t = table();
  out.reserve(out.size() + text.size() * 2);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out.append(t.utf8[byte].data(), t.utf8_length[byte]);
  }
}

std::string bytes_from_byte_level(std::string_view token) {
  const ByteLevelTable& t = table();
  std::string bytes;
  bytes.reserve(token.size());
  size_t offset = 0;
  while (offset < token.size()) {
    const char32_t c = next_code_point(token, &offset);
    if (c >= t.byte_of.size() || t.byte_of[c] < 0) return std::string(token);
    bytes.push_back(static_cast<char>(t.byte_of[c]));
  }
  return bytes;
}

}  // namespace sp::tok
