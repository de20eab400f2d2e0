// Command-line options: each subcommand declares its options (name, value, help line), and one
// parser turns argv into checked values. Every mistake is a UsageError naming the option: an
// unknown option, a missing value, a malformed or out-of-range number, a repeated single option.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cli {

struct OptionSpec {
  std::string name;         // "--lr"
  std::string value_name;   // "RATE"; empty for a flag
  std::string help;         // one line (or more, separated by '\n')
  bool repeatable = false;  // may be given several times (e.g. --stop)
};

struct CommandSpec {
  std::string name;       // "train"
  std::string arguments;  // positional arguments in the usage line, e.g. "IN OUT"; empty for none
  size_t min_positional = 0;
  size_t max_positional = 0;
  std::string summary;  // what the command does (printed under the usage line)
  std::vector<OptionSpec> options;
  std::string epilogue;  // notes after the option list
};

class ParsedOptions {
 public:
  bool help_requested = false;
  std::vector<std::string> positional;

  bool has(const std::string& name) const;
  // The option's value, or fallback when it was not given.
  std::string text(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
  // Numbers: the whole value must parse, be finite and lie in [min, max].
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  double number(const std::string& name, double fallback, double min, double max) const;
  // One of the listed words.
  std::string choice(const std::string& name, const std::string& fallback, const std::vector<std::string>& words) const;

 private:
  friend ParsedOptions parse_options(const CommandSpec& spec, const std::vector<std::string>& args);
  std::map<std::string, std::vector<std::string>> values_;
};

// Parses args (without the program and command names). Throws UsageError.
ParsedOptions parse_options(const CommandSpec& spec, const std::vector<std::string>& args);

// The --help text of a command.
std::string help_text(const CommandSpec& spec);

}  // namespace cli
