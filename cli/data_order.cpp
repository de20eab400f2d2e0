#include "data_order.h"

#include <numeric>
#include <utility>

namespace cli {

uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<size_t> shuffled_indices(size_t rows, uint64_t* state) {
  std::vector<size_t> order(rows);
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = rows; i > 1; --i) {
    std::swap(order[i - 1], order[static_cast<size_t>(splitmix64(state) % i)]);
  }
  return order;
}

DataOrder::DataOrder(uint64_t seed, size_t rows) : generator_(seed), rows_(rows) { draw_epoch(); }

void DataOrder::draw_epoch() {
  epoch_seed_ = generator_;
  order_ = shuffled_indices(rows_, &generator_);
  position_ = 0;
}

std::vector<size_t> DataOrder::next_batch(size_t batch_size) {
  if (position_ >= rows_) {
    ++epoch_;
    draw_epoch();
  }
  std::vector<size_t> batch;
  while (batch.size() < batch_size && position_ < rows_) batch.push_back(order_[position_++]);
  return batch;
}

void DataOrder::restore(int64_t epoch, size_t position, uint64_t epoch_seed) {
  generator_ = epoch_seed;
  draw_epoch();
  epoch_ = epoch;
  position_ = position;
}

}  // namespace cli
