#include "model/embedding_sample.h"

#include <cmath>
#include <limits>

namespace sp::model {

namespace {
constexpr int64_t kSampleRows = 64, kSampleColumns = 16;

// `count` indices spread evenly over [0, size), both ends included.
at::Tensor evenly_spaced(int64_t size, int64_t count) {
  count = std::min(size, count);
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < count; ++i) indices.push_back(count > 1 ? i * (size - 1) / (count - 1) : 0);
  return at::tensor(indices, at::kLong);
}
}  // namespace

std::vector<float> sample_embedding(const at::Tensor& embedding) {
  at::Tensor values = embedding.to(at::kCPU);
  values = values.index_select(0, evenly_spaced(values.size(0), kSampleRows));
  values = values.index_select(1, evenly_spaced(values.size(1), kSampleColumns));
  values = values.to(at::kFloat).contiguous();
  const float* data = values.data_ptr<float>();
  return std::vector<float>(data, data + values.numel());
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double difference = 0, reference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    difference += d * d;
    reference += static_cast<double>(b[i]) * static_cast<double>(b[i]);
  }
  if (reference == 0) return difference == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(difference / reference);
}

}  // namespace sp::model
