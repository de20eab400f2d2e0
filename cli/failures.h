// How the tool fails: a usage error (exit 2: the command line is wrong) or a runtime failure
// (exit 1: a file, the data or the library refused). main() catches both and prints the message
// prefixed with "softprompt <command>: ".
#pragma once

#include <softprompt/softprompt.h>

#include <stdexcept>
#include <string>

namespace cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RuntimeFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws a RuntimeFailure naming what was being done and the library's own message.
inline void check(sp_status status, const std::string& what) {
  if (status != SP_OK) {
    throw RuntimeFailure(what + ": " + sp_last_error() + " (" + sp_status_string(status) + ")");
  }
}

}  // namespace cli
