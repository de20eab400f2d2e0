#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstdio>

#include "tokenizer/model_json.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

// A candidate merge in the queue: the pair starting at symbol `position`.
struct QueuedMerge {
  uint32_t rank;
  int32_t position;
  int32_t new_id;
};

// Heap order of `tokenizers`' Merge: lowest rank first, then leftmost position.
struct PopsLater {
  bool operator()(const QueuedMerge& a, const QueuedMerge& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.position > b.position;
  }
};

// Per-thread scratch larger than this many entries is released after the word that needed it.
constexpr size_t kKeptScratch = size_t{1} << 16;

}  // namespace

BpeModel::BpeModel(const nlohmann::json& json, const std::string& where) : where_(where) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
  if (json.contains("dropout") && !json["dropout"].is_null()) {
    const auto& dropout = json["dropout"];
    if (!dropout.is_number()) fail(ErrorKind::Format, where + ".dropout must be a number or null");
    // `tokenizers` keeps dropout as an f32: a value that rounds to 0 is no dropout.
    float probability = static_cast<float>(dropout.get<double>());
    if (!(probability >= 0.0f && probability <= 1.0f))
      fail(ErrorKind::Format, where + ".dropout = " + dropout.dump() + " is not in [0, 1]");
    if (probability > 0.0f)
      fail(ErrorKind::Unsupported, where + ".dropout = " + dropout.dump() +
                                       ": BPE dropout is random at encode time; only null or 0 is supported");
  }
  unk_token_ = optional_string(json, "unk_token", where);
  continuing_subword_prefix_ = optional_string(json, "continuing_subword_prefix", where).value_or("");
  end_of_word_suffix_ = optional_string(json, "end_of_word_suffix", where).value_or("");
  fuse_unk_ = optional_bool(json, "fuse_unk", where).value_or(false);
  byte_fallback_ = optional_bool(json, "byte_fallback", where).value_or(false);
  ignore_merges_ = optional_bool(json, "ignore_merges", where).value_or(false);

  if (!json.contains("vocab") || !json.contains("merges"))
    fail(ErrorKind::Format, where + ": missing \"vocab\" or \"merges\"");
  read_vocab_object(json["vocab"], where + ".vocab", vocab_);
  read_merges(json["merges"], where + ".merges");

  if (unk_token_) unk_id_ = vocab_.find(*unk_token_);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    byte_token_ids_[byte] = vocab_.find(name).value_or(-1);
  }
  small_character_ids_.assign(0x800, -1);
  std::string character;
  for (char32_t code_point = 0; code_point < 0x800; ++code_point) {
    character.clear();
    if (code_point < 0x80) {
      character.push_back(static_cast<char>(code_point));
    } else {
      character.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
      character.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
    small_character_ids_[code_point] = vocab_.find(character).value_or(-1);
  }
}

void BpeModel::read_merges(const nlohmann::json& merges, const std::string& where) {
  if (!merges.is_array()) fail(ErrorKind::Format, where + " must be an array");
  merges_ = U64Map<Merge>(merges.size());
  // Two forms: [["a", "b"], ...] (current) or ["a b", ...] (legacy, "#version" lines skipped).
  bool pairs = merges.empty() || merges.front().is_array();
  size_t rank = 0;
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& merge = merges[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (pairs) {
      if (!merge.is_array() || merge.size() != 2 || !merge[0].is_string() || !merge[1].is_string())
        fail(ErrorKind::Format, at + " must be a pair of strings like the other merges");
      add_merge(merge[0].get<std::string>(), merge[1].get<std::string>(), rank++, at);
    } else {
      if (!merge.is_string()) fail(ErrorKind::Format, at + " must be a string like the other merges");
      const std::string& line = merge.get_ref<const std::string&>();
      if (line.compare(0, 8, "#version") == 0) continue;
      size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        fail(ErrorKind::Format, at + " = \"" + line + "\" is not two tokens separated by one space");
      add_merge(line.substr(0, space), line.substr(space + 1), rank++, at);
    }
  }
}

void BpeModel::add_merge(const std::string& left, const std::string& right, size_t rank, const std::string& where) {
  auto left_id = vocab_.find(left);
  auto right_id = vocab_.find(right);
  if (!left_id) fail(ErrorKind::Format, where + ": \"" + left + "\" is not in the vocabulary");
  if (!right_id) fail(ErrorKind::Format, where + ": \"" + right + "\" is not in the vocabulary");
  // As `tokenizers`: the merged token is left + right less the length of the subword prefix
  // (whether or not right starts with it).
  size_t prefix_length = continuing_subword_prefix_.size();
  if (right.size() < prefix_length)
    fail(ErrorKind::Format, where + ": \"" + right + "\" is shorter than continuing_subword_prefix");
  std::string merged = left + right.substr(prefix_length);
  auto merged_id = vocab_.find(merged);
  if (!merged_id) fail(ErrorKind::Format, where + ": the merged token \"" + merged + "\" is not in the vocabulary");
  uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(*left_id)) << 32) | static_cast<uint32_t>(*right_id);
  merges_.put(key, Merge{static_cast<uint32_t>(rank), *merged_id});  // a repeated pair keeps its last rank
}

std::optional<int32_t> BpeModel::character_id(std::string_view character, bool first, bool last,
                                              std::string& scratch) const {
  bool with_prefix = !first && !continuing_subword_prefix_.empty();
  bool with_suffix = last && !end_of_word_suffix_.empty();
  if (!with_prefix && !with_suffix) {
    auto lead = static_cast<unsigned char>(character[0]);
    if (lead < 0x80) {
      int32_t id = small_character_ids_[lead];
      return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
    }
    if (character.size() == 2) {
      char32_t code_point =
          (static_cast<char32_t>(lead & 0x1F) << 6) | (static_cast<unsigned char>(character[1]) & 0x3F);
      int32_t id = small_character_ids_[code_point];
      return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
    }
    return vocab_.find(character);
  }
  scratch.clear();
  if (with_prefix) scratch += continuing_subword_prefix_;
  scratch += character;
  if (with_suffix) scratch += end_of_word_suffix_;
  return vocab_.find(scratch);
}

void BpeModel::split_into_symbols(std::string_view word, std::vector<Symbol>& symbols) const {
  symbols.clear();
  auto add = [&symbols](int32_t id, size_t byte_length) {
    int32_t index = static_cast<int32_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = index;
    symbols.push_back(Symbol{id, index - 1, -1, static_cast<int32_t>(byte_length)});
  };
  // An unknown run waiting to be added: its id and byte length (fused runs grow it).
  int32_t pending_unk_id = -1;
  size_t pending_unk_length = 0;
  std::string scratch;
  size_t offset = 0;
  while (offset < word.size()) {
    auto lead = static_cast<unsigned char>(word[offset]);
    size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    length = std::min(length, word.size() - offset);
    std::string_view character = word.substr(offset, length);
    bool first = offset == 0;
    bool last = offset + length == word.size();
    offset += length;

    if (auto id = character_id(character, first, last, scratch)) {
      if (pending_unk_id >= 0) {
        add(pending_unk_id, pending_unk_length);
        pending_unk_id = -1;
      }
      add(*id, length);
      continue;
    }
    if (byte_fallback_) {
      // The bytes of the string looked up (prefix and suffix included), each as its <0xXX>
      // token, when all of them exist. A pending unknown run stays pending, as in `tokenizers`.
      std::string_view looked_up = character;
      if ((!first && !continuing_subword_prefix_.empty()) || (last && !end_of_word_suffix_.empty()))
        looked_up = scratch;
      bool all_bytes = std::all_of(looked_up.begin(), looked_up.end(), [this](char byte) {
        return byte_token_ids_[static_cast<unsigned char>(byte)] >= 0;
      });
      if (all_bytes) {
        for (char byte : looked_up) add(byte_token_ids_[static_cast<unsigned char>(byte)], 1);
        continue;
      }
    }
    if (!unk_token_) continue;  // no unknown token: the character is dropped
    if (!unk_id_) fail(ErrorKind::Format, where_ + ": unk_token \"" + *unk_token_ + "\" is not in the vocabulary");
    if (pending_unk_id >= 0 && fuse_unk_) {
      pending_unk_length += length;
      continue;
    }
    if (pending_unk_id >= 0) add(pending_unk_id, pending_unk_length);
    pending_unk_id = *unk_id_;
    pending_unk_length = length;
  }
  if (pending_unk_id >= 0) add(pending_unk_id, pending_unk_length);
}

void BpeModel::merge_symbols(std::vector<Symbol>& symbols, std::vector<int32_t>& ids) const {
  thread_local std::vector<QueuedMerge> queue;
  queue.clear();
  for (size_t i = 0; i + 1 < symbols.size(); ++i)
    if (const Merge* merge = merge_of(symbols[i].id, symbols[i + 1].id))
      queue.push_back(QueuedMerge{merge->rank, static_cast<int32_t>(i), merge->new_id});
  std::make_heap(queue.begin(), queue.end(), PopsLater{});

  auto push = [](QueuedMerge queued) {
    queue.push_back(queued);
    std::push_heap(queue.begin(), queue.end(), PopsLater{});
  };
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), PopsLater{});
    QueuedMerge top = queue.back();
    queue.pop_back();

    Symbol& current = symbols[top.position];
    if (current.byte_length == 0 || current.next == -1) continue;
    int32_t right_position = current.next;
    Symbol right = symbols[right_position];
    // An entry is stale when the pair at its position no longer merges into the same token.
    const Merge* still = merge_of(current.id, right.id);
    if (still == nullptr || still->new_id != top.new_id) continue;

    current.id = top.new_id;
    current.byte_length += right.byte_length;
    current.next = right.next;
    symbols[right_position].byte_length = 0;
    if (right.next > -1 && static_cast<size_t>(right.next) < symbols.size()) symbols[right.next].prev = top.position;

    if (current.prev >= 0)
      if (const Merge* merge = merge_of(symbols[current.prev].id, current.id))
        push(QueuedMerge{merge->rank, current.prev, merge->new_id});
    if (current.next >= 0 && static_cast<size_t>(current.next) < symbols.size())
      if (const Merge* merge = merge_of(current.id, symbols[current.next].id))
        push(QueuedMerge{merge->rank, top.position, merge->new_id});
  }
  for (const Symbol& symbol : symbols)
    if (symbol.byte_length != 0) ids.push_back(symbol.id);
  if (queue.capacity() > kKeptScratch) std::vector<QueuedMerge>().swap(queue);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto id = vocab_.find(word)) {
      ids.push_back(*id);
      return;
    }
  }
  uint64_t hash = hash_bytes(word);
  if (cache_.lookup(word, hash, ids)) return;
  thread_local std::vector<Symbol> symbols;
  split_into_symbols(word, symbols);
  size_t first = ids.size();
  merge_symbols(symbols, ids);
  cache_.store(word, hash, ids.data() + first, ids.size() - first);
  if (symbols.capacity() > kKeptScratch) std::vector<Symbol>().swap(symbols);  // a huge word's buffer goes
}

}  // namespace sp::tok
