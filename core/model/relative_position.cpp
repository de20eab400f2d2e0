#include "model/relative_position.h"

#include <cmath>

namespace sp::model {

namespace {

// transformers' T5Attention._relative_position_bucket, operation for operation (float32 logarithm,
// truncation towards zero), so that every distance lands in the same bucket.
at::Tensor relative_bucket(at::Tensor distance, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  at::Tensor buckets = at::zeros_like(distance);
  if (bidirectional) {
    num_buckets /= 2;
    buckets = distance.gt(0).to(at::kLong) * num_buckets;
    distance = distance.abs();
  } else {
    distance = -at::minimum(distance, at::zeros_like(distance));
  }
  const int64_t max_exact = num_buckets / 2;
  const at::Tensor is_small = distance.lt(max_exact);
  at::Tensor large = (at::log(distance.to(at::kFloat) / static_cast<double>(max_exact)) /
                      std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                      static_cast<double>(num_buckets - max_exact))
                         .to(at::kLong) +
                     max_exact;
  large = at::minimum(large, at::full_like(large, num_buckets - 1));
  return buckets + at::where(is_small, distance, large);
}

}  // namespace

at::Tensor relative_position_bias(const at::Tensor& table, int64_t first_query, int64_t S, int64_t K,
                                  bool bidirectional, int64_t max_distance) {
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(table.device());
  const at::Tensor queries = at::arange(first_query, first_query + S, long_options).unsqueeze(1);
  const at::Tensor keys = at::arange(K, long_options).unsqueeze(0);
  const at::Tensor buckets = relative_bucket(keys - queries, bidirectional, table.size(0), max_distance);
  return at::embedding(table, buckets).permute({2, 0, 1}).unsqueeze(0);
}

}  // namespace sp::model
