// The subcommands: each declares its options (for parsing and --help) and runs on parsed options,
// returning the exit status (0 ok; failures are thrown: UsageError -> 2, RuntimeFailure -> 1).
#pragma once

#include "options.h"

namespace cli {

struct Command {
  const char* name;
  const char* summary;  // one line for `softprompt --help`
  CommandSpec (*spec)();
  int (*run)(const ParsedOptions& options);
};

CommandSpec train_spec();
int run_train(const ParsedOptions& options);
CommandSpec generate_spec();
int run_generate(const ParsedOptions& options);
CommandSpec eval_spec();
int run_eval(const ParsedOptions& options);
CommandSpec score_spec();
int run_score(const ParsedOptions& options);
CommandSpec inspect_spec();
int run_inspect(const ParsedOptions& options);
CommandSpec convert_spec();
int run_convert(const ParsedOptions& options);

}  // namespace cli
