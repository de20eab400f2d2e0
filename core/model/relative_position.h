// T5's relative position bias: each (query, key) pair's distance falls into one of a few buckets
// (exact for small distances, logarithmically wider up to max_distance, one shared bucket beyond),
// and each bucket has one learned score per head, added to the attention scores of every layer.
#pragma once

#include <ATen/ATen.h>

namespace sp::model {

// The bias of queries at positions first_query .. first_query + S - 1 over keys at 0 .. K - 1,
// (1, num_heads, S, K) in the table's dtype. table: (num_buckets, num_heads). Bidirectional (the
// encoder): keys after the query have buckets of their own; else (the decoder) they share the
// distance-0 bucket, as a causal mask hides them anyway.
at::Tensor relative_position_bias(const at::Tensor& table, int64_t first_query, int64_t S, int64_t K,
                                  bool bidirectional, int64_t max_distance);

}  // namespace sp::model
