// The lookup tables of the vocabulary models, built once at load and read on every word: open
// addressing in flat arrays (no node per entry, no std::string built for a lookup), because the
// models look up every character, merge pair and trie edge of every word they have not cached.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sp::tok {

// 64-bit hash of a byte string, 8 bytes per step (words are short; this is not for hostile
// collision resistance, only spread).
inline uint64_t hash_bytes(std::string_view text) {
  constexpr uint64_t kMultiplier = 0x9E3779B97F4A7C15ull;
  uint64_t hash = 0x243F6A8885A308D3ull ^ (text.size() * kMultiplier);
  const char* data = text.data();
  size_t left = text.size();
  while (left >= 8) {
    uint64_t chunk;
    std::memcpy(&chunk, data, 8);
    hash = (hash ^ chunk) * kMultiplier;
    hash ^= hash >> 29;
    data += 8;
    left -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data, left);
  hash = (hash ^ tail) * kMultiplier;
  hash ^= hash >> 32;
  hash *= 0xD6E8FEB86659FD93ull;
  return hash ^ (hash >> 29);
}

inline size_t table_capacity_for(size_t entries) {
  size_t capacity = 16;
  while (capacity < entries * 2) capacity *= 2;  // load factor at most 1/2
  return capacity;
}

// Unsigned 64-bit keys (never all ones) to a small value: merge pairs (left id, right id) and trie
// edges (node, byte).
template <typename Value>
class U64Map {
 public:
  static constexpr uint64_t kEmpty = ~0ull;

  explicit U64Map(size_t expected = 0) { rehash(table_capacity_for(expected)); }

  // Inserts or overwrites.
  void put(uint64_t key, Value value) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.size() * 2);
    size_t slot = find_slot(key);
    if (keys_[slot] == kEmpty) {
      keys_[slot] = key;
      ++size_;
    }
    values_[slot] = value;
  }

  const Value* get(uint64_t key) const {
    size_t slot = find_slot(key);
    return keys_[slot] == kEmpty ? nullptr : &values_[slot];
  }

  size_t size() const { return size_; }

 private:
  size_t find_slot(uint64_t key) const {
    size_t mask = keys_.size() - 1;
    size_t slot = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (keys_[slot] != kEmpty && keys_[slot] != key) slot = (slot + 1) & mask;
    return slot;
  }

  void rehash(size_t capacity) {
    std::vector<uint64_t> old_keys(capacity, kEmpty);
    std::vector<Value> old_values(capacity);
    old_keys.swap(keys_);
    old_values.swap(values_);
    size_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i)
      if (old_keys[i] != kEmpty) put(old_keys[i], old_values[i]);
  }

  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t size_ = 0;
};

// A vocabulary: token strings to ids, looked up by string_view, and ids back to strings. When two
// strings carry one id, id_to_token gives the first inserted.
class VocabMap {
 public:
  void reserve(size_t entries) {
    tokens_.reserve(entries);
    ids_.reserve(entries);
    if (table_capacity_for(entries) > slots_.size()) rehash(table_capacity_for(entries));
  }

  // Inserts `token` with `id`, or gives an existing token the new id (a later entry wins, as a
  // Rust map filled in order does).
  void insert(std::string_view token, int32_t id) {
    if ((tokens_.size() + 1) * 2 > slots_.size()) rehash(table_capacity_for(tokens_.size() + 1));
    uint64_t hash = hash_bytes(token);
    size_t slot = find_slot(token, hash);
    if (slots_[slot].entry >= 0) {
      ids_[slots_[slot].entry] = id;
    } else {
      slots_[slot] = Slot{static_cast<uint32_t>(hash >> 32), static_cast<int32_t>(tokens_.size())};
      tokens_.emplace_back(token);
      ids_.push_back(id);
    }
    if (id > max_id_) max_id_ = id;
  }

  std::optional<int32_t> find(std::string_view token) const {
    if (tokens_.empty()) return std::nullopt;
    size_t slot = find_slot(token, hash_bytes(token));
    if (slots_[slot].entry < 0) return std::nullopt;
    return ids_[slots_[slot].entry];
  }

  // Builds the reverse table; call once after the last insert.
  void finish() {
    reverse_dense_ = max_id_ < static_cast<int64_t>(tokens_.size()) * 2 + 1024;
    if (reverse_dense_) {
      by_id_.assign(static_cast<size_t>(max_id_ + 1), -1);
      for (size_t i = 0; i < tokens_.size(); ++i)
        if (by_id_[ids_[i]] < 0) by_id_[ids_[i]] = static_cast<int32_t>(i);
    } else {
      sparse_by_id_ = U64Map<int32_t>(tokens_.size());
      for (size_t i = tokens_.size(); i-- > 0;)
        sparse_by_id_.put(static_cast<uint64_t>(ids_[i]), static_cast<int32_t>(i));
    }
  }

  const std::string* token(int32_t id) const {
    if (id < 0) return nullptr;
    if (reverse_dense_) {
      if (id >= static_cast<int64_t>(by_id_.size()) || by_id_[id] < 0) return nullptr;
      return &tokens_[by_id_[id]];
    }
    const int32_t* entry = sparse_by_id_.get(static_cast<uint64_t>(id));
    return entry ? &tokens_[*entry] : nullptr;
  }

  size_t size() const { return tokens_.size(); }
  // Largest id + 1 (0 when empty).
  int64_t id_bound() const { return static_cast<int64_t>(max_id_) + 1; }
  // The longest token in bytes.
  size_t longest() const {
    size_t longest = 0;
    for (const auto& token : tokens_) longest = token.size() > longest ? token.size() : longest;
    return longest;
  }

 private:
  struct Slot {
    uint32_t hash_high = 0;
    int32_t entry = -1;
  };

  size_t find_slot(std::string_view token, uint64_t hash) const {
    size_t mask = slots_.size() - 1;
    size_t slot = static_cast<size_t>(hash) & mask;
    uint32_t high = static_cast<uint32_t>(hash >> 32);
    while (slots_[slot].entry >= 0 && (slots_[slot].hash_high != high || tokens_[slots_[slot].entry] != token))
      slot = (slot + 1) & mask;
    return slot;
  }

  void rehash(size_t capacity) {
    slots_.assign(capacity, Slot{});
    size_t mask = capacity - 1;
    for (size_t i = 0; i < tokens_.size(); ++i) {
      uint64_t hash = hash_bytes(tokens_[i]);
      size_t slot = static_cast<size_t>(hash) & mask;
      while (slots_[slot].entry >= 0) slot = (slot + 1) & mask;
      slots_[slot] = Slot{static_cast<uint32_t>(hash >> 32), static_cast<int32_t>(i)};
    }
  }

  std::vector<Slot> slots_;
  std::vector<std::string> tokens_;
  std::vector<int32_t> ids_;
  int32_t max_id_ = -1;
  bool reverse_dense_ = true;
  std::vector<int32_t> by_id_;
  U64Map<int32_t> sparse_by_id_;
};

}  // namespace sp::tok
