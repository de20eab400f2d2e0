// softprompt eval: loss, perplexity and (label data) accuracy of a model, with or without a soft
// prompt, on JSONL data.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "batching.h"
#include "commands.h"
#include "evaluation.h"
#include "failures.h"
#include "loading.h"

namespace cli {

std::vector<OptionSpec> data_options() {
  return {
      {"--adapter", "PATH", "a soft prompt: a PEFT folder or a single file (default: the base model alone)"},
      {"--data", "FILE.jsonl", "the data (required; the formats of `softprompt train --help`)"},
      {"--chat", "", "format rows with the model's chat template, as `train --chat` does"},
      {"--batch-size", "N", "rows per forward pass (default 8)"},
      {"--max-length", "N", "tokens per row at most, cut as `train` cuts (default 512)"},
  };
}

CommandSpec eval_spec() {
  CommandSpec spec;
  spec.name = "eval";
  spec.summary =
      "Measures the loss per target token, the perplexity and the number of target tokens on JSONL data;\n"
      "for {\"text\",\"label\"} data also the accuracy (the most likely label word among all labels in\n"
      "the file), for {\"prompt\",\"completion\"} data with --exact-match the greedy answers' exact match.";
  spec.options = model_options();
  const std::vector<OptionSpec> more = data_options();
  spec.options.insert(spec.options.end(), more.begin(), more.end());
  spec.options.push_back({"--exact-match", "",
                          "prompt/completion data: also generate greedily and count answers whose\n"
                          "first line equals the completion's (trimmed)"});
  spec.options.push_back({"--json", "", "print one JSON object instead of text"});
  return spec;
}

int run_eval(const ParsedOptions& options) {
  if (!options.has("--data")) throw UsageError("--data FILE.jsonl is required");
  const int32_t batch_size = static_cast<int32_t>(options.integer("--batch-size", 8, 1, 4096));
  const int32_t max_length = static_cast<int32_t>(options.integer("--max-length", 512, 2, 1 << 20));
  const Dataset data = read_jsonl(options.text("--data"));
  if (options.has("--exact-match") && data.format != DataFormat::PromptCompletion) {
    throw UsageError("--exact-match needs {\"prompt\",\"completion\"} data");
  }
  Model model = load_model(options);
  Tokenizer tokenizer = model_tokenizer(model.get(), "evaluating text");
  Adapter adapter = options.has("--adapter") ? load_adapter(model.get(), options.text("--adapter")) : Adapter();
  const Encoder encoder(model.get(), tokenizer.get(), options.has("--chat"), max_length);
  const EncodedData encoded = encoder.encode_all(data);

  const HeldOutLoss loss = held_out_loss(model.get(), adapter.get(), encoded, batch_size);
  nlohmann::json result{{"data", data.path},
                        {"format", format_name(data.format)},
                        {"rows", encoded.rows.size()},
                        {"truncated_rows", encoded.truncated_rows},
                        {"tokens", loss.tokens},
                        {"loss", loss.loss},
                        {"perplexity", std::exp(loss.loss)}};
  std::string accuracy_kind;
  if (data.format == DataFormat::Label) {
    const std::vector<std::string> labels = distinct_labels({&encoded});
    result["accuracy"] = label_accuracy(model.get(), adapter.get(), encoder, encoded, labels, batch_size);
    result["labels"] = labels;
    accuracy_kind = "the most likely of " + std::to_string(labels.size()) + " label words";
  } else if (options.has("--exact-match")) {
    size_t longest = 0;
    for (const EncodedRow& row : encoded.rows) longest = std::max(longest, row.target.size());
    const std::vector<std::string> lines =
        greedy_first_lines(model.get(), adapter.get(), tokenizer.get(), encoded, index_range(0, encoded.rows.size()),
                           static_cast<int32_t>(std::min<size_t>(longest + 8, 128)), batch_size);
    result["accuracy"] = exact_match(lines, encoded);
    accuracy_kind = "exact match of the greedy answer's first line";
  }
  if (options.has("--json")) {
    std::printf("%s\n", result.dump().c_str());
    return 0;
  }
  std::printf("data        %s (%zu rows, %s)\n", data.path.c_str(), encoded.rows.size(), format_name(data.format));
  if (encoded.truncated_rows > 0)
    std::printf("            %d rows cut to --max-length %d\n", encoded.truncated_rows, max_length);
  std::printf("loss        %.4f nats per target token\nperplexity  %.3f\ntokens      %lld\n", loss.loss,
              std::exp(loss.loss), static_cast<long long>(loss.tokens));
  if (result.contains("accuracy")) {
    std::printf("accuracy    %.1f%% (%s)\n", 100.0 * result["accuracy"].get<double>(), accuracy_kind.c_str());
  }
  return 0;
}

}  // namespace cli
