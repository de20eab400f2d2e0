#include "train_setup.h"

#include "failures.h"

namespace cli {

namespace {

const std::vector<std::string> kMethods = {"prompt",      "prefix",       "prefix-projection",
                                           "ptuning-mlp", "ptuning-lstm", "mpt"};

// Peak rates that suit each method (tables of embeddings like large rates; encoders and the
// projection MLP do not).
double default_learning_rate(const std::string& method) {
  if (method == "prompt" || method == "mpt") return 3e-2;
  if (method == "prefix") return 1e-2;
  return 3e-3;
}

}  // namespace

std::vector<OptionSpec> method_options() {
  return {
      {"--method", "NAME", "prompt (default), prefix, prefix-projection, ptuning-mlp, ptuning-lstm, mpt"},
      {"--virtual-tokens", "N", "virtual tokens of the soft prompt (default 20)"},
      {"--init", "KIND",
       "how the prompt table starts: random (default), vocab (embeddings of random\n"
       "vocabulary ids; prompt), text (embeddings of --init-text; prompt, mpt),\n"
       "average-source, exact-source, only-source (mpt, from --source-adapter)"},
      {"--init-text", "TEXT", "the text of --init text (encoded with the model's tokenizer)"},
      {"--encoder-hidden-size", "N", "width of the prefix projection or P-tuning encoder (default: hidden size)"},
      {"--encoder-layers", "N", "P-tuning LSTM layers (default 2)"},
      {"--encoder-dropout", "P", "P-tuning LSTM dropout between layers (default 0)"},
      {"--prefix-zero-init", "", "prefix: start the prefix at zero (PEFT's init_weights \"zero\")"},
      {"--num-tasks", "N", "mpt: number of tasks; rows give theirs with \"task\" (default 1)"},
      {"--num-ranks", "N", "mpt: rank of each task's factors (default 1)"},
      {"--source-adapter", "PATH", "mpt: the source adapter of the *-source inits"},
      {"--source-task", "N", "mpt: the source task --init exact-source copies (default 0)"},
  };
}

std::vector<OptionSpec> optimiser_options() {
  return {
      {"--lr", "RATE",
       "peak learning rate (default 3e-2 for prompt and mpt, 1e-2 for prefix, 3e-3 for\n"
       "prefix-projection and ptuning-*)"},
      {"--schedule", "KIND",
       "linear (default: warm-up, then linear decay to 0 at the last update) or constant\n"
       "(warm-up, then the peak rate)"},
      {"--warmup-steps", "N", "updates of linear warm-up from 0 (default 0)"},
      {"--weight-decay", "W", "AdamW's decoupled weight decay (default 0.01)"},
      {"--max-grad-norm", "X", "clip the gradient norm to X; 0 = off (default 1)"},
      {"--accumulation-steps", "N", "micro-batches per update (default 1)"},
  };
}

AdapterSettings adapter_settings(const ParsedOptions& options) {
  AdapterSettings settings;
  settings.method = options.choice("--method", "prompt", kMethods);
  sp_adapter_params& params = settings.params;
  params = sp_adapter_default_params();
  const std::string& method = settings.method;
  params.method = method == "prompt"                                    ? SP_METHOD_PROMPT_TUNING
                  : method == "mpt"                                     ? SP_METHOD_MULTITASK_PROMPT_TUNING
                  : method == "prefix" || method == "prefix-projection" ? SP_METHOD_PREFIX_TUNING
                                                                        : SP_METHOD_P_TUNING;
  params.prefix_projection = method == "prefix-projection" ? 1 : 0;
  params.encoder_type = method == "ptuning-lstm" ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  params.num_virtual_tokens = static_cast<int32_t>(options.integer("--virtual-tokens", 20, 1, 1 << 20));
  params.seed = static_cast<uint64_t>(options.integer("--seed", 42, 0, INT64_MAX));
  params.encoder_hidden_size = static_cast<int32_t>(options.integer("--encoder-hidden-size", 0, 0, 1 << 20));
  params.encoder_num_layers = static_cast<int32_t>(options.integer("--encoder-layers", 2, 1, 256));
  params.encoder_dropout = static_cast<float>(options.number("--encoder-dropout", 0, 0, 0.999));
  params.prefix_zero_init = options.has("--prefix-zero-init") ? 1 : 0;
  params.num_tasks = static_cast<int32_t>(options.integer("--num-tasks", 1, 1, 1 << 20));
  params.num_ranks = static_cast<int32_t>(options.integer("--num-ranks", 1, 1, 1 << 16));
  params.source_task = static_cast<int32_t>(options.integer("--source-task", 0, 0, 1 << 20));

  const std::string init =
      options.choice("--init", "random", {"random", "vocab", "text", "average-source", "exact-source", "only-source"});
  params.init = init == "vocab"            ? SP_INIT_SAMPLE_VOCAB
                : init == "text"           ? SP_INIT_TEXT
                : init == "average-source" ? SP_INIT_AVERAGE_SOURCE_TASKS
                : init == "exact-source"   ? SP_INIT_EXACT_SOURCE_TASK
                : init == "only-source"    ? SP_INIT_ONLY_SOURCE_SHARED
                                           : SP_INIT_RANDOM;
  if (init == "text") {
    if (!options.has("--init-text")) throw UsageError("--init text needs --init-text TEXT");
    settings.init_text = options.text("--init-text");
    params.init_text = settings.init_text.c_str();
  } else if (options.has("--init-text")) {
    throw UsageError("--init-text goes with --init text");
  }
  if (init.find("source") != std::string::npos) {
    if (!options.has("--source-adapter")) throw UsageError("--init " + init + " needs --source-adapter PATH");
    settings.source_adapter = options.text("--source-adapter");
    params.source_adapter = settings.source_adapter.c_str();
  }
  return settings;
}

sp_trainer_params trainer_settings(const ParsedOptions& options, const std::string& method, int64_t total_updates) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = options.number("--lr", default_learning_rate(method), 0, 1e6);
  params.weight_decay = options.number("--weight-decay", 0.01, 0, 1e6);
  params.max_grad_norm = options.number("--max-grad-norm", 1.0, 0, 1e12);
  params.warmup_steps = static_cast<int32_t>(options.integer("--warmup-steps", 0, 0, INT32_MAX));
  params.accumulation_steps = static_cast<int32_t>(options.integer("--accumulation-steps", 1, 1, 1 << 20));
  const std::string schedule = options.choice("--schedule", "linear", {"linear", "constant"});
  params.total_steps = schedule == "linear" ? static_cast<int32_t>(total_updates) : 0;
  return params;
}

}  // namespace cli
