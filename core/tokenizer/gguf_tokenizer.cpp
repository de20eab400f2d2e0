#include "tokenizer/gguf_tokenizer.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"

namespace sp::tok {

namespace {

// llama.cpp's token types (tokenizer.ggml.token_type).
constexpr int64_t kControl = 3, kUserDefined = 4;

// The split patterns transformers gives byte-level vocabularies by tokenizer.ggml.pre
// (GGUF_PRE_TOKENIZER_SPLITS); any other name keeps GPT-2's built-in pattern.
const char* const kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen35Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kTekkenSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kGpt4oSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::map<std::string, const char*> kPreTokenizerSplits = {
    {"llama3", kLlama3Split},       {"llama-v3", kLlama3Split},
    {"llama-bpe", kLlama3Split},    {"falcon3", kLlama3Split},
    {"falcon-h1", kLlama3Split},    {"pixtral", kLlama3Split},
    {"midm-2.0", kLlama3Split},     {"lfm2", kLlama3Split},
    {"jina-v5-nano", kLlama3Split}, {"dbrx", kLlama3Split},
    {"smaug-bpe", kLlama3Split},    {"tekken", kTekkenSplit},
    {"qwen2", kQwen2Split},         {"deepseek-r1-qwen", kQwen2Split},
    {"kormo", kQwen2Split},         {"f2llmv2", kQwen2Split},
    {"megrez", kQwen2Split},        {"qwen35", kQwen35Split},
    {"gpt-4o", kGpt4oSplit},        {"llama4", kGpt4oSplit},
    {"kanana2", kGpt4oSplit},       {"talkie", kGpt4oSplit},
    {"minimax-m2", kGpt4oSplit},
};

class Reader {
 public:
  explicit Reader(const io::GgufFile& file) : file_(file) {}
  std::string where() const { return "GGUF file '" + file_.path() + "'"; }
  [[noreturn]] void format_error(const std::string& what) const { fail(ErrorKind::Format, where() + ": " + what); }
  const io::GgufFile& file() const { return file_; }

 private:
  const io::GgufFile& file_;
};

std::vector<std::u32string> code_points_of(const std::vector<std::string>& tokens, const Reader& reader) {
  std::vector<std::u32string> result;
  result.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (invalid_utf8_offset(token) != std::string_view::npos)
      reader.format_error("tokenizer.ggml.tokens[" + std::to_string(i) + "] is not valid UTF-8");
    std::u32string points;
    for (std::size_t offset = 0; offset < token.size();) points.push_back(next_code_point(token, &offset));
    result.push_back(std::move(points));
  }
  return result;
}

std::string utf8_of(const std::u32string& points) {
  std::string text;
  for (char32_t point : points) append_utf8(text, point);
  return text;
}

// The 256 characters byte-level vocabularies spell bytes with.
const std::set<char32_t>& byte_level_alphabet() {
  static const std::set<char32_t> alphabet = [] {
    std::set<char32_t> set;
    for (int byte = 0; byte < 256; ++byte) {
      std::string spelled;
      append_byte_level(spelled, std::string(1, static_cast<char>(byte)));
      std::size_t offset = 0;
      set.insert(next_code_point(spelled, &offset));
    }
    return set;
  }();
  return alphabet;
}

bool in_alphabet(const std::u32string& token) {
  const auto& alphabet = byte_level_alphabet();
  return std::all_of(token.begin(), token.end(), [&](char32_t c) { return alphabet.count(c) != 0; });
}

// Merges from the vocabulary and its scores, as transformers' generate_merges(vocab, vocab_scores):
// every split of a token into two tokens, best score first, then longer left and right parts first;
// ties keep the file's order.
nlohmann::json merges_from_scores(const std::vector<std::u32string>& tokens, const std::vector<double>& scores) {
  std::unordered_map<std::u32string, int64_t> vocab;  // the last id of each spelling, as a dict built in order
  for (std::size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = static_cast<int64_t>(i);
  // dict(zip(tokens, scores)): first occurrence's position, last occurrence's score.
  std::vector<std::size_t> order;
  std::unordered_map<std::u32string, double> score_of;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!score_of.count(tokens[i])) order.push_back(i);
    score_of[tokens[i]] = scores[i];
  }
  struct Merge {
    std::u32string left, right;
    double score;
  };
  std::vector<Merge> merges;
  for (std::size_t position : order) {
    const std::u32string& token = tokens[position];
    std::vector<Merge> local;
    for (std::size_t cut = 1; cut < token.size(); ++cut) {
      std::u32string left = token.substr(0, cut), right = token.substr(cut);
      if (vocab.count(left) && vocab.count(right)) local.push_back({left, right, score_of[token]});
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      return std::make_pair(vocab[a.left], vocab[a.right]) < std::make_pair(vocab[b.left], vocab[b.right]);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  // sorted(..., key=(score, len(left), len(right)), reverse=True) keeps equal keys in order.
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return std::make_tuple(a.score, a.left.size(), a.right.size()) >
           std::make_tuple(b.score, b.left.size(), b.right.size());
  });
  nlohmann::json list = nlohmann::json::array();
  for (const Merge& merge : merges) list.push_back({utf8_of(merge.left), utf8_of(merge.right)});
  return list;
}

nlohmann::json merges_from_file(const std::vector<std::string>& merges, const Reader& reader) {
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < merges.size(); ++i) {
    // merge.split(" ") must give exactly two parts for transformers' BPE to accept it.
    const std::size_t space = merges[i].find(' ');
    if (space == std::string::npos || merges[i].find(' ', space + 1) != std::string::npos)
      reader.format_error("tokenizer.ggml.merges[" + std::to_string(i) + "] is not two tokens separated by a space");
    list.push_back({merges[i].substr(0, space), merges[i].substr(space + 1)});
  }
  return list;
}

nlohmann::json added_token(int64_t id, const std::string& content, bool special) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", special}};
}

nlohmann::json byte_level_stage(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

// TemplateProcessing as TokenizersBackend.update_post_processor writes it.
nlohmann::json post_processor(const std::string* bos, int64_t bos_id, const std::string* eos, int64_t eos_id) {
  auto special = [](const std::string& token, int type_id) {
    return nlohmann::json{{"SpecialToken", {{"id", token}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return nlohmann::json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  nlohmann::json single = nlohmann::json::array(), pair;
  if (bos) single.push_back(special(*bos, 0));
  single.push_back(sequence("A", 0));
  if (eos) single.push_back(special(*eos, 0));
  pair = single;
  if (bos) pair.push_back(special(*bos, 1));
  pair.push_back(sequence("B", 1));
  if (eos) pair.push_back(special(*eos, 1));
  nlohmann::json specials = nlohmann::json::object();
  if (bos) specials[*bos] = {{"id", *bos}, {"ids", {bos_id}}, {"tokens", {*bos}}};
  if (eos) specials[*eos] = {{"id", *eos}, {"ids", {eos_id}}, {"tokens", {*eos}}};
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

}  // namespace

GgufTokenizerParts tokenizer_from_gguf(const io::GgufFile& file) {
  const Reader reader(file);
  const std::string type = file.string("tokenizer.ggml.model").value_or("");
  const std::string architecture = file.string("general.architecture").value_or("");
  if (type.empty()) fail(ErrorKind::NotFound, reader.where() + " describes no tokenizer (no tokenizer.ggml.model)");
  const bool byte_level = type == "gpt2";
  if (!byte_level && type != "llama")
    fail(ErrorKind::Unsupported,
         reader.where() + ": tokenizer.ggml.model \"" + type + "\" is not supported (supported: gpt2, llama)");
  if (type == "llama" &&
      (architecture == "gemma" || architecture == "gemma2" || architecture == "gemma3" || architecture == "phi3"))
    fail(ErrorKind::Unsupported,
         reader.where() + ": the " + architecture + " variant of the llama tokenizer is not supported");

  const std::vector<std::string> raw_tokens =
      file.string_array("tokenizer.ggml.tokens").value_or(std::vector<std::string>{});
  if (raw_tokens.empty()) reader.format_error("tokenizer.ggml.tokens is missing or empty");
  const std::vector<std::u32string> tokens = code_points_of(raw_tokens, reader);
  const int64_t count = static_cast<int64_t>(tokens.size());
  const std::vector<int64_t> types = file.integer_array("tokenizer.ggml.token_type").value_or(std::vector<int64_t>{});
  if (!types.empty() && static_cast<int64_t>(types.size()) != count)
    reader.format_error("tokenizer.ggml.token_type has " + std::to_string(types.size()) + " entries for " +
                        std::to_string(count) + " tokens");

  // The vocabulary as spelled in the model: byte-level files may spell a token in plain UTF-8.
  std::vector<std::string> spelled(tokens.size());
  nlohmann::json vocab = nlohmann::json::object();
  for (int64_t id = 0; id < count; ++id) {
    if (byte_level && !in_alphabet(tokens[id]))
      append_byte_level(spelled[id], raw_tokens[id]);
    else
      spelled[id] = raw_tokens[id];
    vocab[spelled[id]] = id;  // a repeated spelling keeps its last id, as a Python dict would
  }

  nlohmann::json merges;
  if (auto listed = file.string_array("tokenizer.ggml.merges")) {
    merges = merges_from_file(*listed, reader);
  } else {
    const std::vector<double> scores = file.number_array("tokenizer.ggml.scores").value_or(std::vector<double>{});
    if (static_cast<int64_t>(scores.size()) != count)
      reader.format_error("neither tokenizer.ggml.merges nor one tokenizer.ggml.scores entry per token");
    merges = merges_from_scores(tokens, scores);
  }

  GgufTokenizerParts parts;
  nlohmann::json& json = parts.tokenizer_json;
  json["version"] = "1.0";
  json["truncation"] = nullptr;
  json["padding"] = nullptr;
  json["normalizer"] = nullptr;
  if (byte_level) {
    json["model"] = {{"type", "BPE"},
                     {"dropout", nullptr},
                     {"unk_token", nullptr},
                     {"continuing_subword_prefix", ""},
                     {"end_of_word_suffix", ""},
                     {"fuse_unk", false},
                     {"byte_fallback", false},
                     {"ignore_merges", false},
                     {"vocab", vocab},
                     {"merges", merges}};
    const std::string pre = file.string("tokenizer.ggml.pre").value_or("");
    auto split = kPreTokenizerSplits.find(pre);
    if (split == kPreTokenizerSplits.end()) {
      json["pre_tokenizer"] = byte_level_stage(true);
    } else {
      json["pre_tokenizer"] = {
          {"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", split->second}}}, {"behavior", "Isolated"}, {"invert", false}},
            byte_level_stage(false)}}};
    }
    json["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  } else {
    json["model"] = {{"type", "BPE"},
                     {"dropout", nullptr},
                     {"unk_token", nullptr},
                     {"continuing_subword_prefix", nullptr},
                     {"end_of_word_suffix", nullptr},
                     {"fuse_unk", true},
                     {"byte_fallback", true},
                     {"ignore_merges", false},
                     {"vocab", vocab},
                     {"merges", merges}};
    json["pre_tokenizer"] = {
        {"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", false}};
    json["decoder"] = {{"type", "Sequence"},
                       {"decoders",
                        {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                         {{"type", "ByteFallback"}},
                         {{"type", "Fuse"}},
                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  }

  // The special roles, by id; transformers adds their tokens as special added tokens.
  auto role = [&](const char* key) -> int32_t {
    const std::string name = std::string("tokenizer.ggml.") + key;
    const auto id = file.integer(name);
    if (!id) return -1;
    if (*id < 0 || *id >= count)
      reader.format_error(name + " is " + std::to_string(*id) + ", outside the " + std::to_string(count) +
                          "-token vocabulary");
    return static_cast<int32_t>(*id);
  };
  SpecialIds& special = parts.special;
  special.bos = role("bos_token_id");
  special.eos = role("eos_token_id");
  special.unk = role("unknown_token_id");
  special.pad = role("padding_token_id");
  if (special.eos >= 0) special.eos_ids = {special.eos};

  std::map<int64_t, nlohmann::json> added;  // by id
  for (int64_t id = 0; id < count && !types.empty(); ++id) {
    // A control token spelled outside the byte alphabet is a llama.cpp mislabel transformers skips.
    // A user-defined token is added only where its text is a vocabulary key as written: in a
    // byte-level vocabulary a token spelled outside the byte alphabet (" ipsum") is looked up under
    // its byte-level spelling, and transformers skips it (`token in vocab`).
    const bool as_written = !byte_level || in_alphabet(tokens[id]);
    if (types[id] == kControl && as_written)
      added[id] = added_token(id, spelled[id], true);
    else if (types[id] == kUserDefined && as_written)
      added[id] = added_token(id, spelled[id], false);
  }
  for (int32_t id : {special.bos, special.eos, special.unk, special.pad})
    if (id >= 0) added[id] = added_token(id, spelled[id], true);
  // transformers builds the vocabulary with GPT2Tokenizer or LlamaTokenizer, whose constructors add
  // their default special tokens (GPT-2's "<|endoftext|>"; LLaMA's "<s>", "</s>", "<unk>", in that
  // order) as special added tokens: at their ids when the vocabulary has them (whatever type the
  // file gives them), else after the vocabulary, even though the file's own ids then replace them
  // in the bos/eos/unk roles. The ids follow transformers: such a token gets an id past the model's
  // embeddings (a Llama-3 file gets "<|endoftext|>" at 128256).
  const std::vector<std::string> defaults =
      byte_level ? std::vector<std::string>{"<|endoftext|>"} : std::vector<std::string>{"<s>", "</s>", "<unk>"};
  for (const std::string& token : defaults) {
    if (auto known = vocab.find(token); known != vocab.end()) {
      const int64_t id = known->get<int64_t>();
      added[id] = added_token(id, token, true);  // special even when the file says user-defined
      continue;
    }
    const int64_t id = std::max<int64_t>(count, added.empty() ? 0 : added.rbegin()->first + 1);
    added[id] = added_token(id, token, true);
  }
  json["added_tokens"] = nlohmann::json::array();
  for (auto& [id, token] : added) json["added_tokens"].push_back(token);

  // add_bos_token: llama.cpp adds BOS to SentencePiece vocabularies unless told otherwise.
  const bool add_bos = file.boolean("tokenizer.ggml.add_bos_token").value_or(type == "llama") && special.bos >= 0;
  const bool add_eos = file.boolean("tokenizer.ggml.add_eos_token").value_or(false) && special.eos >= 0;
  json["post_processor"] = post_processor(add_bos ? &spelled[special.bos] : nullptr, special.bos,
                                          add_eos ? &spelled[special.eos] : nullptr, special.eos);
  parts.chat_template = file.string("tokenizer.chat_template").value_or("");
  return parts;
}

}  // namespace sp::tok
