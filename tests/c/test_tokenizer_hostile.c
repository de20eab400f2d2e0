/* Hostile tokenizer files and hostile text (issue 9): a status, never a crash, a hang or runaway
 * memory; time and memory grow linearly with the input.
 *
 *   named files    empty, not JSON, deeply nested, ids near INT32_MAX in the vocabulary and the
 *                  added tokens, a folder where the file should be;
 *   mutation run   fixed-seed mutants of the tokenizer.json files of the conformance fixture, in
 *                  turn: truncations, byte edits, deleted (renamed) keys, values of another JSON
 *                  type, huge numbers, unknown component types. Each is loaded (and, when it
 *                  loads, used once) in a forked child under a time limit (and, outside ASan, an
 *                  address-space limit); the child must exit normally, with SP_OK or a status
 *                  other than INTERNAL, OUT_OF_MEMORY or BACKEND;
 *   hostile text   a 10 MB single word, 1e6 spaces, 1 MB of NUL bytes, long runs of one CJK
 *                  character and of ZWJ emoji, and invalid UTF-8 (lone surrogates, overlong forms,
 *                  truncated sequences), for every family: a result or SP_ERR_INVALID_ARGUMENT;
 *   linearity      encode time and peak RSS at 1x, 2x, 4x input sizes (printed; the memory growth
 *                  is asserted, generously: the time is not, it depends on the machine's load).
 *
 *   test_tokenizer_hostile <tokenizer-reference-folder> <scratch-folder> [mutants per file, default 40] */
#include "test_support.h"

#include "hostile_files.h"
#include "tokenizer_corpus.h"

static const char* reference_root;
static const char* scratch_root;
static int mutants_per_file = 40;

/* A legitimate load and encode of these files needs well under 1 GB (10 MB of text included). */
static const uint64_t kHeadroom = (uint64_t)2 << 30;
static const unsigned kSecondsPerChild = 120;

/* Realistic text for the linearity runs: the corpus documents end to end. */
static char* corpus_sample;
static size_t corpus_sample_size;

static int load_corpus_sample(void) {
  tokenizer_corpus corpus;
  if (!read_tokenizer_corpus(reference_root, &corpus)) return 0;
  corpus_sample = malloc(corpus.total_bytes + 1);
  for (uint32_t d = 0; d < corpus.count; ++d) {
    memcpy(corpus_sample + corpus_sample_size, corpus.documents[d].text.data, corpus.documents[d].text.size);
    corpus_sample_size += corpus.documents[d].text.size;
  }
  free_tokenizer_corpus(&corpus);
  return corpus_sample_size > 0;
}

/* ------------------------------------------------------------------ children */

typedef struct child_report {
  int32_t status;
  double encode_seconds; /* of the encode call alone, when the body measured one */
  size_t count;          /* ids produced */
  char message[512];
} child_report;

typedef struct child_result {
  int signal; /* that ended the child (SIGALRM: the time limit), or 0 */
  int exited_cleanly;
  child_report report;
  long max_rss_kb;
  double seconds;
} child_result;

typedef void (*reporting_body)(const void* argument, child_report* report);

typedef struct {
  reporting_body body;
  const void* argument;
} reporting_task;

/* A child_task around a reporting body: the report is the reply. */
static int run_reporting_body(const void* argument, char* reply, size_t capacity, size_t* reply_size) {
  const reporting_task* task = argument;
  child_report report;
  memset(&report, 0, sizeof report);
  task->body(task->argument, &report);
  if (capacity < sizeof report) return 100;
  memcpy(reply, &report, sizeof report);
  *reply_size = sizeof report;
  return 0;
}

/* body(argument) in a limited child (hostile_files.h), killed after kSecondsPerChild. */
static child_result run_child(reporting_body body, const void* argument) {
  child_result result;
  memset(&result, 0, sizeof result);
  const reporting_task task = {body, argument};
  child_run run = run_limited_child(run_reporting_body, &task, (char*)&result.report, sizeof result.report, kHeadroom,
                                    kSecondsPerChild);
  result.seconds = run.seconds;
  result.max_rss_kb = run.max_rss_kb;
  result.signal = run.signal;
  result.exited_cleanly = !run.signal && run.exit_code == 0 && run.reply_size == sizeof result.report;
  return result;
}

static int acceptable_load_status(int status) {
  return status == SP_OK || status == SP_ERR_FORMAT || status == SP_ERR_UNSUPPORTED || status == SP_ERR_NOT_FOUND ||
         status == SP_ERR_IO || status == SP_ERR_OUT_OF_RANGE || status == SP_ERR_INVALID_ARGUMENT;
}

/* Fails unless the child ended normally with an acceptable status (and a message when not SP_OK). */
static void expect_survived(const char* label, const child_result* result) {
  if (result->signal)
    fail_msg("%s: the child was killed by %s (SIGALRM: over %u s)", label, strsignal(result->signal), kSecondsPerChild);
  if (!result->exited_cleanly) fail_msg("%s: the child did not report", label);
  if (!acceptable_load_status(result->report.status))
    fail_msg("%s: %s (%s)", label, sp_status_string(result->report.status), result->report.message);
  if (result->report.status != SP_OK && result->report.message[0] == '\0')
    fail_msg("%s: %s without a message", label, sp_status_string(result->report.status));
}

/* ------------------------------------------------------------------ encoding in a child */

static const char kSample[] =
    "Hello, world! Привет мир 你好 😀👨‍👩‍👧 <|endoftext|> [CLS] <s> 12345   \t\n end";

/* Encodes text (through the size protocol when the first buffer is short), then decodes the ids. */
static sp_status use_tokenizer(const sp_tokenizer* tokenizer, const char* text, size_t size, child_report* report) {
  size_t capacity = size + 64, count = 0;
  int32_t* ids = malloc(capacity * sizeof(int32_t));
  struct timespec begin, finish;
  clock_gettime(CLOCK_MONOTONIC, &begin);
  sp_status status = sp_tokenizer_encode(tokenizer, text, size, 1, ids, capacity, &count);
  if (status == SP_ERR_BUFFER_TOO_SMALL) {
    capacity = count;
    ids = realloc(ids, capacity * sizeof(int32_t));
    status = sp_tokenizer_encode(tokenizer, text, size, 1, ids, capacity, &count);
  }
  clock_gettime(CLOCK_MONOTONIC, &finish);
  report->encode_seconds = (double)(finish.tv_sec - begin.tv_sec) + 1e-9 * (double)(finish.tv_nsec - begin.tv_nsec);
  report->count = count;
  if (status == SP_OK && count > 0) {
    size_t decoded = 0;
    status = sp_tokenizer_decode(tokenizer, ids, count < 4096 ? count : 4096, 0, NULL, 0, &decoded);
    if (status == SP_ERR_BUFFER_TOO_SMALL) status = SP_OK;
  }
  free(ids);
  return status;
}

static void load_and_use_child(const void* path, child_report* report) {
  sp_tokenizer* tokenizer = NULL;
  sp_status status = sp_tokenizer_load(&tokenizer, (const char*)path);
  if (status == SP_OK) {
    if (!tokenizer) {
      snprintf(report->message, sizeof report->message, "SP_OK without a tokenizer");
      report->status = SP_ERR_INTERNAL;
      return;
    }
    status = use_tokenizer(tokenizer, kSample, sizeof kSample - 1, report);
    sp_tokenizer_free(tokenizer);
  }
  report->status = status;
  snprintf(report->message, sizeof report->message, "%s", status == SP_OK ? "" : sp_last_error());
}

/* ------------------------------------------------------------------ malformed files */

static const char* const kFiles[] = {"gpt2", "llama3",  "qwen2", "llama2",    "mistral",
                                     "bert", "roberta", "t5",    "gpt2-added"};
#define NUM_FILES (sizeof kFiles / sizeof *kFiles)

static buf read_reference_file(const char* name) {
  char path[1024];
  buf text = {0};
  snprintf(path, sizeof path, "%s/%s/tokenizer.json", reference_root, name);
  if (!read_file(path, &text)) fail_msg("cannot read %s", path);
  return text;
}

/* Writes `text` as <scratch>/<label>/tokenizer.json and returns the folder in `folder`. */
static void write_case(const char* label, buf text, char* folder, size_t folder_size) {
  char path[1200];
  snprintf(folder, folder_size, "%s/%s", scratch_root, label);
  make_dirs(folder);
  snprintf(path, sizeof path, "%s/tokenizer.json", folder);
  if (!write_file(path, text.data, text.size)) fail_msg("cannot write %s", path);
}

static void load_case(const char* label, buf text, int* statuses) {
  char folder[1024];
  write_case(label, text, folder, sizeof folder);
  child_result result = run_child(load_and_use_child, folder);
  if (result.signal || !result.exited_cleanly || !acceptable_load_status(result.report.status))
    printf("    %s: kept in %s\n", label, folder);
  expect_survived(label, &result);
  if (statuses) ++statuses[result.report.status >= 0 && result.report.status < 16 ? result.report.status : 15];
}

/* The first number after the `occurrence`-th key `"key":` in text, replaced by `value`. */
static int replace_number_after(buf* text, const char* key, const char* value) {
  const char* at = strstr((const char*)text->data, key);
  if (!at) return 0;
  at += strlen(key);
  while (*at && !(*at >= '0' && *at <= '9')) ++at;
  if (!*at) return 0;
  size_t start = (size_t)(at - (const char*)text->data), end = start;
  while (end < text->size && text->data[end] >= '0' && text->data[end] <= '9') ++end;
  buf_splice(text, start, end - start, value, strlen(value));
  return 1;
}

static void named_files_give_a_status(void** state) {
  (void)state;
  static const char* const small[][2] = {
      {"empty", ""},
      {"null", "null"},
      {"empty-object", "{}"},
      {"array", "[1,2,3]"},
      {"not-json", "tokenizer"},
      {"model-null", "{\"model\": null}"},
      {"model-unknown", "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {}}}"},
      {"bpe-empty", "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}"},
      {"bpe-bad-merge", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a zz\", [\"q\"]]}}"},
      {"wordpiece-no-unk", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}, \"unk_token\": \"[UNK]\"}}"},
      {"unigram-bad-unk", "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", -1.0]], \"unk_id\": 5}}"},
      {"unigram-nan", "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"], [\"b\"]], \"unk_id\": 0}}"},
      {"added-huge-id",
       "{\"added_tokens\": [{\"id\": 2147483647, \"content\": \"<x>\", \"special\": true, \"single_word\": false,"
       " \"lstrip\": false, \"rstrip\": false, \"normalized\": false}],"
       " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}"},
      {"vocab-huge-id", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2147483647}, \"merges\": []}}"},
      {"vocab-negative-id", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -5}, \"merges\": []}}"},
      {"precompiled-garbage",
       "{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"////AAAA!!\"},"
       " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}"},
      {"split-bad-regex",
       "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(((\"}, \"behavior\": \"Isolated\","
       " \"invert\": false}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}"},
      {"template-unknown-token",
       "{\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<q>\","
       " \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {}}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\":"
       " 0}, \"merges\": []}}"},
  };
  for (size_t i = 0; i < sizeof small / sizeof *small; ++i) {
    buf text = buf_from(small[i][1], strlen(small[i][1]));
    char label[128];
    snprintf(label, sizeof label, "named-%s", small[i][0]);
    load_case(label, text, NULL);
    buf_free(&text);
  }
  /* 200000 nested arrays, and the same inside the model. */
  buf nested = {0};
  for (int i = 0; i < 200000; ++i) buf_append(&nested, "[", 1);
  for (int i = 0; i < 200000; ++i) buf_append(&nested, "]", 1);
  load_case("named-nested-arrays", nested, NULL);
  buf inside = buf_from("{\"model\": {\"type\": \"BPE\", \"vocab\": ", 34);
  buf_append(&inside, nested.data, nested.size);
  buf_append(&inside, "}}", 2);
  load_case("named-nested-in-model", inside, NULL);
  buf_free(&inside);
  buf_free(&nested);
  /* Real files with one id pushed to the edge of int32 (a dense id table would take 2^31 entries). */
  static const char* const edges[] = {"2147483647", "2147483646", "4294967295", "99999999999999999999"};
  for (size_t e = 0; e < sizeof edges / sizeof *edges; ++e) {
    buf text = read_reference_file("gpt2");
    char label[128];
    if (!replace_number_after(&text, "\"vocab\":", edges[e])) fail_msg("gpt2: no vocab number");
    snprintf(label, sizeof label, "named-gpt2-vocab-id-%s", edges[e]);
    load_case(label, text, NULL);
    buf_free(&text);
    text = read_reference_file("gpt2");
    if (!replace_number_after(&text, "\"id\":", edges[e])) fail_msg("gpt2: no added-token id");
    snprintf(label, sizeof label, "named-gpt2-added-id-%s", edges[e]);
    load_case(label, text, NULL);
    buf_free(&text);
  }
  /* tokenizer.json that is a folder */
  char folder[1024], inner[1200];
  snprintf(folder, sizeof folder, "%s/named-json-is-folder", scratch_root);
  snprintf(inner, sizeof inner, "%s/tokenizer.json", folder);
  make_dirs(inner);
  child_result result = run_child(load_and_use_child, folder);
  expect_survived("named-json-is-folder", &result);
  assert_int_not_equal(result.report.status, SP_OK);
}

/* Tokenizer-specific replacements on top of hostile_files.h's values. */
static const char* const kTokenizerValues[] = {"\"NoSuchType\"",
                                               "\"BPE\"",
                                               "\"WordPiece\"",
                                               "\"Unigram\"",
                                               "\"Sequence\"",
                                               "\"Split\"",
                                               "\"Metaspace\"",
                                               "\"ByteLevel\"",
                                               "\"Precompiled\"",
                                               "\"TemplateProcessing\"",
                                               "\"Isolated\"",
                                               "\"\\u0000\"",
                                               "\"\\ud800\"",
                                               "{\"Regex\": \"(\"}",
                                               "{\"String\": \"\"}",
                                               "[[\"a\", 1e308]]",
                                               "[\"a b\"]",
                                               "1e999",
                                               "-1e999",
                                               "123456789012345678901234567890"};
static const char* const kTokenizerKeys[] = {
    "\"type\"",           "\"model\"",         "\"vocab\"",   "\"merges\"",
    "\"normalizer\"",     "\"pre_tokenizer\"", "\"decoder\"", "\"post_processor\"",
    "\"added_tokens\"",   "\"pattern\"",       "\"content\"", "\"id\"",
    "\"special_tokens\"", "\"unk_token\"",     "\"x\"",       "\"single\""};

enum mutation_kind { TRUNCATE, BYTE_EDIT, DELETE_KEY, WRONG_TYPE, HUGE_NUMBER, UNKNOWN_TYPE, MUTATION_KINDS };
static const char* const kMutationNames[] = {"truncation", "byte edit",   "deleted key",
                                             "wrong type", "huge number", "unknown type"};

/* One mutation of kind `kind`; returns 0 when the text offers no place for it. */
static int mutate_tokenizer_json(buf* text, rng* r, int kind) {
  static json_token tokens[20000];
  size_t count = json_tokens((const char*)text->data, text->size, tokens, 20000);
  if (kind == TRUNCATE) {
    text->size = rng_below(r, text->size);
    return 1;
  }
  if (kind == BYTE_EDIT) {
    int edits = 1 + (int)rng_below(r, 4);
    for (int i = 0; i < edits; ++i) mutate_bytes(text, r);
    return 1;
  }
  /* Candidates: keys for DELETE_KEY, values after "type" for UNKNOWN_TYPE, numbers for
   * HUGE_NUMBER, any value for WRONG_TYPE. Most tokens of a file are vocabulary entries; three
   * times in four the pick is among the components before "vocab" (normalizer, pre-tokenizer,
   * post-processor, decoder, added tokens, the model's options). */
  size_t structural = 0;
  while (structural < count && !(tokens[structural].is_key && tokens[structural].end - tokens[structural].start == 7 &&
                                 memcmp(text->data + tokens[structural].start, "\"vocab\"", 7) == 0))
    ++structural;
  for (int attempt = 0; attempt < 2000 && count > 0; ++attempt) {
    size_t i = rng_below(r, 4) && structural > 1 ? rng_below(r, structural) : rng_below(r, count);
    json_token t = tokens[i];
    const char* at = (const char*)text->data + t.start;
    const char* with = NULL;
    if (kind == DELETE_KEY && t.is_key) {
      with = rng_below(r, 2) ? "\"deleted_key\"" : kTokenizerKeys[rng_below(r, sizeof kTokenizerKeys / sizeof(char*))];
    } else if (kind == UNKNOWN_TYPE && !t.is_key && i > 0 && tokens[i - 1].is_key &&
               tokens[i - 1].end - tokens[i - 1].start == 6 &&
               memcmp(text->data + tokens[i - 1].start, "\"type\"", 6) == 0) {
      with = rng_below(r, 3) ? "\"NoSuchComponent\"" : kTokenizerValues[rng_below(r, 11)];
    } else if (kind == HUGE_NUMBER && !t.is_key && ((*at >= '0' && *at <= '9') || *at == '-')) {
      static const char* const huge[] = {"2147483647",          "2147483648", "4294967296",           "-1",
                                         "-2147483648",         "1e308",      "18446744073709551616", "1e999",
                                         "9223372036854775807", "0.5"};
      with = huge[rng_below(r, sizeof huge / sizeof *huge)];
    } else if (kind == WRONG_TYPE && !t.is_key) {
      with = rng_below(r, 2) ? kHostileValues[rng_below(r, sizeof kHostileValues / sizeof *kHostileValues)]
                             : kTokenizerValues[rng_below(r, sizeof kTokenizerValues / sizeof *kTokenizerValues)];
    }
    if (with) {
      buf_splice(text, t.start, t.end - t.start, with, strlen(with));
      return 1;
    }
  }
  return 0;
}

/* A component type the library does not know is refused with SP_ERR_UNSUPPORTED naming the type
 * and where it is, in every stage and inside a Sequence, never skipped. */
static void unknown_components_are_unsupported_and_named(void** state) {
  (void)state;
  static const char* const model = "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}";
  static const char* const cases[][3] = {
      /* stage JSON, the type, where the message must point */
      {"\"normalizer\": {\"type\": \"NoSuchNormalizer\"}", "NoSuchNormalizer", "normalizer"},
      {"\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"Nope\"}]}", "Nope",
       "normalizer"},
      {"\"pre_tokenizer\": {\"type\": \"UnicodeScripts\"}", "UnicodeScripts", "pre_tokenizer"},
      {"\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"FixedLength\", \"length\": 5}]}",
       "FixedLength", "pre_tokenizer"},
      {"\"post_processor\": {\"type\": \"NoSuchProcessor\"}", "NoSuchProcessor", "post_processor"},
      {"\"decoder\": {\"type\": \"NoSuchDecoder\"}", "NoSuchDecoder", "decoder"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    char json[1024], label[64], folder[1024];
    snprintf(json, sizeof json, "{%s, %s}", cases[i][0], model);
    snprintf(label, sizeof label, "unknown-%zu", i);
    buf text = buf_from(json, strlen(json));
    write_case(label, text, folder, sizeof folder);
    buf_free(&text);
    sp_tokenizer* tokenizer = NULL;
    SP_EXPECT_ERROR(sp_tokenizer_load(&tokenizer, folder), SP_ERR_UNSUPPORTED, cases[i][1]);
    if (!strstr(sp_last_error(), cases[i][2])) fail_msg("\"%s\" does not say where: %s", cases[i][1], sp_last_error());
    assert_null(tokenizer);
  }
  char json[256], folder[1024];
  snprintf(json, sizeof json, "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {}}}");
  buf text = buf_from(json, strlen(json));
  write_case("unknown-model", text, folder, sizeof folder);
  buf_free(&text);
  sp_tokenizer* tokenizer = NULL;
  SP_EXPECT_ERROR(sp_tokenizer_load(&tokenizer, folder), SP_ERR_UNSUPPORTED, "NoSuchModel");
}

static void mutated_files_give_a_status(void** state) {
  (void)state;
  rng r = {0x70c3e5u};
  int statuses[16] = {0};
  int per_kind[MUTATION_KINDS] = {0};
  double slowest = 0.0;
  char slowest_label[200] = "";
  for (size_t f = 0; f < NUM_FILES; ++f) {
    buf original = read_reference_file(kFiles[f]);
    for (int m = 0; m < mutants_per_file; ++m) {
      int kind = m % MUTATION_KINDS;
      buf text = buf_copy(original);
      if (!mutate_tokenizer_json(&text, &r, kind)) {
        buf_free(&text);
        continue;
      }
      ++per_kind[kind];
      char label[160], folder[1024];
      snprintf(label, sizeof label, "mutant-%s-%03d", kFiles[f], m);
      write_case(label, text, folder, sizeof folder);
      child_result result = run_child(load_and_use_child, folder);
      char described[1400];
      snprintf(described, sizeof described, "%s (%s, kept in %s)", label, kMutationNames[kind], folder);
      expect_survived(described, &result);
      ++statuses[result.report.status >= 0 && result.report.status < 16 ? result.report.status : 15];
      if (result.seconds > slowest) {
        slowest = result.seconds;
        snprintf(slowest_label, sizeof slowest_label, "%s (%s)", label, kMutationNames[kind]);
      }
      buf_free(&text);
    }
    buf_free(&original);
  }
  printf("    mutants per kind:");
  for (int k = 0; k < MUTATION_KINDS; ++k) printf(" %s %d;", kMutationNames[k], per_kind[k]);
  printf("\n    statuses:");
  for (int s = 0; s < 16; ++s)
    if (statuses[s]) printf(" %s %d;", sp_status_string((sp_status)s), statuses[s]);
  printf("\n    slowest child %.2f s: %s\n", slowest, slowest_label);
  assert_true(statuses[SP_OK] + statuses[SP_ERR_FORMAT] + statuses[SP_ERR_UNSUPPORTED] > 0);
}

/* ------------------------------------------------------------------ hostile text */

typedef struct text_case {
  const char* tokenizer;
  const char* text;
  size_t size;
} text_case;

static void encode_child(const void* argument, child_report* report) {
  const text_case* c = (const text_case*)argument;
  char folder[1024];
  snprintf(folder, sizeof folder, "%s/%s", reference_root, c->tokenizer);
  sp_tokenizer* tokenizer = NULL;
  sp_status status = sp_tokenizer_load(&tokenizer, folder);
  if (status == SP_OK) {
    status = c->text ? use_tokenizer(tokenizer, c->text, c->size, report) : SP_OK; /* NULL: load only */
    sp_tokenizer_free(tokenizer);
  }
  report->status = status;
  snprintf(report->message, sizeof report->message, "%s", status == SP_OK ? "" : sp_last_error());
}

static const char* const kFamilies[] = {"gpt2",    "llama3", "qwen2",   "llama2", "mistral", "bert",
                                        "roberta", "t5",     "t5-nfkc", "minilm", "smollm2"};
#define NUM_FAMILIES (sizeof kFamilies / sizeof *kFamilies)

/* `size` bytes of random lowercase letters (one word). */
static char* random_word(size_t size, uint64_t seed) {
  rng r = {seed};
  char* text = malloc(size);
  for (size_t i = 0; i < size; ++i) text[i] = (char)('a' + rng_below(&r, 26));
  return text;
}

static char* repeated(const char* unit, size_t unit_size, size_t size) {
  char* text = malloc(size);
  for (size_t i = 0; i < size; ++i) text[i] = unit[i % unit_size];
  return text;
}

static void hostile_text_gives_a_result_or_a_status(void** state) {
  (void)state;
  const size_t big = SP_UNDER_ASAN ? (size_t)2 << 20 : (size_t)10 << 20;
  const size_t run = SP_UNDER_ASAN ? (size_t)250000 : (size_t)1000000;
  static const char cjk[] = "字";
  static const char zwj[] = "👨‍👩‍👧‍👦";
  struct {
    const char* name;
    char* text;
    size_t size;
    int valid;
  } inputs[] = {
      {"single word", random_word(big, 42), big, 1},
      {"spaces", repeated(" ", 1, run), run, 1},
      {"newlines", repeated("\n", 1, run), run, 1},
      {"NUL bytes", repeated("\0", 1, run), run, 1},
      {"one CJK character", repeated(cjk, 3, 3 * run / 3), 3 * (run / 3), 1},
      {"ZWJ family emoji", repeated(zwj, sizeof zwj - 1, (sizeof zwj - 1) * (run / 25)), (sizeof zwj - 1) * (run / 25),
       1},
      {"lone surrogate ED A0 80", strdup("abc \xED\xA0\x80 def"), 11, 0},
      {"overlong C0 AF", strdup("abc \xC0\xAF def"), 10, 0},
      {"overlong E0 80 AF", strdup("abc \xE0\x80\xAF def"), 11, 0},
      {"truncated E2 82 at the end", strdup("abc \xE2\x82"), 6, 0},
      {"truncated F0 9F 98 then text", strdup("\xF0\x9F\x98 def"), 7, 0},
  };
  const size_t count = sizeof inputs / sizeof *inputs;
  for (size_t f = 0; f < NUM_FAMILIES; ++f) {
    for (size_t i = 0; i < count; ++i) {
      text_case c = {kFamilies[f], inputs[i].text, inputs[i].size};
      child_result result = run_child(encode_child, &c);
      char label[200];
      snprintf(label, sizeof label, "%s: %s (%zu bytes)", kFamilies[f], inputs[i].name, inputs[i].size);
      expect_survived(label, &result);
      if (inputs[i].size > 100000)
        printf("    %-50s %s, %zu ids, encode %.3f s (%.1f MB/s), peak RSS %ld MB\n", label,
               sp_status_string(result.report.status), result.report.count, result.report.encode_seconds,
               (double)inputs[i].size / 1e6 / (result.report.encode_seconds > 0 ? result.report.encode_seconds : 1e-9),
               result.max_rss_kb / 1024);
      int want = inputs[i].valid ? SP_OK : SP_ERR_INVALID_ARGUMENT;
      if (result.report.status != want)
        fail_msg("%s: %s, expected %s (%s)", label, sp_status_string(result.report.status), sp_status_string(want),
                 result.report.message);
    }
  }
  for (size_t i = 0; i < count; ++i) free(inputs[i].text);
}

/* ------------------------------------------------------------------ linearity */

static void time_and_memory_grow_linearly(void** state) {
  (void)state;
  static const char* const tokenizers[] = {"gpt2", "llama3", "llama2", "bert", "t5"};
  const size_t base = SP_UNDER_ASAN ? (size_t)256 << 10 : (size_t)1 << 20;
  for (size_t t = 0; t < sizeof tokenizers / sizeof *tokenizers; ++t) {
    text_case load_only = {tokenizers[t], NULL, 0};
    child_result idle = run_child(encode_child, &load_only);
    expect_survived(tokenizers[t], &idle);
    for (int kind = 0; kind < 3; ++kind) {
      static const char* const kinds[] = {"single word", "spaces", "corpus text"};
      double seconds[3] = {0};
      long extra_kb[3] = {0};
      for (int scale = 0; scale < 3; ++scale) {
        size_t size = base << scale;
        char* text = kind == 0   ? random_word(size, 7)
                     : kind == 1 ? repeated(" ", 1, size)
                                 : repeated(corpus_sample, corpus_sample_size, size);
        if (kind == 2) /* cut at a character boundary */
          while (size > 0 && ((unsigned char)text[size - 1] & 0xC0) == 0x80) --size;
        if (kind == 2 && size > 0 && (unsigned char)text[size - 1] >= 0xC0) --size;
        text_case c = {tokenizers[t], text, size};
        child_result result = run_child(encode_child, &c);
        char label[160];
        snprintf(label, sizeof label, "%s, %s, %zu bytes", tokenizers[t], kinds[kind], size);
        expect_survived(label, &result);
        if (result.report.status != SP_OK) fail_msg("%s: %s", label, result.report.message);
        seconds[scale] = result.report.encode_seconds;
        extra_kb[scale] = result.max_rss_kb - idle.max_rss_kb;
        free(text);
      }
      printf(
          "    %-8s %-12s 1x %.3f s, 2x %.3f s, 4x %.3f s (4x/1x %.1f%s); peak RSS over the loaded tokenizer "
          "%ld, %ld, %ld MB\n",
          tokenizers[t], kinds[kind], seconds[0], seconds[1], seconds[2],
          seconds[0] > 0 ? seconds[2] / seconds[0] : 0.0,
          seconds[0] > 0 && seconds[2] / seconds[0] > 8 ? ", worse than linear?" : "", extra_kb[0] / 1024,
          extra_kb[1] / 1024, extra_kb[2] / 1024);
      if (!SP_UNDER_ASAN) {
        /* Generous: under 1 KB of peak memory per input byte, and 4x the input may not need more
         * than 8x the memory of 1x (plus 64 MB of slack for allocator and page granularity). */
        const long four_x_bytes = (long)(base << 2);
        if (extra_kb[2] * 1024 > four_x_bytes * 1024)
          fail_msg("%s, %s: %ld MB of peak memory for %ld bytes of text", tokenizers[t], kinds[kind],
                   extra_kb[2] / 1024, four_x_bytes);
        if (extra_kb[2] > 8 * (extra_kb[0] > 0 ? extra_kb[0] : 0) + 64 * 1024)
          fail_msg("%s, %s: peak memory grows faster than the input (%ld MB at 1x, %ld MB at 4x)", tokenizers[t],
                   kinds[kind], extra_kb[0] / 1024, extra_kb[2] / 1024);
      }
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s <tokenizer-reference-folder> <scratch-folder> [mutants per file]\n", argv[0]);
    return 2;
  }
  reference_root = argv[1];
  scratch_root = argv[2];
  if (argc == 4) mutants_per_file = atoi(argv[3]);
  make_dirs(scratch_root);
  if (!load_corpus_sample()) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(named_files_give_a_status),     cmocka_unit_test(unknown_components_are_unsupported_and_named),
      cmocka_unit_test(mutated_files_give_a_status),   cmocka_unit_test(hostile_text_gives_a_result_or_a_status),
      cmocka_unit_test(time_and_memory_grow_linearly),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  free(corpus_sample);
  return failed;
}
