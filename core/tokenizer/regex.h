// A compiled Oniguruma regular expression, compiled and searched as `tokenizers` does through
// the Rust onig crate (Regex::new: Ruby syntax, no options, UTF-8), so that pre-tokenizer and
// Replace patterns match exactly as there.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sp::tok {

struct MatchRange {
  size_t start;  // byte offsets into the searched text
  size_t end;
};

class Regex {
 public:
  // Throws ErrorKind::Format naming `where` and the pattern when it does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // The regular expression matching `literal` exactly (what `tokenizers` builds for a
  // {"String": ...} pattern with regex::escape).
  static std::string escape(std::string_view literal);

  // Replaces `matches` with every non-overlapping match in `text` (valid UTF-8), in order, as the
  // onig crate's find_iter yields them: an empty match right where the previous match ended is
  // skipped. Safe to call from several threads at once.
  void find_all(std::string_view text, std::vector<MatchRange>& matches) const;

 private:
  void* regex_;  // OnigRegex, kept out of this header
};

// The Oniguruma pattern of a Replace or Split "pattern" value ({"String": literal} escaped, or
// {"Regex": pattern}); Format naming `where` otherwise.
std::string pattern_from_json(const nlohmann::json* pattern, const std::string& where);

}  // namespace sp::tok
