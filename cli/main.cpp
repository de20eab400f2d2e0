// softprompt: train, run and inspect soft prompts from the command line (docs/cli.md is the
// manual). Dispatches to one subcommand; exit status 0 on success, 1 when something fails at run
// time (the library's message follows "softprompt <command>: "), 2 for a wrong command line.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "failures.h"
#include "softprompt/softprompt.h"

namespace {

const cli::Command kCommands[] = {
    {"train", "train a soft prompt on JSONL data", cli::train_spec, cli::run_train},
    {"generate", "generate text (streamed), with or without a soft prompt", cli::generate_spec, cli::run_generate},
    {"eval", "held-out loss, perplexity and accuracy on JSONL data", cli::eval_spec, cli::run_eval},
    {"score", "log-likelihood of each completion after its prompt, as JSON lines", cli::score_spec, cli::run_score},
    {"inspect", "describe a model, an adapter (folder or file) or a trainer checkpoint", cli::inspect_spec,
     cli::run_inspect},
    {"convert", "convert an adapter between a PEFT folder and a single file", cli::convert_spec, cli::run_convert},
};

void print_usage(FILE* out) {
  std::fprintf(out,
               "usage: softprompt <command> [options]\n\n"
               "Trains and runs soft prompts (PEFT prompt tuning, prefix tuning, P-tuning, multitask prompt\n"
               "tuning) on frozen language models: Hugging Face folders or GGUF files.\n\ncommands:\n");
  for (const cli::Command& command : kCommands) std::fprintf(out, "  %-10s %s\n", command.name, command.summary);
  std::fprintf(out,
               "\n  --version  the tool's and the library's version\n  --help     this text\n\n"
               "`softprompt <command> --help` lists a command's options. Exit status: 0 success, 1 failure,\n"
               "2 wrong command line.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(stdout);
    return 0;
  }
  if (first == "--version") {
    std::printf("softprompt %s (library %s)\n", SP_CLI_VERSION, sp_version());
    return 0;
  }
  for (const cli::Command& command : kCommands) {
    if (first != command.name) continue;
    const cli::CommandSpec spec = command.spec();
    try {
      const cli::ParsedOptions options = cli::parse_options(spec, std::vector<std::string>(argv + 2, argv + argc));
      if (options.help_requested) {
        std::fputs(cli::help_text(spec).c_str(), stdout);
        return 0;
      }
      return command.run(options);
    } catch (const cli::UsageError& error) {
      std::fflush(stdout);
      std::fprintf(stderr, "softprompt %s: %s\n", command.name, error.what());
      return 2;
    } catch (const std::exception& error) {
      std::fflush(stdout);
      std::fprintf(stderr, "softprompt %s: %s\n", command.name, error.what());
      return 1;
    }
  }
  std::fprintf(stderr, "softprompt: unknown command '%s' (see softprompt --help)\n", first.c_str());
  return 2;
}
