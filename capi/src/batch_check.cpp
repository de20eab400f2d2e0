#include "batch_check.h"

#include "handles.h"

#include <string>

#include "guard.h"
#include "params.h"

namespace sp::capi {

namespace {
std::string position(int64_t index, int64_t seq_len) {
  return "row " + std::to_string(index / seq_len) + ", position " + std::to_string(index % seq_len);
}

void check_count_of(const char* name, size_t given, int64_t needed, const char* needed_name) {
  if (given != static_cast<size_t>(needed))
    fail(ErrorKind::ShapeMismatch, std::string("batch->") + name + " has " + std::to_string(given) + " values but " +
                                       needed_name + " is " + std::to_string(needed));
}

void check_count(const char* name, size_t given, int64_t needed) {
  check_count_of(name, given, needed, "batch_size * seq_len");
}

// Every id of `count` in ids[] inside the vocabulary; `what` names them ("token id").
void check_ids(const int32_t* ids, int64_t count, int64_t row_length, int64_t vocab_size, const char* what) {
  for (int64_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= vocab_size)
      fail(ErrorKind::OutOfRange, std::string(what) + " " + std::to_string(ids[i]) + " at " + position(i, row_length) +
                                      " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
}

sp_batch read_batch(const sp_batch* given) {
  require_not_null(given, "batch");
  return read_params(given, sp_batch_init(), "sp_batch");
}

// What the labels of a batch are classes of: the vocabulary (causal LM), or a TOKEN_CLS head's classes.
struct LabelRange {
  int64_t limit;
  const char* noun;
};

// Everything but task ids and row labels, on a batch read once by read_batch.
engine::HostBatch checked_values(const sp_batch& batch, const engine::ModelInfo& model, LabelRange labels) {
  require_not_null(batch.input_ids, "batch->input_ids");
  require(batch.batch_size > 0, "batch->batch_size must be positive, got " + std::to_string(batch.batch_size));
  require(batch.seq_len > 0, "batch->seq_len must be positive, got " + std::to_string(batch.seq_len));
  const int64_t count = static_cast<int64_t>(batch.batch_size) * batch.seq_len;
  check_count("input_ids", batch.num_input_ids, count);
  if (batch.attention_mask) check_count("attention_mask", batch.num_attention_mask, count);
  // Encoder-decoder models: labels are the decoder's, of decoder_seq_len per row.
  const bool two_sides = model.is_encoder_decoder;
  require(two_sides || (batch.decoder_seq_len == 0 && !batch.decoder_input_ids),
          "batch->decoder_seq_len and decoder_input_ids are for encoder-decoder models; " + model.model_type +
              " has no decoder side (leave them 0 and NULL)");
  require(batch.decoder_seq_len >= 0,
          "batch->decoder_seq_len must not be negative, got " + std::to_string(batch.decoder_seq_len));
  require(!two_sides || batch.decoder_seq_len > 0 || (!batch.labels && !batch.decoder_input_ids),
          "batch->decoder_seq_len must be positive when the decoder's labels or decoder_input_ids are given");
  const int64_t label_row = two_sides ? batch.decoder_seq_len : batch.seq_len;
  const int64_t label_count = static_cast<int64_t>(batch.batch_size) * label_row;
  if (batch.labels)
    check_count_of("labels", batch.num_labels, label_count,
                   two_sides ? "batch_size * decoder_seq_len" : "batch_size * seq_len");
  if (batch.decoder_input_ids) {
    check_count_of("decoder_input_ids", batch.num_decoder_input_ids, label_count, "batch_size * decoder_seq_len");
    check_ids(batch.decoder_input_ids, label_count, label_row, model.vocab_size, "decoder input id");
  }
  if (batch.token_type_ids) {
    check_count("token_type_ids", batch.num_token_type_ids, count);
    require(model.type_vocab_size > 0,
            "batch->token_type_ids given, but " + model.model_type + " models have no token types (leave it NULL)");
    for (int64_t i = 0; i < count; ++i) {
      const int32_t type = batch.token_type_ids[i];
      if (type < 0 || type >= model.type_vocab_size)
        fail(ErrorKind::OutOfRange, "token type " + std::to_string(type) + " at " + position(i, batch.seq_len) +
                                        " is outside [0, type_vocab_size = " + std::to_string(model.type_vocab_size) +
                                        ")");
    }
  }

  check_ids(batch.input_ids, count, batch.seq_len, model.vocab_size, "token id");
  if (batch.attention_mask)
    for (int64_t i = 0; i < count; ++i)
      require(batch.attention_mask[i] == 0 || batch.attention_mask[i] == 1,
              "attention_mask value " + std::to_string(batch.attention_mask[i]) + " at " + position(i, batch.seq_len) +
                  " must be 0 or 1");
  if (batch.labels)
    for (int64_t i = 0; i < label_count; ++i) {
      const int32_t label = batch.labels[i];
      if (label != -100 && (label < 0 || label >= labels.limit))
        fail(ErrorKind::OutOfRange, "label " + std::to_string(label) + " at " + position(i, label_row) +
                                        " is neither -100 nor inside the " + labels.noun + " [0, " +
                                        std::to_string(labels.limit) + ")");
    }

  engine::HostBatch host;
  host.input_ids = batch.input_ids;
  host.attention_mask = batch.attention_mask;
  host.labels = batch.labels;
  host.token_type_ids = batch.token_type_ids;
  host.decoder_input_ids = batch.decoder_input_ids;
  host.batch_size = batch.batch_size;
  host.seq_len = batch.seq_len;
  host.decoder_seq_len = batch.decoder_seq_len;
  return host;
}

// Task ids of rows [0, batch_size) whose method has tasks (tasks_of_row > 0): required, in range.
template <class TasksOfRow>
void check_task_ids(const sp_batch& batch, TasksOfRow tasks_of_row, const std::string& whose) {
  for (int32_t row = 0; row < batch.batch_size; ++row) {
    const int64_t num_tasks = tasks_of_row(row);
    if (num_tasks == 0) continue;  // task ids are ignored by methods without tasks
    require(batch.task_ids != nullptr,
            whose + " has " + std::to_string(num_tasks) + " tasks and needs batch->task_ids (one task per row)");
    check_count_of("task_ids", batch.num_task_ids, batch.batch_size, "batch_size");
    if (batch.task_ids[row] < 0 || batch.task_ids[row] >= num_tasks)
      fail(ErrorKind::OutOfRange, "task id " + std::to_string(batch.task_ids[row]) + " of row " + std::to_string(row) +
                                      " is outside [0, num_tasks = " + std::to_string(num_tasks) + ")");
  }
}
}  // namespace

std::vector<std::shared_ptr<const engine::Adapter>> checked_adapters(const sp_adapter* const* handles, size_t count,
                                                                     int32_t rows, const std::string& name) {
  std::vector<std::shared_ptr<const engine::Adapter>> adapters;
  if (!handles) return adapters;
  check_count_of(("num_" + name).c_str(), count, rows, "the rows");
  for (int32_t row = 0; row < rows; ++row)
    adapters.push_back(handles[row] ? checked(handles[row], (name + "[" + std::to_string(row) + "]").c_str())
                                    : nullptr);
  return adapters;
}

engine::HostBatch checked_batch(const sp_batch* given, const engine::ModelInfo& model) {
  const sp_batch batch = read_batch(given);
  engine::HostBatch host = checked_values(batch, model, {model.vocab_size, "vocabulary"});
  host.row_adapters = checked_adapters(batch.row_adapters, batch.num_row_adapters, batch.batch_size, "row_adapters");
  const auto& adapters = host.row_adapters;
  check_task_ids(
      batch, [&](int32_t row) { return adapters.empty() || !adapters[row] ? 0 : adapters[row]->info().num_tasks; },
      "a row's adapter");
  if (!adapters.empty()) host.task_ids = batch.task_ids;
  return host;
}

engine::HostBatch checked_adapter_batch(const sp_batch* given, const engine::Adapter& adapter) {
  const sp_batch batch = read_batch(given);
  const engine::AdapterInfo& info = adapter.info();
  const LabelRange labels = info.task_type == SP_TASK_TOKEN_CLS
                                ? LabelRange{info.num_labels, "classes"}
                                : LabelRange{adapter.model().info().vocab_size, "vocabulary"};
  engine::HostBatch host = checked_values(batch, adapter.model().info(), labels);
  if (info.task_type == SP_TASK_SEQ_CLS && batch.row_labels) {
    check_count_of("row_labels", batch.num_row_labels, batch.batch_size, "batch_size");
    for (int32_t row = 0; row < batch.batch_size; ++row)
      if (batch.row_labels[row] < 0 || batch.row_labels[row] >= info.num_labels)
        fail(ErrorKind::OutOfRange, "row label " + std::to_string(batch.row_labels[row]) + " of row " +
                                        std::to_string(row) +
                                        " is outside [0, num_labels = " + std::to_string(info.num_labels) + ")");
    host.row_labels = batch.row_labels;
  }
  require(batch.row_adapters == nullptr,
          "batch->row_adapters is for the sp_model_* calls (each row names its adapter there); an adapter's own "
          "calls and training run every row with that adapter");
  if (info.num_tasks == 0) return host;
  check_task_ids(
      batch, [&](int32_t) { return info.num_tasks; }, "the adapter's method");
  host.task_ids = batch.task_ids;
  return host;
}

sp_logits_mode checked_logits_mode(sp_logits_mode mode) {
  require(mode == SP_LOGITS_LAST || mode == SP_LOGITS_ALL,
          "mode " + std::to_string(static_cast<int>(mode)) + " is not an sp_logits_mode");
  return mode;
}

}  // namespace sp::capi
