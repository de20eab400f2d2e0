#include "tokenizer/regex.h"

#include <oniguruma.h>

#include <memory>
#include <mutex>

#include "tokenizer/utf8.h"
#include "util/errors.h"

namespace sp::tok {
namespace {

// onig_new initializes Oniguruma's global tables on first use without a lock (the onig crate
// serializes every onig_new for this reason); initialize once, and keep compiling under a mutex.
std::mutex& compile_mutex() {
  static std::mutex mutex;
  return mutex;
}

void initialize_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

struct RegionDeleter {
  void operator()(OnigRegion* region) const { onig_region_free(region, 1); }
};

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : regex_(nullptr) {
  initialize_oniguruma();
  OnigRegex compiled = nullptr;
  OnigErrorInfo error_info{};
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  int status;
  {
    std::lock_guard<std::mutex> lock(compile_mutex());
    status = onig_new(&compiled, begin, begin + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                      ONIG_SYNTAX_DEFAULT, &error_info);
  }
  if (status != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, status, &error_info);
    fail(ErrorKind::Format,
         where + ": invalid regular expression \"" + pattern + "\": " + reinterpret_cast<const char*>(message));
  }
  regex_ = compiled;
}

Regex::~Regex() {
  if (regex_ != nullptr) onig_free(static_cast<OnigRegex>(regex_));
}

std::string Regex::escape(std::string_view literal) {
  // The Rust regex crate's regex::escape, which `tokenizers` applies before handing the pattern
  // to Oniguruma: a backslash before each of its metacharacters. In Ruby syntax a backslash
  // before punctuation is that character, and everything else stands for itself.
  static constexpr std::string_view kMeta = "\\.+*?()|[]{}^$#&-~";
  std::string escaped;
  escaped.reserve(literal.size() + 8);
  for (char c : literal) {
    if (kMeta.find(c) != std::string_view::npos) escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::string pattern_from_json(const nlohmann::json* pattern, const std::string& where) {
  if (pattern != nullptr && pattern->is_object() && pattern->size() == 1) {
    const auto literal = pattern->find("String");
    if (literal != pattern->end() && literal->is_string()) return Regex::escape(literal->get<std::string>());
    const auto regex = pattern->find("Regex");
    if (regex != pattern->end() && regex->is_string()) return regex->get<std::string>();
  }
  fail(ErrorKind::Format, where + ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
}

void Regex::find_all(std::string_view text, std::vector<MatchRange>& matches) const {
  matches.clear();
  // One region per thread: searches on a shared compiled regex are thread-safe, regions are not.
  thread_local std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = start + text.size();
  size_t search_from = 0;
  bool have_previous = false;
  size_t previous_end = 0;
  while (search_from <= text.size()) {
    onig_region_clear(region.get());
    const int found = onig_search(static_cast<OnigRegex>(regex_), start, end, start + search_from, end, region.get(),
                                  ONIG_OPTION_NONE);
    if (found == ONIG_MISMATCH) break;
    if (found < 0) fail(ErrorKind::Internal, "regular expression search failed");
    const auto match_start = static_cast<size_t>(region->beg[0]);
    const auto match_end = static_cast<size_t>(region->end[0]);
    if (match_start == match_end && have_previous && previous_end == match_end) {
      // The onig crate steps one character on and searches again.
      search_from +=
          search_from < text.size() ? utf8_sequence_length(static_cast<unsigned char>(text[search_from])) : 1;
      continue;
    }
    search_from = match_end;
    have_previous = true;
    previous_end = match_end;
    matches.push_back({match_start, match_end});
  }
}

}  // namespace sp::tok
