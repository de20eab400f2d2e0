// Word -> ids memo shared by every thread that encodes with one model. Natural text repeats its
// words, so most words are looked up here instead of being merged (BPE) or segmented (Unigram)
// again. Sharded by hash under one mutex per shard, so threads rarely wait on each other; bounded
// (a full shard stops taking new words, as `tokenizers`' cache stops at its capacity), and only
// words shorter than kMaxWordBytes are kept (as `tokenizers`' MAX_LENGTH). The cache never
// changes a result, only how fast it comes.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_tables.h"

namespace sp::tok {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 256;
  static constexpr size_t kShards = 16;
  static constexpr size_t kWordsPerShard = 16384;

  // Appends the cached ids of `word` to `ids`; false when the word is not cached.
  bool lookup(std::string_view word, uint64_t hash, std::vector<int32_t>& ids) const {
    const Shard& shard = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.slots.empty()) return false;
    size_t mask = shard.slots.size() - 1;
    for (size_t slot = (hash >> 8) & mask;; slot = (slot + 1) & mask) {
      int32_t entry = shard.slots[slot];
      if (entry < 0) return false;
      const Entry& found = shard.entries[entry];
      if (found.hash == hash && found.word == word) {
        ids.insert(ids.end(), shard.ids.begin() + found.first_id, shard.ids.begin() + found.first_id + found.id_count);
        return true;
      }
    }
  }

  void store(std::string_view word, uint64_t hash, const int32_t* ids, size_t count) {
    if (word.size() >= kMaxWordBytes) return;
    Shard& shard = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.entries.size() >= kWordsPerShard) return;
    if (shard.slots.empty()) shard.slots.assign(table_capacity_for(kWordsPerShard), -1);
    size_t mask = shard.slots.size() - 1;
    size_t slot = (hash >> 8) & mask;
    for (; shard.slots[slot] >= 0; slot = (slot + 1) & mask) {
      const Entry& found = shard.entries[shard.slots[slot]];
      if (found.hash == hash && found.word == word) return;  // another thread was first
    }
    shard.slots[slot] = static_cast<int32_t>(shard.entries.size());
    shard.entries.push_back(
        Entry{hash, std::string(word), static_cast<uint32_t>(shard.ids.size()), static_cast<uint32_t>(count)});
    shard.ids.insert(shard.ids.end(), ids, ids + count);
  }

 private:
  struct Entry {
    uint64_t hash;
    std::string word;
    uint32_t first_id;  // into Shard::ids
    uint32_t id_count;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::vector<int32_t> slots;  // open addressing over entries
    std::vector<Entry> entries;
    std::vector<int32_t> ids;  // every entry's ids, back to back
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace sp::tok
