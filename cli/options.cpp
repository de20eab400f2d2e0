#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "failures.h"

namespace cli {

namespace {

const OptionSpec* find_option(const CommandSpec& spec, const std::string& name) {
  for (const OptionSpec& option : spec.options) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

}  // namespace

ParsedOptions parse_options(const CommandSpec& spec, const std::vector<std::string>& args) {
  ParsedOptions parsed;
  bool only_positional = false;  // after "--"
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (arg == "-h" && !only_positional) {
        parsed.help_requested = true;
        continue;
      }
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "--help") {
      parsed.help_requested = true;
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const OptionSpec* option = find_option(spec, name);
    if (option == nullptr) {
      throw UsageError("unknown option " + name + " (see softprompt " + spec.name + " --help)");
    }
    std::string value;
    if (option->value_name.empty()) {
      if (equals != std::string::npos) throw UsageError(name + " takes no value");
    } else if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw UsageError(name + " needs a value (" + option->value_name + ")");
    }
    std::vector<std::string>& slot = parsed.values_[name];
    if (!slot.empty() && !option->repeatable) throw UsageError(name + " is given more than once");
    slot.push_back(value);
  }
  if (parsed.help_requested) return parsed;
  if (parsed.positional.size() < spec.min_positional) {
    throw UsageError("missing argument" + std::string(spec.min_positional > 1 ? "s " : " ") + spec.arguments +
                     " (see softprompt " + spec.name + " --help)");
  }
  if (parsed.positional.size() > spec.max_positional) {
    throw UsageError("unexpected argument '" + parsed.positional[spec.max_positional] + "' (see softprompt " +
                     spec.name + " --help)");
  }
  return parsed;
}

bool ParsedOptions::has(const std::string& name) const { return values_.count(name) != 0; }

std::string ParsedOptions::text(const std::string& name, const std::string& fallback) const {
  auto found = values_.find(name);
  return found == values_.end() ? fallback : found->second.back();
}

std::vector<std::string> ParsedOptions::all(const std::string& name) const {
  auto found = values_.find(name);
  return found == values_.end() ? std::vector<std::string>{} : found->second;
}

int64_t ParsedOptions::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  if (!has(name)) return fallback;
  const std::string value = text(name);
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno == ERANGE) {
    throw UsageError(name + " needs a whole number, not '" + value + "'");
  }
  if (parsed < min || parsed > max) {
    throw UsageError(name + " must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "], not " + value);
  }
  return parsed;
}

double ParsedOptions::number(const std::string& name, double fallback, double min, double max) const {
  if (!has(name)) return fallback;
  const std::string value = text(name);
  char* end = nullptr;
  errno = 0;
  const double parsed = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(parsed)) {
    throw UsageError(name + " needs a number, not '" + value + "'");
  }
  if (parsed < min || parsed > max) {
    std::ostringstream range;
    range << name << " must lie in [" << min << ", " << max << "], not " << value;
    throw UsageError(range.str());
  }
  return parsed;
}

std::string ParsedOptions::choice(const std::string& name, const std::string& fallback,
                                  const std::vector<std::string>& words) const {
  const std::string value = text(name, fallback);
  std::string listed;
  for (const std::string& word : words) {
    if (word == value) return value;
    listed += (listed.empty() ? "" : "|") + word;
  }
  throw UsageError(name + " must be one of " + listed + ", not '" + value + "'");
}

std::string help_text(const CommandSpec& spec) {
  std::ostringstream out;
  out << "usage: softprompt " << spec.name << " [options]" << (spec.arguments.empty() ? "" : " " + spec.arguments)
      << "\n\n"
      << spec.summary << "\n\noptions:\n";
  for (const OptionSpec& option : spec.options) {
    std::string left = "  " + option.name + (option.value_name.empty() ? "" : " " + option.value_name);
    if (left.size() < 28) {
      left.resize(28, ' ');
    } else {
      left += "\n" + std::string(28, ' ');
    }
    std::string help = option.help;
    for (size_t at = help.find('\n'); at != std::string::npos; at = help.find('\n', at + 1)) {
      help.insert(at + 1, std::string(28, ' '));
    }
    out << left << help << "\n";
  }
  out << "  --help                    this text\n";
  if (!spec.epilogue.empty()) out << "\n" << spec.epilogue << "\n";
  return out.str();
}

}  // namespace cli
