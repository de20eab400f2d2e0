// softprompt generate: text after a prompt, streamed to stdout token by token as it comes.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "batching.h"
#include "commands.h"
#include "encoding.h"
#include "failures.h"
#include "loading.h"

namespace cli {

namespace {

struct Streamed {
  std::string text;
};

int32_t print_piece(const sp_token_event* event, void* user_data) {
  std::fwrite(event->text, 1, event->text_size, stdout);
  std::fflush(stdout);
  static_cast<Streamed*>(user_data)->text.append(event->text, event->text_size);
  return 0;
}

struct Generator {
  sp_model* model;
  sp_adapter* adapter;
  sp_generate_params params;
  int32_t task;

  // Streams the continuation of ids and returns its text.
  std::string run(const std::vector<int32_t>& ids) {
    sp_context_params context_params = sp_context_default_params();
    context_params.max_length = static_cast<int32_t>(ids.size()) + params.max_new_tokens;
    sp_context* raw = nullptr;
    check(sp_context_create(&raw, model, adapter, &context_params), "creating a context");
    Context context(raw);
    PromptList prompts;
    prompts.add(ids, task);
    const sp_prompts view = prompts.view();
    Streamed streamed;
    sp_generate_params call = params;
    call.callback = print_piece;
    call.user_data = &streamed;
    check(sp_context_generate(context.get(), &view, &call, nullptr), "generating");
    return streamed.text;
  }
};

}  // namespace

CommandSpec generate_spec() {
  CommandSpec spec;
  spec.name = "generate";
  spec.summary =
      "Generates text after a prompt and streams it to stdout as it comes (only the continuation is\n"
      "printed). Prompts come from --prompt, or from stdin one per line. Greedy unless a sampling\n"
      "option (--temperature, --top-k, --top-p, --min-p) is given.";
  spec.options = model_options();
  const std::vector<OptionSpec> more = {
      {"--adapter", "PATH", "a soft prompt: a PEFT folder or a single file"},
      {"--prompt", "TEXT", "the prompt (else: one prompt per line of stdin)"},
      {"--chat", "",
       "format the prompt with the model's chat template as the user's message; with\n"
       "no --prompt and a terminal on stdin: a conversation (empty line or EOF ends it)"},
      {"--system", "TEXT", "--chat: a system message first"},
      {"--max-new-tokens", "N", "tokens to generate at most (default 128)"},
      {"--temperature", "T", "sampling temperature (> 0)"},
      {"--top-k", "K", "sample among the K most likely tokens (default 50 when sampling; 0 = off)"},
      {"--top-p", "P", "nucleus sampling: the smallest set above probability P, in (0, 1]"},
      {"--min-p", "P", "drop tokens below P times the most likely one's probability"},
      {"--repetition-penalty", "R", "divide the logits of tokens already seen by R (default 1 = off)"},
      {"--seed", "N", "sampling seed (default 0)"},
      {"--greedy", "", "always the most likely token (refuses the sampling options)"},
      {"--stop", "STR", "stop when the text contains STR (repeatable)"},
      {"--task", "N", "the task id of a multitask (mpt) adapter (default 0)"},
  };
  spec.options.insert(spec.options.end(), more.begin(), more.end());
  spec.epilogue =
      "examples:\n"
      "  softprompt generate --prompt \"The capital of France is\" --max-new-tokens 20\n"
      "  softprompt generate --chat --adapter my-prompt.spa --prompt \"Translate: cat\"\n"
      "  softprompt generate --chat              (a conversation on the terminal)";
  return spec;
}

int run_generate(const ParsedOptions& options) {
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = static_cast<int32_t>(options.integer("--max-new-tokens", 128, 1, 1 << 20));
  const bool sampling =
      options.has("--temperature") || options.has("--top-k") || options.has("--top-p") || options.has("--min-p");
  if (sampling && options.has("--greedy"))
    throw UsageError("--greedy excludes --temperature, --top-k, --top-p, --min-p");
  params.do_sample = sampling ? 1 : 0;
  params.temperature = static_cast<float>(options.number("--temperature", 1.0, 1e-6, 1e6));
  params.top_k = static_cast<int32_t>(options.integer("--top-k", 50, 0, INT32_MAX));
  params.top_p = static_cast<float>(options.number("--top-p", 1.0, 1e-9, 1.0));
  params.min_p = static_cast<float>(options.number("--min-p", 0.0, 0.0, 1.0));
  params.repetition_penalty = static_cast<float>(options.number("--repetition-penalty", 1.0, 1e-6, 1e6));
  params.seed = static_cast<uint64_t>(options.integer("--seed", 0, 0, INT64_MAX));
  const std::vector<std::string> stops = options.all("--stop");
  std::vector<const char*> stop_strings;
  for (const std::string& stop : stops) {
    if (stop.empty()) throw UsageError("--stop needs a non-empty string");
    stop_strings.push_back(stop.c_str());
  }
  params.stop_strings = stop_strings.data();
  params.num_stop_strings = stop_strings.size();
  const int32_t task = static_cast<int32_t>(options.integer("--task", 0, 0, 1 << 20));
  const bool chat = options.has("--chat");
  if (options.has("--system") && !chat) throw UsageError("--system goes with --chat");

  Model model = load_model(options);
  Tokenizer tokenizer = model_tokenizer(model.get(), "generating text");
  Adapter adapter = options.has("--adapter") ? load_adapter(model.get(), options.text("--adapter")) : Adapter();
  const Encoder encoder(model.get(), tokenizer.get(), chat, 0);
  Generator generator{model.get(), adapter.get(), params, task};

  std::vector<std::pair<std::string, std::string>> conversation;
  if (options.has("--system")) conversation.emplace_back("system", options.text("--system"));
  auto prompt_ids = [&](const std::string& prompt) {
    if (!chat) return encoder.encode(prompt, true);
    conversation.emplace_back("user", prompt);
    return encoder.encode(render_chat(tokenizer.get(), conversation, true), false);
  };

  if (options.has("--prompt")) {
    generator.run(prompt_ids(options.text("--prompt")));
    std::printf("\n");
    return 0;
  }
  const bool interactive = isatty(STDIN_FILENO) != 0;
  if (interactive) {
    std::fprintf(stderr, chat ? "a conversation: type a message (an empty line ends it)\n"
                              : "one prompt per line (an empty line ends)\n");
  }
  std::string line;
  while (true) {
    if (interactive) std::fputs("> ", stderr);
    if (!std::getline(std::cin, line)) break;
    if (interactive && line.empty()) break;
    const std::string answer = generator.run(prompt_ids(line));
    std::printf("\n");
    std::fflush(stdout);
    // A conversation goes on only on a terminal; prompts from a pipe are independent one-shots.
    if (chat && interactive) {
      conversation.emplace_back("assistant", answer);
    } else if (chat) {
      conversation.resize(options.has("--system") ? 1 : 0);
    }
  }
  return 0;
}

}  // namespace cli
