#include "batching.h"

#include <algorithm>

namespace cli {

sp_batch PaddedBatch::view() const {
  sp_batch batch = sp_batch_init();
  batch.batch_size = rows;
  batch.seq_len = seq_len;
  batch.input_ids = ids.data();
  batch.num_input_ids = ids.size();
  batch.attention_mask = mask.data();
  batch.num_attention_mask = mask.size();
  batch.labels = labels.data();
  batch.num_labels = labels.size();
  batch.task_ids = tasks.data();
  batch.num_task_ids = tasks.size();
  return batch;
}

PaddedBatch make_batch(const EncodedData& data, const std::vector<size_t>& indices) {
  PaddedBatch batch;
  batch.rows = static_cast<int32_t>(indices.size());
  for (size_t index : indices) {
    const EncodedRow& row = data.rows[index];
    batch.seq_len = std::max(batch.seq_len, static_cast<int32_t>(row.prompt.size() + row.target.size()));
  }
  const size_t cells = static_cast<size_t>(batch.rows) * static_cast<size_t>(batch.seq_len);
  batch.ids.assign(cells, 0);
  batch.mask.assign(cells, 0);
  batch.labels.assign(cells, -100);
  for (size_t r = 0; r < indices.size(); ++r) {
    const EncodedRow& row = data.rows[indices[r]];
    size_t at = r * static_cast<size_t>(batch.seq_len);
    for (int32_t id : row.prompt) {
      batch.ids[at] = id;
      batch.mask[at++] = 1;
    }
    for (int32_t id : row.target) {
      batch.ids[at] = id;
      batch.labels[at] = id;
      batch.mask[at++] = 1;
    }
    batch.targets += static_cast<int64_t>(row.target.size());
    batch.tokens += static_cast<int64_t>(row.prompt.size() + row.target.size());
    batch.tasks.push_back(row.task);
  }
  return batch;
}

void PromptList::add(const std::vector<int32_t>& prompt, int32_t task) {
  ids.insert(ids.end(), prompt.begin(), prompt.end());
  lengths.push_back(static_cast<int32_t>(prompt.size()));
  tasks.push_back(task);
}

sp_prompts PromptList::view() const {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = static_cast<int32_t>(lengths.size());
  prompts.ids = ids.data();
  prompts.num_ids = ids.size();
  prompts.lengths = lengths.data();
  prompts.num_lengths = lengths.size();
  prompts.task_ids = tasks.data();
  prompts.num_task_ids = tasks.size();
  return prompts;
}

std::vector<size_t> index_range(size_t begin, size_t end) {
  std::vector<size_t> indices;
  for (size_t i = begin; i < end; ++i) indices.push_back(i);
  return indices;
}

}  // namespace cli
