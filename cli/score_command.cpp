// softprompt score: the log-likelihood of each completion after its prompt, one JSON line per row.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "batching.h"
#include "commands.h"
#include "evaluation.h"
#include "failures.h"
#include "loading.h"

namespace cli {

std::vector<OptionSpec> data_options();  // eval_command.cpp

CommandSpec score_spec() {
  CommandSpec spec;
  spec.name = "score";
  spec.summary =
      "For each {\"prompt\",\"completion\"} (or {\"text\",\"label\"}) row, prints one JSON line:\n"
      "  {\"line\": N, \"log_likelihood\": L, \"tokens\": T, \"mean_log_likelihood\": L/T}\n"
      "L is the sum over the completion's tokens of log p(token | prompt, earlier tokens), in nats.";
  spec.options = model_options();
  const std::vector<OptionSpec> more = data_options();
  spec.options.insert(spec.options.end(), more.begin(), more.end());
  return spec;
}

int run_score(const ParsedOptions& options) {
  if (!options.has("--data")) throw UsageError("--data FILE.jsonl is required");
  const int32_t batch_size = static_cast<int32_t>(options.integer("--batch-size", 8, 1, 4096));
  const int32_t max_length = static_cast<int32_t>(options.integer("--max-length", 512, 2, 1 << 20));
  const Dataset data = read_jsonl(options.text("--data"));
  if (data.format == DataFormat::Text) {
    throw RuntimeFailure(data.path + ": score needs {\"prompt\",\"completion\"} or {\"text\",\"label\"} rows");
  }
  Model model = load_model(options);
  Tokenizer tokenizer = model_tokenizer(model.get(), "scoring text");
  Adapter adapter = options.has("--adapter") ? load_adapter(model.get(), options.text("--adapter")) : Adapter();
  const Encoder encoder(model.get(), tokenizer.get(), options.has("--chat"), max_length);
  const EncodedData encoded = encoder.encode_all(data);

  size_t longest = 0;
  for (const EncodedRow& row : encoded.rows) longest = std::max(longest, row.prompt.size() + row.target.size());
  sp_context_params context_params = sp_context_default_params();
  context_params.max_batch_size = batch_size;
  context_params.max_length = static_cast<int32_t>(longest);
  sp_context* raw = nullptr;
  check(sp_context_create(&raw, model.get(), adapter.get(), &context_params), "creating a context");
  Context context(raw);

  // A chunk of rows per call, so that results appear while a long file is scored.
  const size_t chunk = static_cast<size_t>(batch_size) * 4;
  for (size_t begin = 0; begin < encoded.rows.size(); begin += chunk) {
    const size_t end = std::min(encoded.rows.size(), begin + chunk);
    PromptList prompts, continuations;
    for (size_t r = begin; r < end; ++r) {
      prompts.add(encoded.rows[r].prompt, encoded.rows[r].task);
      continuations.add(encoded.rows[r].target, encoded.rows[r].task);
    }
    const sp_prompts prompt_view = prompts.view(), continuation_view = continuations.view();
    std::vector<float> scores(end - begin);
    check(sp_context_score(context.get(), &prompt_view, &continuation_view, scores.data(), scores.size()), "scoring");
    for (size_t r = begin; r < end; ++r) {
      const double score = scores[r - begin];
      const size_t tokens = encoded.rows[r].target.size();
      std::printf("%s\n", nlohmann::json{{"line", encoded.rows[r].line},
                                         {"log_likelihood", score},
                                         {"tokens", tokens},
                                         {"mean_log_likelihood", score / static_cast<double>(tokens)}}
                              .dump()
                              .c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace cli
