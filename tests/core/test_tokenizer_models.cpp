// Vocabulary models, decoders and post-processors of the tokenizer, one tokenizer.json object at a
// time. Every expected id list and decoded string below came from Hugging Face `tokenizers`
// 0.23.3 (Python), running the same JSON object alone (no normalizer or pre-tokenizer, so the
// text is one word), unless the comment derives it from first principles.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/pipeline.h"
#include "util/errors.h"

#include "core_test_support.h"

namespace {

using nlohmann::json;
using sp::ErrorKind;
using sp::tok::make_decoder;
using sp::tok::make_model;
using sp::tok::make_post_processor;

// A BPE model object with ids in the order of `vocab`.
json bpe(const std::vector<std::string>& vocab, json merges, json options = json::object()) {
  json model = {{"type", "BPE"}, {"merges", std::move(merges)}};
  for (size_t i = 0; i < vocab.size(); ++i) model["vocab"][vocab[i]] = i;
  for (auto it = options.begin(); it != options.end(); ++it) model[it.key()] = it.value();
  return model;
}

json wordpiece(const std::vector<std::string>& vocab, json options = json::object()) {
  json model = {{"type", "WordPiece"},
                {"unk_token", "[UNK]"},
                {"continuing_subword_prefix", "##"},
                {"max_input_chars_per_word", 100}};
  for (size_t i = 0; i < vocab.size(); ++i) model["vocab"][vocab[i]] = i;
  for (auto it = options.begin(); it != options.end(); ++it) model[it.key()] = it.value();
  return model;
}

json unigram(json pieces, json options = json::object()) {
  json model = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", std::move(pieces)}};
  for (auto it = options.begin(); it != options.end(); ++it) model[it.key()] = it.value();
  return model;
}

void expect_ids(const sp::tok::Model& model, const std::string& word, std::vector<int32_t> expected) {
  std::vector<int32_t> ids = {-7};  // tokenize appends: what was there stays
  model.tokenize(word, ids);
  expected.insert(expected.begin(), -7);
  if (ids != expected) {
    std::string got, want;
    for (int32_t id : ids) got += std::to_string(id) + " ";
    for (int32_t id : expected) want += std::to_string(id) + " ";
    fail_msg("\"%s\": got [%s], expected [%s]", word.c_str(), got.c_str(), want.c_str());
  }
}

// Twice: the second answer comes from the word cache where the model has one.
void expect_ids_twice(const sp::tok::Model& model, const std::string& word, const std::vector<int32_t>& expected) {
  expect_ids(model, word, expected);
  expect_ids(model, word, expected);
}

std::string decode(const json& decoder, std::vector<std::string> tokens) {
  auto built = make_decoder(decoder, "decoder");
  built->decode_chain(tokens);
  std::string joined;
  for (const auto& token : tokens) joined += token;
  return joined;
}

void expect_decoded(const json& decoder, const std::vector<std::string>& tokens, const std::string& expected) {
  std::string got = decode(decoder, tokens);
  if (got != expected) fail_msg("decoded \"%s\", expected \"%s\"", got.c_str(), expected.c_str());
}

std::vector<int32_t> processed(const json& processor, std::vector<int32_t> ids, bool add_special_tokens) {
  make_post_processor(processor, "post_processor")->process(ids, add_special_tokens);
  return ids;
}

// --- BPE -------------------------------------------------------------------------------------

void bpe_merges_lowest_rank_first_and_leftmost_on_ties(void**) {
  const std::vector<std::string> vocab = {"a", "b", "c", "ab", "bc", "abc", "aa", "aaaa"};
  auto model = make_model(bpe(vocab, {"a a", "b c", "a b", "aa aa", "ab c"}), "model");
  expect_ids_twice(*model, "aaa", {6, 0});
  expect_ids_twice(*model, "aaaaa", {7, 0});
  expect_ids_twice(*model, "abc", {0, 4});
  expect_ids_twice(*model, "abcabc", {0, 4, 0, 4});
  expect_ids_twice(*model, "aabc", {6, 4});
  expect_ids_twice(*model, "cab", {2, 3});
  // The same merges as pairs (the current form of the file).
  auto pairs = make_model(bpe(vocab, json::parse(R"([["b","c"],["a","b"],["ab","c"]])")), "model");
  expect_ids_twice(*pairs, "abc", {0, 4});
  expect_ids_twice(*pairs, "abab", {3, 3});
  assert_int_equal(model->vocab_size(), 8);
  assert_string_equal(model->id_to_token(5)->c_str(), "abc");
  assert_null(model->id_to_token(8));
  assert_int_equal(*model->token_to_id("bc"), 4);
  assert_false(model->token_to_id("zz").has_value());
}

void bpe_ignore_merges_takes_whole_words_from_the_vocabulary(void**) {
  const std::vector<std::string> vocab = {"a", "b", "c", "ab", "bc", "abc", "aa", "aaaa"};
  auto ignoring = make_model(bpe(vocab, {"a b"}, {{"ignore_merges", true}}), "model");
  expect_ids_twice(*ignoring, "abc", {5});
  expect_ids_twice(*ignoring, "ab", {3});
  expect_ids_twice(*ignoring, "aaaa", {7});
  expect_ids_twice(*ignoring, "aaa", {0, 0, 0});
  auto merging = make_model(bpe(vocab, {"a b"}, {{"ignore_merges", false}}), "model");
  expect_ids_twice(*merging, "abc", {3, 2});
  expect_ids_twice(*merging, "aaaa", {0, 0, 0, 0});
}

void bpe_byte_fallback_writes_unknown_characters_as_bytes(void**) {
  const std::vector<std::string> vocab = {"<unk>", "a", "<0xC3>", "<0xA9>", "<0x61>", "<0xE2>", "<0x82>"};
  auto model = make_model(bpe(vocab, json::array(), {{"unk_token", "<unk>"}, {"byte_fallback", true}}), "model");
  expect_ids_twice(*model, "a\xC3\xA9", {1, 2, 3});  // aé
  expect_ids_twice(*model,
                   "\xE2\x82\xAC"
                   "a",
                   {0, 1});  // € lacks <0xAC>: unknown
  expect_ids_twice(*model, "x", {0});
  // An unknown run stays pending while byte tokens are added (as tokenizers does): é's bytes
  // come before the unknown x.
  expect_ids_twice(*model, "x\xC3\xA9", {2, 3, 0});
  expect_ids_twice(*model, "\xE2\x82\xAC\xE2\x82\xAC", {0, 0});
  auto fused = make_model(
      bpe(vocab, json::array(), {{"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true}}), "model");
  expect_ids_twice(*fused,
                   "\xE2\x82\xAC\xE2\x82\xAC"
                   "a",
                   {0, 1});
  expect_ids_twice(*fused, "x\xC3\xA9\xE2\x82\xAC", {2, 3, 0});
}

void bpe_unknown_characters_fuse_or_drop(void**) {
  const std::vector<std::string> vocab = {"<unk>", "a", "b", "ab"};
  auto separate = make_model(bpe(vocab, {"a b"}, {{"unk_token", "<unk>"}}), "model");
  expect_ids_twice(*separate, "axyb", {1, 0, 0, 2});
  expect_ids_twice(*separate, "xa", {0, 1});
  expect_ids_twice(*separate, "abx", {3, 0});
  auto fused = make_model(bpe(vocab, {"a b"}, {{"unk_token", "<unk>"}, {"fuse_unk", true}}), "model");
  expect_ids_twice(*fused, "axyb", {1, 0, 2});
  expect_ids_twice(*fused, "xya", {0, 1});
  expect_ids_twice(*fused, "abxy", {3, 0});
  expect_ids_twice(*fused, "xy", {0});
  // Without an unknown token the characters are dropped and their neighbours merge.
  auto dropping = make_model(bpe(vocab, {"a b"}), "model");
  expect_ids_twice(*dropping, "axyb", {3});
  expect_ids_twice(*dropping, "xy", {});
}

void bpe_subword_prefix_and_word_suffix(void**) {
  const std::vector<std::string> vocab = {"a",  "##b",      "##c",     "c</w>", "##c</w>",
                                          "ab", "##bc</w>", "abc</w>", "b",     "b</w>"};
  auto model = make_model(bpe(vocab, {"a ##b", "##b ##c</w>", "ab ##c</w>"},
                              {{"continuing_subword_prefix", "##"}, {"end_of_word_suffix", "</w>"}}),
                          "model");
  expect_ids_twice(*model, "abc", {7});
  expect_ids_twice(*model, "ab", {0});  // "##b</w>" is not a token and there is no unk: dropped
  expect_ids_twice(*model, "b", {9});
  expect_ids_twice(*model, "c", {3});
  expect_ids_twice(*model, "acb", {0, 2});
}

void bpe_refuses_dropout_and_bad_merges(void**) {
  const std::vector<std::string> vocab = {"a", "b", "ab"};
  core_test::expect_error(
      [&] {
        make_model(bpe(vocab, {"a b"}, {{"dropout", 0.1}}), "model");
      },
      ErrorKind::Unsupported, "model.dropout");
  make_model(bpe(vocab, {"a b"}, {{"dropout", 0.0}}), "model");  // 0 is no dropout
  core_test::expect_error([&] { make_model(bpe(vocab, {"a c"}), "model"); }, ErrorKind::Format, "\"c\"");
  core_test::expect_error([&] { make_model(bpe(vocab, {"a b b"}), "model"); }, ErrorKind::Format, "model.merges[0]");
  core_test::expect_error([&] { make_model(bpe({"a", "b"}, {"a b"}), "model"); }, ErrorKind::Format, "\"ab\"");
  auto missing_unk = make_model(bpe(vocab, {"a b"}, {{"unk_token", "<unk>"}}), "model");
  expect_ids(*missing_unk, "ab", {2});
  core_test::expect_error(
      [&] {
        std::vector<int32_t> ids;
        missing_unk->tokenize("x", ids);
      },
      ErrorKind::Format, "<unk>");
}

// --- WordPiece, WordLevel, Unigram ----------------------------------------------------------------

void wordpiece_longest_match_first(void**) {
  const std::vector<std::string> vocab = {"[UNK]", "un",  "##aff", "##able",   "a",         "##ff",
                                          "##a",   "##b", "##le",  "\xC3\xA9", "##\xC3\xA9"};
  auto model = make_model(wordpiece(vocab), "model");
  expect_ids(*model, "unaffable", {1, 2, 3});
  expect_ids(*model, "aff", {4, 5});
  expect_ids(*model, "unb", {1, 7});
  expect_ids(*model, "unx", {0});
  expect_ids(*model, "a\xC3\xA9\xC3\xA9", {4, 10, 10});
  expect_ids(*model,
             "\xC3\xA9"
             "a",
             {9, 6});
  // max_input_chars_per_word counts characters: aéé is 3 (5 bytes), aééa is 4.
  auto short_words = make_model(wordpiece(vocab, {{"max_input_chars_per_word", 3}}), "model");
  expect_ids(*short_words, "a\xC3\xA9\xC3\xA9", {4, 10, 10});
  expect_ids(*short_words,
             "a\xC3\xA9\xC3\xA9"
             "a",
             {0});
  expect_ids(*short_words, "unab", {0});
  auto no_unk = make_model(wordpiece(vocab, {{"unk_token", "[MISSING]"}}), "model");
  expect_ids(*no_unk, "un", {1});
  core_test::expect_error(
      [&] {
        std::vector<int32_t> ids;
        no_unk->tokenize("unx", ids);
      },
      ErrorKind::Format, "[MISSING]");
}

void wordlevel_and_files_without_a_type(void**) {
  auto word_level = make_model(json::parse(R"({"type":"WordLevel","vocab":{"<unk>":0,"hello":1,"world":2},
                                                "unk_token":"<unk>"})"),
                               "model");
  expect_ids(*word_level, "hello", {1});
  expect_ids(*word_level, "hullo", {0});
  // Without "type" the first model whose fields fit: BPE, WordPiece, WordLevel, Unigram.
  expect_ids(*make_model(json::parse(R"({"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]})"), "model"), "ab", {2});
  auto legacy_wordpiece = make_model(json::parse(R"({"vocab":{"[UNK]":0,"a":1,"##b":2},"unk_token":"[UNK]",
      "continuing_subword_prefix":"##","max_input_chars_per_word":100})"),
                                     "model");
  expect_ids(*legacy_wordpiece, "ab", {1, 2});
  expect_ids(*legacy_wordpiece, "ba", {0});
  auto legacy_word_level = make_model(json::parse(R"({"vocab":{"<unk>":0,"ab":1},"unk_token":"<unk>"})"), "model");
  expect_ids(*legacy_word_level, "ab", {1});
  expect_ids(*legacy_word_level, "ba", {0});
  expect_ids(*make_model(json::parse(R"({"vocab":[["<unk>",0.0],["a",-1.0]],"unk_id":0})"), "model"), "ab", {1, 0});
}

void unigram_viterbi_with_unknowns(void**) {
  json pieces = json::parse(R"([["<unk>",0.0],["a",0.0],["b",0.0],["c",0.0],["d",0.0],["cd",1.0],["ab",2.0],
                                ["abc",5.0],["abcd",10.0]])");
  auto model = make_model(unigram(pieces), "model");
  expect_ids_twice(*model, "abcdacdxx", {8, 1, 5, 0});  // abcd a cd, then xx fused unknown
  expect_ids_twice(*model, "xabx", {0, 6, 0});
  expect_ids_twice(*model, "abc", {7});
  expect_ids_twice(*model, "x<unk>x", {0});  // the <unk> piece has the unknown id: fused too
  expect_ids_twice(*model, "\xC3\xA9", {0});
  assert_int_equal(model->vocab_size(), 9);
  assert_string_equal(model->id_to_token(5)->c_str(), "cd");

  json close = json::parse(R"([["<unk>",0.0],["a",-1.0],["b",-1.0],["ab",-2.0],["ba",-2.5],["aba",-3.1],
                               ["bab",-2.9]])");
  auto scored = make_model(unigram(close), "model");
  expect_ids_twice(*scored, "abab", {1, 6});
  expect_ids_twice(*scored, "ababa", {1, 6, 1});
  expect_ids_twice(*scored, "aabb", {1, 3, 2});
  expect_ids_twice(*scored, "bbaa", {2, 2, 1, 1});

  // A repeated piece: the vocabulary keeps its last id, which is not the unknown id.
  auto repeated = make_model(unigram(json::parse(R"([["<unk>",0.0],["x",-1.0],["<unk>",-1.0],["xy",-0.5]])")), "model");
  expect_ids_twice(*repeated, "xy<unk>", {3, 2});

  auto no_unk = make_model(unigram(pieces, {{"unk_id", nullptr}}), "model");
  expect_ids(*no_unk, "ab", {6});
  core_test::expect_error(
      [&] {
        std::vector<int32_t> ids;
        no_unk->tokenize("ax", ids);
      },
      ErrorKind::Format, "unk_id");
  core_test::expect_error(
      [&] {
        make_model(unigram(pieces, {{"unk_id", 9}}), "model");
      },
      ErrorKind::Format, "model.unk_id");
}

void unigram_byte_fallback(void**) {
  json pieces = json::parse(R"([["<unk>",0.0],["a",0.0],["b",0.0],["c",0.0],["d",0.0],["cd",1.0],["ab",2.0],
      ["abc",5.0],["abcd",10.0],["<0x78>",-1.0],["<0xC3>",-1.0],["<0xA9>",-1.0],["x\u00e9",-3.0]])");
  auto model = make_model(unigram(pieces, {{"byte_fallback", true}}), "model");
  expect_ids_twice(*model, "xxa", {9, 9, 1});
  expect_ids_twice(*model,
                   "\xC3\xA9"
                   "a",
                   {10, 11, 1});
  expect_ids_twice(*model, "a\xC3\xA9\xE2\x82\xAC", {1, 0});  // é€ has no <0xE2>: one unknown
  expect_ids_twice(*model, "x\xC3\xA9", {12});                // the fused unknown run is itself a piece
}

void unknown_model_types_are_refused(void**) {
  core_test::expect_error([] { make_model(json::parse(R"({"type":"Foo","vocab":{}})"), "model"); },
                          ErrorKind::Unsupported, "\"Foo\"");
  core_test::expect_error([] { make_decoder(json::parse(R"({"type":"Foo"})"), "decoder"); }, ErrorKind::Unsupported,
                          "\"Foo\"");
  core_test::expect_error(
      [] {
        make_decoder(json::parse(R"({"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Bar"}]})"), "decoder");
      },
      ErrorKind::Unsupported, "decoder.decoders[1]");
  core_test::expect_error([] { make_post_processor(json::parse(R"({"type":"Foo"})"), "post_processor"); },
                          ErrorKind::Unsupported, "\"Foo\"");
  core_test::expect_error([] { make_model(json::parse(R"({"vocab":{"a":0}})"), "model"); }, ErrorKind::Format, "model");
}

// --- Decoders ----------------------------------------------------------------------------------

void byte_level_decoder(void**) {
  json decoder = json::parse(R"({"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true})");
  // "Ġâ" "Ĥ" "¬" are the bytes of €; a lone "Ġâ" is a space and a cut sequence (U+FFFD); "x€"
  // holds a character outside the byte table, so it stays as it is.
  expect_decoded(
      decoder,
      {"Hello", "\xC4\xA0wor", "ld", "\xC4\xA0\xC3\xA2", "\xC4\xA4", "\xC2\xAC", "\xC4\xA0\xC3\xA2", "x\xE2\x82\xAC"},
      "Hello world \xE2\x82\xAC \xEF\xBF\xBDx\xE2\x82\xAC");
  core_test::expect_error([] { make_decoder(json::parse(R"({"type":"ByteLevel"})"), "decoder"); }, ErrorKind::Format,
                          "add_prefix_space");
}

void metaspace_decoder(void**) {
  expect_decoded(json::parse(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always","split":true})"),
                 {"\xE2\x96\x81Hey", "\xE2\x96\x81my",
                  "\xE2\x96\x81\xE2\x96\x81"
                  "friend\xE2\x96\x81",
                  "x"},
                 "Hey my  friend x");
  // Every replacement in the first token goes, not only the leading one.
  expect_decoded(json::parse(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"always"})"),
                 {"\xE2\x96\x81"
                  "a\xE2\x96\x81"
                  "b",
                  "\xE2\x96\x81"
                  "c"},
                 "ab c");
  expect_decoded(json::parse(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"never"})"),
                 {"\xE2\x96\x81"
                  "a\xE2\x96\x81"
                  "b",
                  "\xE2\x96\x81"
                  "c"},
                 " a b c");
  expect_decoded(json::parse(R"({"type":"Metaspace","replacement":"\u2581","prepend_scheme":"first"})"),
                 {"\xE2\x96\x81"
                  "a",
                  "\xE2\x96\x81"
                  "c"},
                 "a c");
  expect_decoded(json::parse(R"({"type":"Metaspace","replacement":"\u2581","add_prefix_space":true})"),
                 {"\xE2\x96\x81"
                  "a",
                  "\xE2\x96\x81"
                  "c"},
                 "a c");
  expect_decoded(
      json::parse(R"({"type":"Metaspace","replacement":"\u2581","add_prefix_space":false,"prepend_scheme":"never"})"),
      {"\xE2\x96\x81"
       "a",
       "\xE2\x96\x81"
       "c"},
      " a c");
  core_test::expect_error(
      [] { make_decoder(json::parse(R"({"type":"Metaspace","replacement":"\u2581","add_prefix_space":false})"), "d"); },
      ErrorKind::Format, "prepend_scheme");
  core_test::expect_error(
      [] { make_decoder(json::parse(R"({"type":"Metaspace","replacement":"\u2581\u2581"})"), "d"); }, ErrorKind::Format,
      "replacement");
}

void wordpiece_decoder(void**) {
  expect_decoded(json::parse(R"({"type":"WordPiece","prefix":"##","cleanup":true})"),
                 {"hello", "##s", ",", "i", "do", "not", "'", "m", "don", "'", "t", "."},
                 "hellos, i do not ' m don ' t.");
  expect_decoded(json::parse(R"({"type":"WordPiece","prefix":"##","cleanup":false})"), {"hello", "##s", ",", "##"},
                 "hellos ,");
}

void byte_fallback_decoder(void**) {
  // A valid run becomes text; an invalid run (here € and a cut €, one run of five) one U+FFFD per
  // byte token; "<0x+F>" is byte 0x0F
  // (Rust's from_str_radix takes a sign); malformed names stay.
  expect_decoded(json::parse(R"({"type":"ByteFallback"})"),
                 {"<0x61>", "b", "<0xE2>", "<0x82>", "<0xAC>", "<0xE2>", "<0x82>", "c", "<0xc3>", "<0xa9>", "<0x+F>",
                  "<0xZZ>", "<0x41"},
                 "ab\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                 "c\xC3\xA9\x0F<0xZZ><0x41");
}

void fuse_strip_replace_bpe_ctc_decoders(void**) {
  expect_decoded(json::parse(R"({"type":"Fuse"})"), {"a", "b", "c"}, "abc");
  expect_decoded(json::parse(R"({"type":"Strip","content":" ","start":1,"stop":0})"), {" a", "  b", "c "}, "a bc ");
  expect_decoded(json::parse(R"({"type":"Strip","content":"x","start":2,"stop":2})"), {"xxaxx", "xxxbxxx", "xcx"},
                 "axbxc");
  // tokenizers panics on these two (index before the start; cuts that cross): an error here.
  core_test::expect_error([] { decode(json::parse(R"({"type":"Strip","content":"x","start":0,"stop":3})"), {"xx"}); },
                          ErrorKind::InvalidArgument, "Strip");
  core_test::expect_error([] { decode(json::parse(R"({"type":"Strip","content":"x","start":1,"stop":1})"), {"x"}); },
                          ErrorKind::InvalidArgument, "Strip");
  expect_decoded(json::parse(R"({"type":"Replace","pattern":{"String":"\u2581"},"content":" "})"),
                 {"\xE2\x96\x81"
                  "a\xE2\x96\x81",
                  "b", "\xE2\x96\x81\xE2\x96\x81"},
                 " a b  ");
  expect_decoded(json::parse(R"({"type":"Replace","pattern":{"Regex":"a+"},"content":"-"})"), {"baab", "aa", "c"},
                 "b-b-c");
  expect_decoded(json::parse(R"({"type":"BPEDecoder","suffix":"</w>"})"), {"hel", "lo</w>", "wor", "ld</w>"},
                 "hello world");
  expect_decoded(json::parse(R"({"type":"BPEDecoder","suffix":""})"), {"ab", "c"}, " a b c");
  expect_decoded(json::parse(R"({"type":"CTC","pad_token":"<pad>","word_delimiter_token":"|","cleanup":true})"),
                 {"<pad>", "h", "h", "e", "<pad>", "l", "l", "<pad>", "l", "o", "|", "w", "o", "r", "l", "d", " ."},
                 "hello world.");
  expect_decoded(json::parse(R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"\u2581"},
      "content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})"),
                 {"\xE2\x96\x81Hello", "<0xE2>", "<0x82>", "<0xAC>", "\xE2\x96\x81x", "<0xFF>"},
                 "Hello\xE2\x82\xAC x\xEF\xBF\xBD");
}

// --- Post-processors -----------------------------------------------------------------------------

void template_processing(void**) {
  json processor = json::parse(R"({"type":"TemplateProcessing",
      "single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},
                {"SpecialToken":{"id":"[SEP]","type_id":0}}],
      "pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],
      "special_tokens":{"[CLS]":{"id":"[CLS]","ids":[101],"tokens":["[CLS]"]},
                        "[SEP]":{"id":"[SEP]","ids":[102,103],"tokens":["[SEP]","x"]}}})");
  assert_true((processed(processor, {1, 2}, true) == std::vector<int32_t>{101, 1, 2, 102, 103}));
  assert_true((processed(processor, {1, 2}, false) == std::vector<int32_t>{1, 2}));
  assert_int_equal(make_post_processor(processor, "post_processor")->added_tokens(), 3);
  // A template may repeat the sequence; it is repeated even without special tokens.
  processor["single"] = json::parse(R"([{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[CLS]","type_id":1}},
                                        {"Sequence":{"id":"A","type_id":0}}])");
  assert_true((processed(processor, {1, 2}, true) == std::vector<int32_t>{1, 2, 101, 1, 2}));
  assert_true((processed(processor, {1, 2}, false) == std::vector<int32_t>{1, 2, 1, 2}));
  // tokenizers loads a template naming a missing special token and panics when it applies it.
  processor["single"] = json::parse(R"([{"SpecialToken":{"id":"[MISSING]","type_id":0}}])");
  core_test::expect_error([&] { make_post_processor(processor, "post_processor"); }, ErrorKind::Format, "[MISSING]");
}

void bert_roberta_byte_level_and_sequence_processing(void**) {
  json bert = json::parse(R"({"type":"BertProcessing","sep":["[SEP]",102],"cls":["[CLS]",101]})");
  assert_true((processed(bert, {1, 2}, true) == std::vector<int32_t>{101, 1, 2, 102}));
  assert_true((processed(bert, {1, 2}, false) == std::vector<int32_t>{1, 2}));
  assert_int_equal(make_post_processor(bert, "p")->added_tokens(), 2);
  json roberta = json::parse(R"({"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,
                                 "add_prefix_space":false})");
  assert_true((processed(roberta, {1, 2}, true) == std::vector<int32_t>{0, 1, 2, 2}));
  json byte_level = json::parse(R"({"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true})");
  assert_true((processed(byte_level, {1, 2}, true) == std::vector<int32_t>{1, 2}));
  assert_int_equal(make_post_processor(byte_level, "p")->added_tokens(), 0);
  json sequence = json::parse(R"({"type":"Sequence","processors":[{"type":"ByteLevel","add_prefix_space":true,
      "trim_offsets":false,"use_regex":true},{"type":"BertProcessing","sep":["[SEP]",102],"cls":["[CLS]",101]}]})");
  assert_true((processed(sequence, {1, 2}, true) == std::vector<int32_t>{101, 1, 2, 102}));
  assert_int_equal(make_post_processor(sequence, "p")->added_tokens(), 2);
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bpe_merges_lowest_rank_first_and_leftmost_on_ties),
      cmocka_unit_test(bpe_ignore_merges_takes_whole_words_from_the_vocabulary),
      cmocka_unit_test(bpe_byte_fallback_writes_unknown_characters_as_bytes),
      cmocka_unit_test(bpe_unknown_characters_fuse_or_drop),
      cmocka_unit_test(bpe_subword_prefix_and_word_suffix),
      cmocka_unit_test(bpe_refuses_dropout_and_bad_merges),
      cmocka_unit_test(wordpiece_longest_match_first),
      cmocka_unit_test(wordlevel_and_files_without_a_type),
      cmocka_unit_test(unigram_viterbi_with_unknowns),
      cmocka_unit_test(unigram_byte_fallback),
      cmocka_unit_test(unknown_model_types_are_refused),
      cmocka_unit_test(byte_level_decoder),
      cmocka_unit_test(metaspace_decoder),
      cmocka_unit_test(wordpiece_decoder),
      cmocka_unit_test(byte_fallback_decoder),
      cmocka_unit_test(fuse_strip_replace_bpe_ctc_decoders),
      cmocka_unit_test(template_processing),
      cmocka_unit_test(bert_roberta_byte_level_and_sequence_processing),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
