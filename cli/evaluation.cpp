#include "evaluation.h"

#include <algorithm>

#include "batching.h"
#include "failures.h"
#include "handles.h"

namespace cli {

namespace {

Context make_context(sp_model* model, sp_adapter* adapter, int32_t batch_size, size_t max_length) {
  sp_context_params params = sp_context_default_params();
  params.max_batch_size = batch_size;
  params.max_length = static_cast<int32_t>(std::max<size_t>(max_length, 1));
  sp_context* context = nullptr;
  check(sp_context_create(&context, model, adapter, &params), "creating a context");
  return Context(context);
}

}  // namespace

HeldOutLoss held_out_loss(const sp_model* model, const sp_adapter* adapter, const EncodedData& data,
                          int32_t batch_size) {
  double negative_log_likelihood = 0;
  HeldOutLoss result;
  for (size_t begin = 0; begin < data.rows.size(); begin += static_cast<size_t>(batch_size)) {
    const PaddedBatch batch =
        make_batch(data, index_range(begin, std::min(data.rows.size(), begin + static_cast<size_t>(batch_size))));
    const sp_batch view = batch.view();
    std::vector<float> row_log_likelihood(static_cast<size_t>(batch.rows));
    float mean = 0;
    if (adapter != nullptr) {
      check(sp_adapter_eval_loss(adapter, &view, &mean, row_log_likelihood.data()), "evaluating the loss");
    } else {
      check(sp_model_eval_loss(model, &view, &mean, row_log_likelihood.data()), "evaluating the loss");
    }
    for (float value : row_log_likelihood) negative_log_likelihood -= value;
    result.tokens += batch.targets;
  }
  result.loss = result.tokens > 0 ? negative_log_likelihood / static_cast<double>(result.tokens) : 0.0;
  return result;
}

std::vector<std::string> distinct_labels(const std::vector<const EncodedData*>& data) {
  std::vector<std::string> labels;
  for (const EncodedData* set : data) {
    for (const std::string& label : set->completions) {
      if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    }
  }
  return labels;
}

double label_accuracy(sp_model* model, sp_adapter* adapter, const Encoder& encoder, const EncodedData& data,
                      const std::vector<std::string>& labels, int32_t batch_size, std::vector<std::string>* predicted) {
  std::vector<std::vector<int32_t>> label_ids;
  size_t longest_label = 0;
  for (const std::string& label : labels) {
    label_ids.push_back(encoder.completion_ids(label));
    longest_label = std::max(longest_label, label_ids.back().size());
  }
  size_t longest = 0;
  for (const EncodedRow& row : data.rows) longest = std::max(longest, row.prompt.size() + longest_label);
  Context context = make_context(model, adapter, batch_size, longest);
  size_t correct = 0;
  if (predicted) predicted->clear();
  for (size_t r = 0; r < data.rows.size(); ++r) {
    const EncodedRow& row = data.rows[r];
    PromptList prompts, continuations;
    for (const std::vector<int32_t>& ids : label_ids) {
      prompts.add(row.prompt, row.task);
      continuations.add(ids, row.task);
    }
    std::vector<float> scores(labels.size());
    const sp_prompts prompt_view = prompts.view(), continuation_view = continuations.view();
    check(sp_context_score(context.get(), &prompt_view, &continuation_view, scores.data(), scores.size()),
          "scoring the labels");
    const size_t best = static_cast<size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
    if (labels[best] == data.completions[r]) ++correct;
    if (predicted) predicted->push_back(labels[best]);
  }
  return data.rows.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(data.rows.size());
}

std::vector<std::string> greedy_first_lines(sp_model* model, sp_adapter* adapter, const sp_tokenizer* tokenizer,
                                            const EncodedData& data, const std::vector<size_t>& rows,
                                            int32_t max_new_tokens, int32_t batch_size) {
  size_t longest = 0;
  for (size_t index : rows) longest = std::max(longest, data.rows[index].prompt.size());
  Context context = make_context(model, adapter, batch_size, longest + static_cast<size_t>(max_new_tokens));
  const char* newline = "\n";
  sp_generate_params params = sp_generate_default_params();
  params.max_new_tokens = max_new_tokens;
  params.stop_strings = &newline;
  params.num_stop_strings = 1;
  std::vector<std::string> lines;
  for (size_t begin = 0; begin < rows.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(rows.size(), begin + static_cast<size_t>(batch_size));
    PromptList prompts;
    for (size_t i = begin; i < end; ++i) prompts.add(data.rows[rows[i]].prompt, data.rows[rows[i]].task);
    const size_t count = end - begin;
    std::vector<int32_t> ids(count * static_cast<size_t>(max_new_tokens)), counts(count);
    sp_generation result = sp_generation_init();
    result.ids = ids.data();
    result.ids_capacity = ids.size();
    result.counts = counts.data();
    result.rows_capacity = count;
    const sp_prompts view = prompts.view();
    check(sp_context_generate(context.get(), &view, &params, &result), "generating");
    for (size_t r = 0; r < count; ++r) {
      const auto first = ids.begin() + static_cast<std::ptrdiff_t>(r * static_cast<size_t>(max_new_tokens));
      lines.push_back(trimmed(first_line(decode(tokenizer, std::vector<int32_t>(first, first + counts[r])))));
    }
  }
  return lines;
}

double exact_match(const std::vector<std::string>& generated, const EncodedData& data) {
  size_t correct = 0;
  for (size_t r = 0; r < generated.size() && r < data.completions.size(); ++r) {
    if (generated[r] == trimmed(first_line(data.completions[r]))) ++correct;
  }
  return generated.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(generated.size());
}

std::string trimmed(const std::string& text) {
  const char* space = " \t\r\n\v\f";
  const size_t begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace cli
