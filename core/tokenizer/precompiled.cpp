// SentencePiece's precompiled character map, read as the spm_precompiled crate reads it and
// applied as `tokenizers`' normalizers/precompiled.rs applies it.
//
// Layout of the decoded blob: a little-endian u32 with the byte size of the trie, the trie (a
// darts-clone double array of little-endian u32 units over the UTF-8 bytes of the keys), then the
// replacement strings, each ended by a NUL; a trie value is the offset of its replacement.
//
// Application: the text is cut into extended grapheme clusters. A cluster shorter than 6 bytes
// is looked up whole; otherwise (or when not found) each of its characters is. A lookup returns
// the replacement of the SHORTEST key that is a prefix of the looked-up bytes (spm_precompiled's
// transform takes the first common-prefix result), and that replacement stands for the whole
// cluster or character.
#include "tokenizer/precompiled.h"

#include <utf8proc.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tokenizer/utf8.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {
namespace {

std::vector<uint8_t> decode_base64(const std::string& text, const std::string& where) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) fail(ErrorKind::Format, where + ": precompiled_charsmap is not valid base64");
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int values[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        values[k] = 0;
        ++padding;
        continue;
      }
      values[k] = padding > 0 ? -1 : value_of(c);
      if (values[k] < 0) fail(ErrorKind::Format, where + ": precompiled_charsmap is not valid base64");
    }
    const uint32_t group = (static_cast<uint32_t>(values[0]) << 18) | (static_cast<uint32_t>(values[1]) << 12) |
                           (static_cast<uint32_t>(values[2]) << 6) | static_cast<uint32_t>(values[3]);
    bytes.push_back(static_cast<uint8_t>(group >> 16));
    if (padding < 2) bytes.push_back(static_cast<uint8_t>(group >> 8));
    if (padding < 1) bytes.push_back(static_cast<uint8_t>(group));
  }
  return bytes;
}

class PrecompiledNormalizer final : public Normalizer {
 public:
  PrecompiledNormalizer(const std::vector<uint8_t>& blob, const std::string& where) {
    auto bad = [&](const char* what) { fail(ErrorKind::Format, where + ": precompiled_charsmap " + what); };
    if (blob.size() < 4) bad("is too short");
    const uint32_t trie_bytes = read_u32(blob.data());
    const size_t units = trie_bytes / 4;
    if (units == 0 || 4 + units * 4 > blob.size()) bad("has a trie larger than itself");
    units_.resize(units);
    for (size_t i = 0; i < units; ++i) units_[i] = read_u32(blob.data() + 4 + i * 4);
    replacements_.assign(reinterpret_cast<const char*>(blob.data()) + 4 + units * 4, blob.size() - 4 - units * 4);
    if (invalid_utf8_offset(replacements_) != std::string_view::npos) bad("holds replacements that are not UTF-8");
  }

  void normalize(Piece& piece) const override {
    const std::string_view text = piece.text;
    if (text.empty()) return;
    std::string out;
    out.reserve(text.size() + 8);
    bool modified = false;
    size_t cluster_start = 0;
    size_t offset = 0;
    utf8proc_int32_t state = 0;
    char32_t previous = next_code_point(text, &offset);
    while (true) {
      const size_t next_start = offset;
      bool at_end = offset >= text.size();
      char32_t current = 0;
      if (!at_end) current = next_code_point(text, &offset);
      if (at_end || utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(previous),
                                                     static_cast<utf8proc_int32_t>(current), &state)) {
        modified |= apply_cluster(text.substr(cluster_start, next_start - cluster_start), out);
        cluster_start = next_start;
      }
      if (at_end) break;
      previous = current;
    }
    if (modified) piece.text.swap(out);
  }

 private:
  static uint32_t read_u32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
  }

  // The replacement of the shortest key that prefixes `key` (darts-clone's common prefix search,
  // stopping at a NUL byte); nullopt when there is none. Out-of-range positions of a malformed
  // trie count as "no match".
  std::optional<std::string_view> transform(std::string_view key) const {
    auto unit_at = [&](size_t position) -> std::optional<uint32_t> {
      if (position >= units_.size()) return std::nullopt;
      return units_[position];
    };
    auto offset_of = [](uint32_t unit) -> size_t { return (unit >> 10) << ((unit & (1u << 9)) >> 6); };
    size_t position = 0;
    position ^= offset_of(units_[0]);
    for (char byte : key) {
      const auto label = static_cast<unsigned char>(byte);
      if (label == 0) break;
      position ^= label;
      const auto unit = unit_at(position);
      if (!unit || (*unit & ((1u << 31) | 0xFFu)) != label) return std::nullopt;
      position ^= offset_of(*unit);
      if ((*unit >> 8) & 1u) {
        const auto leaf = unit_at(position);
        if (!leaf) return std::nullopt;
        return replacement_at(*leaf & ((1u << 31) - 1));
      }
    }
    return std::nullopt;
  }

  std::optional<std::string_view> replacement_at(size_t index) const {
    if (index > replacements_.size()) return std::nullopt;
    const std::string_view rest = std::string_view(replacements_).substr(index);
    const size_t end = rest.find('\0');
    const std::string_view replacement = rest.substr(0, end);
    // The blob is valid UTF-8, but an index could still point into a character.
    if (invalid_utf8_offset(replacement) != std::string_view::npos) return std::nullopt;
    return replacement;
  }

  bool apply_cluster(std::string_view cluster, std::string& out) const {
    if (cluster.size() < 6) {
      if (const auto replacement = transform(cluster)) {
        out.append(*replacement);
        return true;
      }
    }
    bool modified = false;
    size_t offset = 0;
    while (offset < cluster.size()) {
      const size_t start = offset;
      offset += utf8_sequence_length(static_cast<unsigned char>(cluster[offset]));
      const std::string_view character = cluster.substr(start, offset - start);
      if (const auto replacement = transform(character)) {
        out.append(*replacement);
        modified = true;
      } else {
        out.append(character);
      }
    }
    return modified;
  }

  std::vector<uint32_t> units_;
  std::string replacements_;
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled_normalizer(const nlohmann::json& json, const std::string& where) {
  const JsonReader reader(json, where);
  if (!reader.has("precompiled_charsmap")) reader.format_error("missing required key \"precompiled_charsmap\"");
  const std::vector<uint8_t> blob = decode_base64(reader.string("precompiled_charsmap", ""), where);
  return std::make_unique<PrecompiledNormalizer>(blob, where);
}

}  // namespace sp::tok
