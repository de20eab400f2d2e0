#include "tokenizer/utf8.h"

namespace sp::tok {
namespace {

// Length of the valid UTF-8 sequence at text[offset], or 0 with *valid_prefix set to the number
// of bytes that form a valid start of a sequence (Rust's "maximal subpart", always >= 1 so that
// lossy repair advances). The rules are RFC 3629's table: the second byte's range depends on the
// lead byte, which rules out overlong forms, surrogates and code points above U+10FFFF.
size_t valid_sequence_length(std::string_view text, size_t offset, size_t* valid_prefix) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[offset + i]); };
  const size_t left = text.size() - offset;
  const unsigned char lead = byte(0);
  *valid_prefix = 1;
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_low = 0xA0;
    if (lead == 0xED) second_high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_low = 0x90;
    if (lead == 0xF4) second_high = 0x8F;
  } else {
    return 0;
  }
  if (left < 2 || byte(1) < second_low || byte(1) > second_high) return 0;
  for (size_t i = 2; i < length; ++i) {
    *valid_prefix = i;
    if (left <= i || (byte(i) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

size_t invalid_utf8_offset(std::string_view text) {
  size_t offset = 0;
  while (offset < text.size()) {
    if (static_cast<unsigned char>(text[offset]) < 0x80) {
      ++offset;
      continue;
    }
    size_t prefix = 0;
    const size_t length = valid_sequence_length(text, offset, &prefix);
    if (length == 0) return offset;
    offset += length;
  }
  return std::string_view::npos;
}

size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

char32_t next_code_point(std::string_view text, size_t* offset) {
  const auto byte = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(text[*offset + i])); };
  const char32_t lead = byte(0);
  if (lead < 0x80) {
    *offset += 1;
    return lead;
  }
  if (lead < 0xE0) {
    const char32_t code_point = ((lead & 0x1F) << 6) | (byte(1) & 0x3F);
    *offset += 2;
    return code_point;
  }
  if (lead < 0xF0) {
    const char32_t code_point = ((lead & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    *offset += 3;
    return code_point;
  }
  const char32_t code_point =
      ((lead & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
  *offset += 4;
  return code_point;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    const char bytes[2] = {static_cast<char>(0xC0 | (code_point >> 6)), static_cast<char>(0x80 | (code_point & 0x3F))};
    out.append(bytes, 2);
  } else if (code_point < 0x10000) {
    const char bytes[3] = {static_cast<char>(0xE0 | (code_point >> 12)),
                           static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)),
                           static_cast<char>(0x80 | (code_point & 0x3F))};
    out.append(bytes, 3);
  } else {
    const char bytes[4] = {
        static_cast<char>(0xF0 | (code_point >> 18)), static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)),
        static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)), static_cast<char>(0x80 | (code_point & 0x3F))};
    out.append(bytes, 4);
  }
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t offset = 0;
  size_t clean_start = 0;  // start of the run of valid bytes not yet copied
  while (offset < bytes.size()) {
    if (static_cast<unsigned char>(bytes[offset]) < 0x80) {
      ++offset;
      continue;
    }
    size_t prefix = 0;
    const size_t length = valid_sequence_length(bytes, offset, &prefix);
    if (length != 0) {
      offset += length;
      continue;
    }
    out.append(bytes.substr(clean_start, offset - clean_start));
    out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal invalid subpart
    offset += prefix;
    clean_start = offset;
  }
  out.append(bytes.substr(clean_start));
  return out;
}

}  // namespace sp::tok
