// Rows of token ids to the library's padded batches: right padding (mask 0), labels -100 on the
// prompt and the padding, the target tokens as labels.
#pragma once

#include <cstdint>
#include <vector>

#include "encoding.h"

namespace cli {

struct PaddedBatch {
  int32_t rows = 0;
  int32_t seq_len = 0;
  int64_t targets = 0;  // tokens the loss counts
  int64_t tokens = 0;   // real (unpadded) tokens
  std::vector<int32_t> ids, mask, labels, tasks;

  // A view for the C API; valid while this object lives and is not changed.
  sp_batch view() const;
};

PaddedBatch make_batch(const EncodedData& data, const std::vector<size_t>& indices);

// Prompts (or continuations) laid end to end, as sp_prompts borrows them: for contexts.
struct PromptList {
  std::vector<int32_t> ids, lengths, tasks;
  void add(const std::vector<int32_t>& prompt, int32_t task);
  // A view for the C API; valid while this object lives and is not changed.
  sp_prompts view() const;
};

// The indices [begin, end) of data's rows, for walking a data set in order.
std::vector<size_t> index_range(size_t begin, size_t end);

}  // namespace cli
