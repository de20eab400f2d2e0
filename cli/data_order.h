// The order training visits its rows: every epoch a fresh permutation drawn from a seeded
// generator (SplitMix64, so that the order is the same on every platform and compiler), visited
// batch by batch. Its whole state is three numbers, which a checkpoint stores to resume exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cli {

class DataOrder {
 public:
  DataOrder(uint64_t seed, size_t rows);

  // The next batch_size rows (fewer at an epoch's end); starts the next epoch when one is done.
  std::vector<size_t> next_batch(size_t batch_size);

  int64_t epoch() const { return epoch_; }             // 0-based epoch of the next batch
  size_t position() const { return position_; }        // rows of that epoch already visited
  uint64_t epoch_seed() const { return epoch_seed_; }  // generator state that drew this epoch

  // Back to a saved point (the three values above).
  void restore(int64_t epoch, size_t position, uint64_t epoch_seed);

 private:
  void draw_epoch();
  uint64_t generator_;
  uint64_t epoch_seed_ = 0;
  size_t rows_;
  int64_t epoch_ = 0;
  size_t position_ = 0;
  std::vector<size_t> order_;
};

// SplitMix64: advances *state and returns the next 64 random bits.
uint64_t splitmix64(uint64_t* state);

// A permutation of [0, rows) drawn from *state (Fisher-Yates).
std::vector<size_t> shuffled_indices(size_t rows, uint64_t* state);

}  // namespace cli
