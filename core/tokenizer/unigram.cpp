#include "tokenizer/unigram.h"

#include <cstdio>
#include <limits>

#include "tokenizer/model_json.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

// `tokenizers`' K_UNK_PENALTY: an unknown character scores this much below the worst piece.
constexpr double kUnknownPenalty = 10.0;

// Per-thread scratch larger than this many entries is released after the word that needed it.
constexpr size_t kKeptScratch = size_t{1} << 16;

size_t character_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

// One position of the Viterbi table: the best path ending here.
struct PathEnd {
  int32_t id = 0;
  int32_t starts_at = -1;  // -1: no path reaches here yet
  double score = 0;
};

// A segment of the best path, found back to front.
struct Segment {
  size_t start;
  size_t end;
  int32_t id;  // -1: a fused run of unknown segments, looked up by its text
};

}  // namespace

UnigramModel::UnigramModel(const nlohmann::json& json, const std::string& where) : where_(where) {
  if (!json.is_object()) fail(ErrorKind::Format, where + " is not a JSON object");
  const nlohmann::json* vocab = field(json, "vocab");
  if (vocab == nullptr) fail(ErrorKind::Format, where + ": missing \"vocab\"");
  if (!vocab->is_array()) fail(ErrorKind::Format, where + ".vocab must be an array of [piece, score]");
  if (vocab->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail(ErrorKind::Format, where + ".vocab is too large");
  pieces_.reserve(vocab->size());
  scores_.reserve(vocab->size());
  vocab_.reserve(vocab->size());
  double min_score = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < vocab->size(); ++i) {
    const auto& entry = (*vocab)[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
      fail(ErrorKind::Format, where + ".vocab[" + std::to_string(i) + "] must be [piece, score]");
    pieces_.push_back(entry[0].get<std::string>());
    scores_.push_back(entry[1].get<double>());
    vocab_.insert(pieces_.back(), static_cast<int32_t>(i));
    if (scores_.back() < min_score) min_score = scores_.back();
  }
  vocab_.finish();
  unknown_score_ = min_score - kUnknownPenalty;

  if (const nlohmann::json* unk_id = field(json, "unk_id")) {
    uint64_t id = count_value(*unk_id, where + ".unk_id");
    if (pieces_.empty()) fail(ErrorKind::Format, where + ": the vocabulary is empty but unk_id is set");
    if (id >= pieces_.size())
      fail(ErrorKind::Format, where + ".unk_id = " + unk_id->dump() + " is not in the vocabulary");
    unk_id_ = static_cast<int32_t>(id);
  }
  byte_fallback_ = optional_bool(json, "byte_fallback", where).value_or(false);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    byte_token_ids_[byte] = vocab_.find(name).value_or(-1);
  }

  // The trie; a node's piece is the id the vocabulary gives its text.
  trie_piece_.push_back(-1);
  trie_edges_ = U64Map<int32_t>(vocab->size() * 4);
  for (const std::string& piece : pieces_) {
    int32_t node = 0;
    for (char byte : piece) {
      uint64_t edge = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(byte);
      if (const int32_t* child = trie_edges_.get(edge)) {
        node = *child;
      } else {
        int32_t created = static_cast<int32_t>(trie_piece_.size());
        trie_piece_.push_back(-1);
        trie_edges_.put(edge, created);
        node = created;
      }
    }
    if (node != 0) trie_piece_[node] = *vocab_.find(piece);
  }
  root_children_.assign(256, -1);
  for (int byte = 0; byte < 256; ++byte)
    if (const int32_t* child = trie_edges_.get(static_cast<uint64_t>(byte))) root_children_[byte] = *child;
}

int32_t UnigramModel::unknown_id() const {
  if (!unk_id_) fail(ErrorKind::Format, where_ + ": the text has an unknown character but unk_id is not set");
  return *unk_id_;
}

void UnigramModel::segment(std::string_view word, std::vector<int32_t>& ids) const {
  const size_t size = word.size();
  thread_local std::vector<PathEnd> ends;
  ends.assign(size + 1, PathEnd{});
  for (size_t starts_at = 0; starts_at < size;) {
    const double score_here = ends[starts_at].score;
    const size_t character = std::min(character_length(static_cast<unsigned char>(word[starts_at])), size - starts_at);
    bool has_single_character_piece = false;
    int32_t node = root_children_[static_cast<unsigned char>(word[starts_at])];
    for (size_t key_end = starts_at + 1; node >= 0; ++key_end) {
      int32_t id = trie_piece_[node];
      if (id >= 0) {
        double candidate = scores_[id] + score_here;
        PathEnd& target = ends[key_end];
        if (target.starts_at < 0 || candidate > target.score) {
          target.score = candidate;
          target.starts_at = static_cast<int32_t>(starts_at);
          target.id = id;
        }
        if (key_end - starts_at == character) has_single_character_piece = true;
      }
      if (key_end >= size) break;
      const int32_t* child =
          trie_edges_.get((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(word[key_end]));
      node = child ? *child : -1;
    }
    if (!has_single_character_piece) {
      double candidate = unknown_score_ + score_here;
      PathEnd& target = ends[starts_at + character];
      if (target.starts_at < 0 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<int32_t>(starts_at);
        target.id = unknown_id();
      }
    }
    starts_at += character;
  }

  // Back to front; segments whose id is the unknown id (an unknown character, or the unknown
  // piece itself) fuse with their unknown neighbours into one run, as `tokenizers` does.
  thread_local std::vector<Segment> segments;
  segments.clear();
  for (size_t ends_at = size; ends_at > 0;) {
    const PathEnd& end = ends[ends_at];
    size_t starts_at = static_cast<size_t>(end.starts_at);
    bool unknown = unk_id_ && end.id == *unk_id_;
    if (unknown && !segments.empty() && segments.back().id == -1) {
      segments.back().start = starts_at;
    } else {
      segments.push_back(Segment{starts_at, ends_at, unknown ? -1 : end.id});
    }
    ends_at = starts_at;
  }
  for (size_t i = segments.size(); i-- > 0;) {
    const Segment& piece = segments[i];
    if (piece.id >= 0) {
      ids.push_back(piece.id);
    } else {
      append_piece_ids(word.substr(piece.start, piece.end - piece.start), ids);
    }
  }
  if (ends.capacity() > kKeptScratch) std::vector<PathEnd>().swap(ends);
  if (segments.capacity() > kKeptScratch) std::vector<Segment>().swap(segments);
}

void UnigramModel::append_piece_ids(std::string_view piece, std::vector<int32_t>& ids) const {
  if (auto id = vocab_.find(piece)) {
    ids.push_back(*id);
    return;
  }
  if (byte_fallback_) {
    bool all_bytes = true;
    for (char byte : piece) all_bytes = all_bytes && byte_token_ids_[static_cast<unsigned char>(byte)] >= 0;
    if (all_bytes) {
      for (char byte : piece) ids.push_back(byte_token_ids_[static_cast<unsigned char>(byte)]);
      return;
    }
  }
  ids.push_back(unknown_id());
}

void UnigramModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  uint64_t hash = hash_bytes(word);
  if (cache_.lookup(word, hash, ids)) return;
  size_t first = ids.size();
  segment(word, ids);
  cache_.store(word, hash, ids.data() + first, ids.size() - first);
}

}  // namespace sp::tok
