// softprompt train: JSONL data -> a trained soft prompt, with held-out evaluation, early stopping,
// exact checkpoints, metrics and a loss curve.
#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "batching.h"
#include "commands.h"
#include "data_order.h"
#include "evaluation.h"
#include "failures.h"
#include "loading.h"
#include "loss_plot.h"
#include "metrics_file.h"
#include "progress.h"
#include "train_setup.h"

namespace cli {

namespace {

const char* const kStateFormat = "softprompt-cli-train-state";

void append(std::vector<OptionSpec>& to, const std::vector<OptionSpec>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// What a checkpoint stores beside the trainer's state (sp_trainer_save_state's user_state): where
// the data order stands, early stopping's memory, and the settings a resumed run must share.
struct RunState {
  int64_t epoch = 0;
  size_t position = 0;
  uint64_t epoch_seed = 0;
  bool has_best = false;
  double best_eval = 0;
  int64_t best_step = 0;
  int64_t evals_since_best = 0;
  int64_t updates_done = 0;
  nlohmann::json settings;  // total updates, batch size, rows, seed, accumulation

  std::string to_json() const {
    nlohmann::json state{{"format", kStateFormat},
                         {"version", 1},
                         {"epoch", epoch},
                         {"position", position},
                         {"epoch_seed", std::to_string(epoch_seed)},
                         {"evals_since_best", evals_since_best},
                         {"best_step", best_step},
                         {"updates_done", updates_done},
                         {"settings", settings}};
    if (has_best) state["best_eval"] = best_eval;
    return state.dump();
  }
};

RunState run_state_from_json(const std::string& text, const std::string& path) {
  const nlohmann::json state = nlohmann::json::parse(text, nullptr, false);
  if (!state.is_object() || state.value("format", "") != kStateFormat) {
    throw RuntimeFailure("--resume: " + path + " is a trainer state, but not one written by `softprompt train`");
  }
  RunState run;
  try {
    run.epoch = state.at("epoch").get<int64_t>();
    run.position = state.at("position").get<size_t>();
    run.epoch_seed = std::stoull(state.at("epoch_seed").get<std::string>());
    run.evals_since_best = state.at("evals_since_best").get<int64_t>();
    run.best_step = state.at("best_step").get<int64_t>();
    run.updates_done = state.at("updates_done").get<int64_t>();
    run.has_best = state.contains("best_eval");
    if (run.has_best) run.best_eval = state.at("best_eval").get<double>();
    run.settings = state.at("settings");
  } catch (const std::exception& error) {
    throw RuntimeFailure("--resume: " + path + ": malformed run state (" + error.what() + ")");
  }
  return run;
}

// Rows split off for evaluation with --eval-split: a seeded permutation, the first part held out.
void split_rows(Dataset& train, double fraction, uint64_t seed, Dataset* held_out) {
  const size_t rows = train.rows.size();
  size_t held = static_cast<size_t>(std::llround(fraction * static_cast<double>(rows)));
  if (held == 0) held = 1;
  if (held >= rows) throw RuntimeFailure("--eval-split " + std::to_string(fraction) + " leaves no training rows");
  uint64_t state = seed ^ 0x5EEDu;
  const std::vector<size_t> order = shuffled_indices(rows, &state);
  held_out->path = train.path + " (eval split)";
  held_out->format = train.format;
  std::vector<Example> kept;
  std::vector<bool> is_held(rows, false);
  for (size_t i = 0; i < held; ++i) is_held[order[i]] = true;
  for (size_t r = 0; r < rows; ++r) (is_held[r] ? held_out->rows : kept).push_back(train.rows[r]);
  train.rows = std::move(kept);
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * fraction);
  return text;
}

// Before/after figures on the held-out rows.
struct Measurements {
  HeldOutLoss loss;
  bool has_accuracy = false;
  double accuracy = 0;
  std::vector<std::string> samples;  // greedy first lines: of every row (prompt/completion), of the first rows (labels)
};

struct Judge {
  sp_model* model;
  const sp_tokenizer* tokenizer;
  const Encoder* encoder;
  const EncodedData* data;
  std::vector<std::string> labels;
  int32_t batch_size;
  size_t sample_rows;
  int32_t max_new_tokens;

  Measurements measure(sp_adapter* adapter) const {
    Measurements result;
    result.loss = held_out_loss(model, adapter, *data, batch_size);
    if (data->format == DataFormat::Label) {
      result.has_accuracy = true;
      result.accuracy = label_accuracy(model, adapter, *encoder, *data, labels, batch_size);
    }
    if (data->format == DataFormat::PromptCompletion) {
      const std::vector<std::string> lines = greedy_first_lines(
          model, adapter, tokenizer, *data, index_range(0, data->rows.size()), max_new_tokens, batch_size);
      result.has_accuracy = true;
      result.accuracy = exact_match(lines, *data);
      result.samples = lines;
    } else if (data->format == DataFormat::Label && sample_rows > 0) {
      result.samples =
          greedy_first_lines(model, adapter, tokenizer, *data, index_range(0, std::min(sample_rows, data->rows.size())),
                             max_new_tokens, batch_size);
    }
    return result;
  }
};

void print_comparison(const Dataset& held_out, const EncodedData& data, const Measurements& before,
                      const Measurements& after, const std::string& accuracy_kind, size_t sample_rows) {
  std::printf("\nheld-out: %s, %zu rows, %lld target tokens\n", held_out.path.c_str(), data.rows.size(),
              static_cast<long long>(after.loss.tokens));
  std::printf("  loss      base model %.4f  ->  trained %.4f   (perplexity %.2f -> %.2f)\n", before.loss.loss,
              after.loss.loss, std::exp(before.loss.loss), std::exp(after.loss.loss));
  if (after.has_accuracy) {
    std::printf("  accuracy  base model %s  ->  trained %s   (%s)\n", percent(before.accuracy).c_str(),
                percent(after.accuracy).c_str(), accuracy_kind.c_str());
  }
  // Rows whose answer training changed come first: they show what the soft prompt did.
  std::vector<size_t> shown;
  const size_t available = std::min(after.samples.size(), before.samples.size());
  for (int changed = 1; changed >= 0; --changed)
    for (size_t i = 0; i < available && shown.size() < sample_rows; ++i)
      if ((before.samples[i] != after.samples[i]) == (changed == 1)) shown.push_back(i);
  if (!shown.empty()) {
    std::printf("\ngenerations (greedy, first line) before -> after training:\n");
    for (size_t i : shown) {
      const Example& example = held_out.rows[i];
      std::printf("  prompt:   %s\n  before:   %s\n  after:    %s\n  expected: %s\n\n", trimmed(example.prompt).c_str(),
                  before.samples[i].c_str(), after.samples[i].c_str(), trimmed(first_line(example.completion)).c_str());
    }
  }
}

}  // namespace

CommandSpec train_spec() {
  CommandSpec spec;
  spec.name = "train";
  spec.summary =
      "Trains a soft prompt on a frozen model. Data: JSON Lines, one object per line, all of one format:\n"
      "  {\"prompt\": ..., \"completion\": ...}  loss on the completion only\n"
      "  {\"text\": ...}                        loss on every token\n"
      "  {\"text\": ..., \"label\": ...}          classification: the label word is the completion\n"
      "A row may add \"task\": N (mpt). Every line is checked before training; a bad one is reported as\n"
      "FILE:LINE.";
  spec.options = model_options();
  append(spec.options, {
                           {"--data", "FILE.jsonl", "training data (required)"},
                           {"--eval-data", "FILE.jsonl", "held-out data for eval loss and the before/after report"},
                           {"--eval-split", "FRACTION", "hold out this fraction of --data instead (seeded by --seed)"},
                           {"--output", "PATH",
                            "where the adapter goes: a folder (an existing one, or PATH ending in\n"
                            "'/') gets PEFT's layout, any other path the single file. With eval\n"
                            "data it holds the best adapter (lowest eval loss)"},
                       });
  append(spec.options, method_options());
  append(spec.options, {
                           {"--steps", "N", "optimizer updates to run"},
                           {"--epochs", "N", "passes over the data instead of --steps (default 1)"},
                           {"--batch-size", "N", "rows per micro-batch (default 8)"},
                       });
  append(spec.options, optimiser_options());
  append(spec.options,
         {
             {"--eval-every", "N",
              "eval loss every N updates (and at the start and the end); default: a\n"
              "tenth of the run"},
             {"--patience", "K", "stop after K evaluations without a lower eval loss (0 = never; default)"},
             {"--checkpoint", "FILE", "write the trainer state (adapter, optimizer, data order) here"},
             {"--checkpoint-every", "N", "every N updates (default: only when the run ends)"},
             {"--resume", "FILE",
              "continue from a checkpoint; with the same data and options the result\n"
              "is the same adapter, bit for bit, as an uninterrupted run"},
             {"--stop-after", "N", "end this run after N updates of the planned schedule (then --resume)"},
             {"--metrics", "FILE.jsonl", "one JSON object per update and per evaluation"},
             {"--plot", "FILE.svg", "the loss curve (train and eval loss against the step)"},
             {"--seed", "N",
              "seed of the adapter's initial values, the data order and --eval-split\n"
              "(default 42)"},
             {"--max-length", "N",
              "tokens per row at most; longer rows lose the prompt's start, then the\n"
              "completion's end (reported; default 512)"},
             {"--chat", "",
              "format rows with the model's chat template: the prompt as the user's\n"
              "message, the completion as the answer ending with the end-of-turn token"},
             {"--samples", "N", "held-out generations to show before and after (default 3)"},
         });
  spec.epilogue =
      "At the end it prints the held-out loss (and accuracy where the data allows: label data by the\n"
      "most likely label word, prompt/completion data by exact match of the greedy answer's first line)\n"
      "for the base model without a soft prompt and for the trained one.\n\n"
      "example:\n"
      "  softprompt train --data examples/data/train.jsonl --eval-data examples/data/test.jsonl \\\n"
      "      --chat --steps 100 --output my-prompt.spa --metrics m.jsonl --plot loss.svg";
  return spec;
}

int run_train(const ParsedOptions& options) {
  // Everything the command line says, checked before anything is loaded.
  if (!options.has("--data")) throw UsageError("--data FILE.jsonl is required");
  if (options.has("--eval-data") && options.has("--eval-split")) {
    throw UsageError("--eval-data and --eval-split exclude each other");
  }
  if (options.has("--steps") && options.has("--epochs")) throw UsageError("--steps and --epochs exclude each other");
  const AdapterSettings adapter_settings_ = adapter_settings(options);
  const uint64_t seed = adapter_settings_.params.seed;
  const int64_t steps_option = options.integer("--steps", 0, 1, INT32_MAX);
  const int64_t epochs = options.integer("--epochs", 1, 1, 1 << 20);
  const int32_t batch_size = static_cast<int32_t>(options.integer("--batch-size", 8, 1, 4096));
  const int64_t accumulation = options.integer("--accumulation-steps", 1, 1, 1 << 20);
  const int64_t patience = options.integer("--patience", 0, 0, INT32_MAX);
  const int64_t checkpoint_every = options.integer("--checkpoint-every", 0, 1, INT32_MAX);
  const int64_t stop_after = options.integer("--stop-after", 0, 1, INT32_MAX);
  const int32_t max_length = static_cast<int32_t>(options.integer("--max-length", 512, 2, 1 << 20));
  const size_t sample_rows = static_cast<size_t>(options.integer("--samples", 3, 0, 1000));
  const double eval_split = options.number("--eval-split", 0, 1e-9, 0.999999);
  const std::string checkpoint = options.text("--checkpoint");
  if (options.has("--checkpoint-every") && checkpoint.empty())
    throw UsageError("--checkpoint-every needs --checkpoint");
  if (options.has("--stop-after") && checkpoint.empty()) throw UsageError("--stop-after needs --checkpoint FILE");
  const std::string output = options.text("--output");
  trainer_settings(options, adapter_settings_.method, 1);  // its options' mistakes before anything loads

  // The data, read and checked whole before training.
  Dataset train_data = read_jsonl(options.text("--data"));
  Dataset held_out;
  const bool has_held_out = options.has("--eval-data") || options.has("--eval-split");
  if (options.has("--eval-data")) {
    held_out = read_jsonl(options.text("--eval-data"));
    if (held_out.format != train_data.format) {
      throw RuntimeFailure(held_out.path + ": " + format_name(held_out.format) + " rows, but " + train_data.path +
                           " has " + format_name(train_data.format) + " rows");
    }
  } else if (options.has("--eval-split")) {
    split_rows(train_data, eval_split, seed, &held_out);
  }

  Model model = load_model(options);
  Tokenizer tokenizer = model_tokenizer(model.get(), "training on text");
  const Encoder encoder(model.get(), tokenizer.get(), options.has("--chat"), max_length);
  const EncodedData train = encoder.encode_all(train_data);
  const EncodedData eval = has_held_out ? encoder.encode_all(held_out) : train;
  const Dataset& report_data = has_held_out ? held_out : train_data;
  for (const EncodedData* set : {&train, &eval}) {
    if (set->truncated_rows > 0) {
      std::fprintf(stderr, "softprompt train: %s: %d rows longer than --max-length %d tokens were cut\n",
                   set->path.c_str(), set->truncated_rows, max_length);
    }
    for (const EncodedRow& row : set->rows) {
      if (row.task >= adapter_settings_.params.num_tasks && adapter_settings_.method == "mpt") {
        throw RuntimeFailure(set->path + ":" + std::to_string(row.line) + ": task " + std::to_string(row.task) +
                             " is not below --num-tasks " + std::to_string(adapter_settings_.params.num_tasks));
      }
    }
  }

  // The run's length in optimizer updates.
  const int64_t batches_per_epoch = (static_cast<int64_t>(train.rows.size()) + batch_size - 1) / batch_size;
  const int64_t total_updates =
      steps_option > 0 ? steps_option : std::max<int64_t>(1, epochs * batches_per_epoch / accumulation);
  const int64_t eval_every = options.integer("--eval-every", std::max<int64_t>(1, total_updates / 10), 1, INT32_MAX);

  sp_adapter* raw_adapter = nullptr;
  check(sp_adapter_create(&raw_adapter, model.get(), &adapter_settings_.params), "creating the adapter");
  Adapter adapter(raw_adapter);
  const sp_trainer_params trainer_params = trainer_settings(options, adapter_settings_.method, total_updates);
  sp_trainer* raw_trainer = nullptr;
  check(sp_trainer_create(&raw_trainer, adapter.get(), &trainer_params), "creating the trainer");
  Trainer trainer(raw_trainer);

  RunState run;
  run.settings = {{"total_updates", total_updates},     {"batch_size", batch_size},
                  {"accumulation_steps", accumulation}, {"train_rows", train.rows.size()},
                  {"seed", std::to_string(seed)},       {"method", adapter_settings_.method}};
  DataOrder order(seed, train.rows.size());
  int64_t updates_done = 0;
  if (options.has("--resume")) {
    const std::string path = options.text("--resume");
    size_t user_size = 0;
    sp_status sized = sp_trainer_load_state(trainer.get(), path.c_str(), nullptr, 0, &user_size);
    std::string user_state(user_size, '\0');
    if (sized == SP_ERR_BUFFER_TOO_SMALL) {
      sized = sp_trainer_load_state(trainer.get(), path.c_str(), user_state.data(), user_state.size(), &user_size);
    }
    check(sized, "--resume " + path);
    const nlohmann::json wanted = run.settings;
    run = run_state_from_json(user_state, path);
    for (const auto& item : wanted.items()) {
      if (run.settings.value(item.key(), nlohmann::json()) != item.value()) {
        throw RuntimeFailure("--resume: " + path + " was written by a run with " + item.key() + " " +
                             run.settings.value(item.key(), nlohmann::json()).dump() + ", this one has " +
                             item.value().dump() + ": resume with the options and data of the first run");
      }
    }
    order.restore(run.epoch, run.position, run.epoch_seed);
    updates_done = run.updates_done;
  }

  // The best adapter so far lives at --output (or a temporary file without one).
  const std::string best_path =
      !output.empty()
          ? output
          : (std::filesystem::temp_directory_path() / ("softprompt-best-" + std::to_string(getpid()) + ".spa"))
                .string();
  const bool temporary_best = output.empty();

  std::printf("softprompt %s: %s on %zu rows (%s), %lld updates of %d rows%s\n", sp_version(),
              adapter_settings_.method.c_str(), train.rows.size(), format_name(train.format),
              static_cast<long long>(total_updates), batch_size,
              accumulation > 1 ? (" x " + std::to_string(accumulation) + " micro-batches").c_str() : "");
  std::fflush(stdout);

  // Before: the base model alone on the held-out rows.
  Judge judge{model.get(), tokenizer.get(), &encoder, &eval, distinct_labels({&train, &eval}),
              batch_size,  sample_rows,     0};
  size_t longest_target = 0;
  for (const EncodedRow& row : eval.rows) longest_target = std::max(longest_target, row.target.size());
  judge.max_new_tokens = static_cast<int32_t>(std::min<size_t>(longest_target + 8, 128));
  const Measurements before = judge.measure(nullptr);

  LossHistory history;
  MetricsFile metrics(options.text("--metrics"), options.has("--resume") ? updates_done : -1, &history);
  auto evaluate = [&](int64_t step, Progress* progress) {
    const HeldOutLoss loss = held_out_loss(model.get(), adapter.get(), eval, batch_size);
    metrics.eval_row(step, loss.loss, loss.tokens);
    history.eval.push_back({step, loss.loss});
    char line[160];
    const bool improved = !run.has_best || loss.loss < run.best_eval;
    std::snprintf(line, sizeof line, "eval at step %lld: loss %.4f%s", static_cast<long long>(step), loss.loss,
                  improved ? " (best so far)" : "");
    if (progress) progress->note(line);
    if (improved) {
      run.has_best = true;
      run.best_eval = loss.loss;
      run.best_step = step;
      run.evals_since_best = 0;
      save_adapter(adapter.get(), best_path);
    } else {
      ++run.evals_since_best;
    }
  };
  auto save_checkpoint = [&]() {
    run.epoch = order.epoch();
    run.position = order.position();
    run.epoch_seed = order.epoch_seed();
    run.updates_done = updates_done;
    const std::string user_state = run.to_json();
    check(sp_trainer_save_state(trainer.get(), checkpoint.c_str(), user_state.data(), user_state.size()),
          "--checkpoint " + checkpoint);
  };

  Progress progress(updates_done, total_updates);
  if (has_held_out && updates_done == 0) evaluate(0, &progress);
  const int64_t last_update = stop_after > 0 ? std::min(total_updates, updates_done + stop_after) : total_updates;
  bool stopped_early = false;
  bool evaluated_last = true;  // at step 0 above, or by the run that wrote the checkpoint
  while (updates_done < last_update && !stopped_early) {
    const auto started = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t tokens = 0;
    sp_train_result result = sp_train_result_init();
    for (int64_t micro = 0; micro < accumulation; ++micro) {
      const PaddedBatch batch = make_batch(train, order.next_batch(static_cast<size_t>(batch_size)));
      const sp_batch view = batch.view();
      result = sp_train_result_init();
      check(sp_trainer_step(trainer.get(), &view, &result), "training step " + std::to_string(updates_done + 1));
      loss_sum += result.loss;
      tokens += batch.tokens;
    }
    updates_done = result.updates_done;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double loss = loss_sum / static_cast<double>(accumulation);
    const double tokens_per_second = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
    metrics.train_row(updates_done, order.epoch(), loss, result.learning_rate, result.grad_norm, tokens_per_second);
    history.train.push_back({updates_done, loss});
    progress.update(updates_done, loss, tokens_per_second);
    evaluated_last = false;
    if (has_held_out && updates_done % eval_every == 0) {
      evaluate(updates_done, &progress);
      evaluated_last = true;
      if (patience > 0 && run.evals_since_best >= patience) {
        stopped_early = true;
        char line[160];
        std::snprintf(line, sizeof line,
                      "early stop at step %lld: %lld evaluations without improvement (best %.4f at step %lld)",
                      static_cast<long long>(updates_done), static_cast<long long>(run.evals_since_best), run.best_eval,
                      static_cast<long long>(run.best_step));
        progress.note(line);
      }
    }
    if (!checkpoint.empty() && checkpoint_every > 0 && updates_done % checkpoint_every == 0) save_checkpoint();
  }
  // The closing evaluation only when the run is over: a run cut by --stop-after leaves the eval
  // history exactly as the uninterrupted run has it at that step.
  const bool finished = stopped_early || updates_done >= total_updates;
  if (has_held_out && !evaluated_last && finished) evaluate(updates_done, &progress);
  progress.finish();
  if (!checkpoint.empty()) save_checkpoint();
  if (!has_held_out) save_adapter(adapter.get(), best_path);
  if (options.has("--plot")) write_loss_plot(options.text("--plot"), history);

  // After: the saved adapter (the best one when there was held-out data; the current one when a
  // resumed run without --output has not improved on the first run's best).
  std::error_code missing;
  Adapter best = std::filesystem::exists(best_path, missing) ? load_adapter(model.get(), best_path) : Adapter();
  const Measurements after = judge.measure(best ? best.get() : adapter.get());
  const std::string accuracy_kind = eval.format == DataFormat::Label
                                        ? "the most likely of " + std::to_string(judge.labels.size()) + " label words"
                                        : "exact match of the greedy answer's first line";
  print_comparison(report_data, eval, before, after, accuracy_kind, sample_rows);
  if (!has_held_out) std::printf("  (no --eval-data or --eval-split: these figures are on the training rows)\n");
  if (temporary_best) {
    std::error_code ignored;
    std::filesystem::remove(best_path, ignored);
    std::printf("not saved (no --output)\n");
  } else if (has_held_out) {
    std::printf("saved %s: the adapter of step %lld (eval loss %.4f)\n", output.c_str(),
                static_cast<long long>(run.best_step), run.best_eval);
  } else {
    std::printf("saved %s\n", output.c_str());
  }
  if (stop_after > 0 && updates_done < total_updates) {
    std::printf("stopped after %lld of %lld updates; continue with --resume %s\n", static_cast<long long>(updates_done),
                static_cast<long long>(total_updates), checkpoint.c_str());
  }
  return 0;
}

}  // namespace cli
