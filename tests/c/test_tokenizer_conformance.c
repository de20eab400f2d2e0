/* Tokenizer conformance through the C API: for every tokenizer folder that
 * tests/reference/tokenizer_reference.py wrote, every corpus document encodes to the ids Hugging
 * Face `tokenizers` gives (with and without special tokens), the reference ids decode to its text
 * (skipping special tokens and not), and the vocabulary, its size and the special ids agree.
 * Differences are counted per tokenizer and the first of each kind is printed in detail (document,
 * position, ids and tokens on both sides, the text around it) before the test fails. A folder
 * holding tokenizer.gguf is a GGUF case: the GGUF file is loaded, and the reference is the tokenizer
 * transformers builds from it (AutoTokenizer.from_pretrained(folder, gguf_file=...)).
 * Then the API's contract on these files: the size protocol of every output, invalid UTF-8 refused
 * with the byte offset, ids outside the vocabulary refused.
 *
 *   test_tokenizer_conformance <tokenizer-reference-folder> */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "softprompt/softprompt.h"
#include "test_support.h"
#include "tokenizer_corpus.h"

#define MAX_TOKENIZERS 32

static const char* reference_root;
static tokenizer_corpus corpus;
static char tokenizer_names[MAX_TOKENIZERS][64];
static int tokenizer_count;

/* ------------------------------------------------------------------------------ printing */

/* `size` bytes of text on one line, escaped (control bytes and backslashes as \xNN). */
static void print_escaped(const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = (unsigned char)data[i];
    if (c < 0x20 || c == 0x7f || c == '\\')
      printf("\\x%02x", c);
    else
      putchar(c);
  }
}

/* The reference's vocabulary string of `id`, escaped. */
static void print_token(const tokenizer_expected* expected, int32_t id) {
  if (id >= 0 && (uint32_t)id < expected->vocab_size && expected->vocab[id].present) {
    putchar('"');
    print_escaped(expected->vocab[id].token.data, expected->vocab[id].token.size);
    putchar('"');
  } else {
    printf("<no token>");
  }
}

/* Ids [from, to) of one side, each with its token. */
static void print_id_window(const char* side, const tokenizer_expected* expected, const int32_t* ids, size_t count,
                            size_t from, size_t to) {
  printf("      %-6s", side);
  for (size_t i = from; i < to && i < count; ++i) {
    printf(" %d=", ids[i]);
    print_token(expected, ids[i]);
  }
  if (to < count) printf(" ...");
  printf("\n");
}

/* The first difference of two id lists: position, ids and tokens around it, and the text those
 * reference ids stand for (the tokens of the window joined). */
static void print_ids_mismatch(const char* what, const corpus_document* document, const tokenizer_expected* expected,
                               const int32_t* ours, size_t our_count, const corpus_ids* theirs) {
  size_t position = 0;
  while (position < our_count && position < theirs->count && ours[position] == theirs->data[position]) ++position;
  size_t from = position > 6 ? position - 6 : 0;
  printf("    first mismatch (%s) in %.*s (%u bytes): at id %zu of ours %zu / theirs %u\n", what,
         (int)document->label.size, document->label.data, document->text.size, position, our_count, theirs->count);
  print_id_window("ours", expected, ours, our_count, from, position + 8);
  print_id_window("theirs", expected, theirs->data, theirs->count, from, position + 8);
  /* Where in the text: the reference tokens before the position hold about that many bytes of it. */
  size_t approximate = 0;
  for (size_t i = 0; i < position && i < theirs->count; ++i) {
    int32_t id = theirs->data[i];
    if (id >= 0 && (uint32_t)id < expected->vocab_size && expected->vocab[id].present)
      approximate += expected->vocab[id].token.size;
  }
  if (approximate > document->text.size) approximate = document->text.size;
  size_t start = approximate > 60 ? approximate - 60 : 0;
  size_t end = approximate + 60 < document->text.size ? approximate + 60 : document->text.size;
  printf("      text near byte ~%zu: \"", approximate);
  print_escaped(document->text.data + start, end - start);
  printf("\"\n");
}

static void print_text_mismatch(const char* what, const corpus_document* document, const char* ours, size_t our_size,
                                const corpus_text* theirs) {
  size_t position = 0;
  while (position < our_size && position < theirs->size && ours[position] == theirs->data[position]) ++position;
  size_t from = position > 40 ? position - 40 : 0;
  printf("    first mismatch (%s) in %.*s: at byte %zu of ours %zu / theirs %u\n", what, (int)document->label.size,
         document->label.data, position, our_size, theirs->size);
  printf("      ours   \"");
  print_escaped(ours + from, (our_size < position + 40 ? our_size : position + 40) - from);
  printf("\"\n      theirs \"");
  print_escaped(theirs->data + from, (theirs->size < position + 40 ? theirs->size : position + 40) - from);
  printf("\"\n");
}

/* ------------------------------------------------------------------------------ calls */

/* Encodes through the size protocol: a first call into `*ids` (capacity *capacity), and when the
 * library says the buffer is too small, a second into a buffer of the size it reported. */
static sp_status encode_grow(const sp_tokenizer* tokenizer, const corpus_text* text, int add_special, int32_t** ids,
                             size_t* capacity, size_t* count) {
  sp_status status = sp_tokenizer_encode(tokenizer, text->data, text->size, add_special, *ids, *capacity, count);
  if (status != SP_ERR_BUFFER_TOO_SMALL) return status;
  if (*count <= *capacity) fail_msg("encode said BUFFER_TOO_SMALL with count %zu <= capacity %zu", *count, *capacity);
  *capacity = *count;
  *ids = realloc(*ids, *capacity * sizeof(int32_t));
  assert_non_null(*ids);
  return sp_tokenizer_encode(tokenizer, text->data, text->size, add_special, *ids, *capacity, count);
}

static sp_status decode_grow(const sp_tokenizer* tokenizer, const corpus_ids* ids, int skip, char** text,
                             size_t* capacity, size_t* size) {
  sp_status status = sp_tokenizer_decode(tokenizer, ids->data, ids->count, skip, *text, *capacity, size);
  if (status != SP_ERR_BUFFER_TOO_SMALL) return status;
  if (*size + 1 <= *capacity) fail_msg("decode said BUFFER_TOO_SMALL with size %zu, capacity %zu", *size, *capacity);
  *capacity = *size + 1;
  *text = realloc(*text, *capacity);
  assert_non_null(*text);
  return sp_tokenizer_decode(tokenizer, ids->data, ids->count, skip, *text, *capacity, size);
}

/* What a case loads: <folder>/tokenizer.gguf when the case is a GGUF file (its tokenizer.json is
 * then transformers' conversion, for the expected values only), else the folder. */
static const char* tokenizer_source(char* path, size_t size, const char* folder) {
  struct stat info;
  snprintf(path, size, "%s/tokenizer.gguf", folder);
  if (stat(path, &info) == 0) return path;
  snprintf(path, size, "%s", folder);
  return path;
}

static sp_tokenizer* load_reference_tokenizer(const char* name) {
  char folder[1024], source[1100];
  sp_tokenizer* tokenizer = NULL;
  snprintf(folder, sizeof folder, "%s/%s", reference_root, name);
  SP_CHECK(sp_tokenizer_load(&tokenizer, tokenizer_source(source, sizeof source, folder)));
  return tokenizer;
}

/* ------------------------------------------------------------------------------ conformance */

typedef struct difference_counts {
  size_t encode_special, encode_plain, decode, decode_skip, encode_errors, decode_errors;
} difference_counts;

/* Every document of the corpus, both ways each. */
static void compare_documents(const sp_tokenizer* tokenizer, const tokenizer_expected* expected,
                              difference_counts* differences) {
  size_t id_capacity = 1024, text_capacity = 1 << 16;
  int32_t* ids = malloc(id_capacity * sizeof(int32_t));
  char* text = malloc(text_capacity);
  assert_true(ids && text);
  for (uint32_t d = 0; d < corpus.count; ++d) {
    const corpus_document* document = &corpus.documents[d];
    const corpus_expected_document* reference = &expected->documents[d];
    for (int add_special = 1; add_special >= 0; --add_special) {
      const corpus_ids* theirs = add_special ? &reference->with_special : &reference->without_special;
      size_t count = 0;
      sp_status status = encode_grow(tokenizer, &document->text, add_special, &ids, &id_capacity, &count);
      size_t* counter = add_special ? &differences->encode_special : &differences->encode_plain;
      if (status != SP_OK) {
        if (differences->encode_errors++ == 0)
          printf("    first encode error in %.*s: %s: %s\n", (int)document->label.size, document->label.data,
                 sp_status_string(status), sp_last_error());
        ++*counter;
        continue;
      }
      if (count != theirs->count || memcmp(ids, theirs->data, count * sizeof(int32_t)) != 0) {
        if ((*counter)++ == 0)
          print_ids_mismatch(add_special ? "encode, special tokens" : "encode, no special tokens", document, expected,
                             ids, count, theirs);
      }
    }
    for (int skip = 0; skip <= 1; ++skip) {
      const corpus_text* theirs = skip ? &reference->decoded_skip : &reference->decoded;
      size_t size = 0;
      sp_status status = decode_grow(tokenizer, &reference->with_special, skip, &text, &text_capacity, &size);
      size_t* counter = skip ? &differences->decode_skip : &differences->decode;
      if (status != SP_OK) {
        if (differences->decode_errors++ == 0)
          printf("    first decode error in %.*s: %s: %s\n", (int)document->label.size, document->label.data,
                 sp_status_string(status), sp_last_error());
        ++*counter;
        continue;
      }
      if (text[size] != '\0')
        fail_msg("decode of %.*s: no NUL after the text", (int)document->label.size, document->label.data);
      if (size != theirs->size || memcmp(text, theirs->data, size) != 0) {
        if ((*counter)++ == 0)
          print_text_mismatch(skip ? "decode, skipping special tokens" : "decode", document, text, size, theirs);
      }
    }
  }
  free(ids);
  free(text);
}

/* id -> token over the whole vocabulary, token -> id back; returns the differing ids. */
static size_t compare_vocabulary(const sp_tokenizer* tokenizer, const tokenizer_expected* expected) {
  size_t differing = 0, capacity = 256;
  char* token = malloc(capacity);
  assert_non_null(token);
  for (uint32_t id = 0; id < expected->vocab_size; ++id) {
    const corpus_vocab_entry* entry = &expected->vocab[id];
    size_t size = 0;
    sp_status status = sp_tokenizer_id_to_token(tokenizer, (int32_t)id, token, capacity, &size);
    if (status == SP_ERR_BUFFER_TOO_SMALL) {
      capacity = size + 1;
      token = realloc(token, capacity);
      assert_non_null(token);
      status = sp_tokenizer_id_to_token(tokenizer, (int32_t)id, token, capacity, &size);
    }
    if (!entry->present) continue; /* an unused id: any status but a crash */
    int same = status == SP_OK && size == entry->token.size && memcmp(token, entry->token.data, size) == 0;
    int32_t back = -1;
    sp_status back_status = sp_tokenizer_token_to_id(tokenizer, entry->token.data, entry->token.size, &back);
    /* token_to_id of that string as tokenizers answers it: usually the id, another id for a string
     * held twice, none for a normalized added token (its id_to_token is the normalized content). */
    int back_ok = entry->back_id < 0 ? back_status == SP_ERR_NOT_FOUND : back_status == SP_OK && back == entry->back_id;
    if (!same || !back_ok) {
      if (differing++ == 0) {
        printf("    first vocabulary mismatch: id %u, theirs ", id);
        print_token(expected, (int32_t)id);
        printf(", ours %s \"", sp_status_string(status));
        if (status == SP_OK) print_escaped(token, size);
        printf("\", token_to_id gives %s %d (tokenizers: %d)\n", sp_status_string(back_status), back, entry->back_id);
      }
    }
  }
  free(token);
  return differing;
}

/* bos eos pad unk as transformers reads them from the folder (special_ids.txt). */
static int compare_special_ids(const char* name, const sp_tokenizer* tokenizer) {
  char path[1024];
  int32_t want[4] = {-1, -1, -1, -1};
  snprintf(path, sizeof path, "%s/%s/special_ids.txt", reference_root, name);
  FILE* file = fopen(path, "r");
  if (!file) fail_msg("cannot open %s", path);
  if (fscanf(file, "%d %d %d %d", &want[0], &want[1], &want[2], &want[3]) != 4) fail_msg("malformed %s", path);
  fclose(file);
  sp_tokenizer_info info = sp_tokenizer_info_init();
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &info));
  int32_t ours[4] = {info.bos_id, info.eos_id, info.pad_id, info.unk_id};
  const char* names[4] = {"bos", "eos", "pad", "unk"};
  int differing = 0;
  for (int i = 0; i < 4; ++i) {
    if (ours[i] != want[i]) {
      printf("    %s id: ours %d, transformers %d\n", names[i], ours[i], want[i]);
      ++differing;
    }
  }
  return differing;
}

static void tokenizer_matches_reference(void** state) {
  const char* name = (const char*)*state;
  char folder[1024];
  tokenizer_expected expected;
  snprintf(folder, sizeof folder, "%s/%s", reference_root, name);
  if (!read_tokenizer_expected(folder, corpus.count, &expected)) fail_msg("no reference for %s", name);

  sp_tokenizer* tokenizer = NULL;
  char source[1100];
  sp_status status = sp_tokenizer_load(&tokenizer, tokenizer_source(source, sizeof source, folder));
  if (status != SP_OK) {
    printf("  %-12s does not load: %s: %s\n", name, sp_status_string(status), sp_last_error());
    free_tokenizer_expected(&expected);
    fail_msg("%s: sp_tokenizer_load returned %s", name, sp_status_string(status));
  }
  sp_tokenizer_info info = sp_tokenizer_info_init();
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &info));

  printf("  %s:\n", name);
  difference_counts differences = {0};
  compare_documents(tokenizer, &expected, &differences);
  size_t vocabulary = compare_vocabulary(tokenizer, &expected);
  int specials = compare_special_ids(name, tokenizer);
  int size_differs = info.vocab_size != (int64_t)expected.vocab_size;
  printf(
      "  %-12s %u documents, %llu bytes; differing documents: encode %zu, encode without specials %zu, "
      "decode %zu, decode skipping specials %zu; vocabulary %lld (theirs %u), differing ids %zu; "
      "special ids differing %d\n",
      name, corpus.count, (unsigned long long)corpus.total_bytes, differences.encode_special, differences.encode_plain,
      differences.decode, differences.decode_skip, (long long)info.vocab_size, expected.vocab_size, vocabulary,
      specials);
  sp_tokenizer_free(tokenizer);
  free_tokenizer_expected(&expected);
  if (differences.encode_special || differences.encode_plain || differences.decode || differences.decode_skip ||
      vocabulary || specials || size_differs)
    fail_msg("%s differs from tokenizers (see above)", name);
}

/* ------------------------------------------------------------------------------ the API contract */

static const corpus_text* first_document_longer_than(size_t bytes) {
  for (uint32_t d = 0; d < corpus.count; ++d)
    if (corpus.documents[d].text.size > bytes) return &corpus.documents[d].text;
  fail_msg("no corpus document over %zu bytes", bytes);
  return NULL;
}

/* NULL/0 and one-short buffers: SP_ERR_BUFFER_TOO_SMALL, the size, and nothing written. */
static void outputs_follow_the_size_protocol(void** state) {
  (void)state;
  const char* names[] = {"gpt2", "bert", "t5-nfkc", "llama2"};
  const corpus_text* text = first_document_longer_than(1000);
  for (size_t n = 0; n < sizeof names / sizeof *names; ++n) {
    sp_tokenizer* tokenizer = load_reference_tokenizer(names[n]);
    size_t count = 0;
    assert_int_equal(sp_tokenizer_encode(tokenizer, text->data, text->size, 1, NULL, 0, &count),
                     SP_ERR_BUFFER_TOO_SMALL);
    assert_true(count > 0);
    int32_t* ids = malloc((count + 1) * sizeof(int32_t));
    for (size_t i = 0; i <= count; ++i) ids[i] = -7;
    size_t short_count = 0;
    assert_int_equal(sp_tokenizer_encode(tokenizer, text->data, text->size, 1, ids, count - 1, &short_count),
                     SP_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(short_count, count);
    for (size_t i = 0; i <= count; ++i) assert_int_equal(ids[i], -7); /* nothing written */
    size_t exact = 0;
    SP_CHECK(sp_tokenizer_encode(tokenizer, text->data, text->size, 1, ids, count, &exact));
    assert_int_equal(exact, count);
    assert_int_equal(ids[count], -7);

    size_t size = 0;
    assert_int_equal(sp_tokenizer_decode(tokenizer, ids, count, 0, NULL, 0, &size), SP_ERR_BUFFER_TOO_SMALL);
    assert_true(size > 0);
    char* decoded = malloc(size + 2);
    memset(decoded, 'Z', size + 2);
    size_t short_size = 0;
    /* capacity == size leaves no room for the NUL */
    assert_int_equal(sp_tokenizer_decode(tokenizer, ids, count, 0, decoded, size, &short_size),
                     SP_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(short_size, size);
    for (size_t i = 0; i < size + 2; ++i) assert_int_equal(decoded[i], 'Z');
    size_t full = 0;
    SP_CHECK(sp_tokenizer_decode(tokenizer, ids, count, 0, decoded, size + 1, &full));
    assert_int_equal(full, size);
    assert_int_equal(decoded[size], '\0');
    assert_int_equal(decoded[size + 1], 'Z');

    size_t token_size = 0;
    assert_int_equal(sp_tokenizer_id_to_token(tokenizer, ids[1], NULL, 0, &token_size), SP_ERR_BUFFER_TOO_SMALL);
    assert_true(token_size > 0);
    char token[512];
    assert_true(token_size < sizeof token);
    memset(token, 'Z', sizeof token);
    assert_int_equal(sp_tokenizer_id_to_token(tokenizer, ids[1], token, token_size, &token_size),
                     SP_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(token[0], 'Z');
    SP_CHECK(sp_tokenizer_id_to_token(tokenizer, ids[1], token, token_size + 1, &token_size));
    assert_int_equal(token[token_size], '\0');
    int32_t back = -1;
    SP_CHECK(sp_tokenizer_token_to_id(tokenizer, token, token_size, &back));
    assert_int_equal(back, ids[1]);

    /* The empty text: NULL with size 0 is the empty text, not an error. */
    size_t empty_count = 99;
    int32_t empty_ids[8];
    SP_CHECK(sp_tokenizer_encode(tokenizer, NULL, 0, 0, empty_ids, 8, &empty_count));
    assert_int_equal(empty_count, 0);
    size_t empty_size = 99;
    char empty_text[4] = "xyz";
    SP_CHECK(sp_tokenizer_decode(tokenizer, NULL, 0, 0, empty_text, sizeof empty_text, &empty_size));
    assert_int_equal(empty_size, 0);
    assert_int_equal(empty_text[0], '\0');
    free(decoded);
    free(ids);
    sp_tokenizer_free(tokenizer);
  }
}

/* True when `message` holds one of the decimal numbers first .. last as a whole number. */
static int mentions_number_in(const char* message, size_t first, size_t last) {
  for (const char* at = message; *at; ++at) {
    if (*at < '0' || *at > '9' || (at > message && at[-1] >= '0' && at[-1] <= '9')) continue;
    char* end = NULL;
    unsigned long long value = strtoull(at, &end, 10);
    if (value >= first && value <= last) return 1;
  }
  return 0;
}

/* Each invalid UTF-8 form, after `prefix` valid bytes: SP_ERR_INVALID_ARGUMENT, and the message gives
 * the offset of the invalid bytes (the sequence's first byte, or one inside it). */
static void invalid_utf8_is_refused_with_its_offset(void** state) {
  (void)state;
  static const struct {
    const char* name;
    const char* bytes;
    size_t size;
  } forms[] = {
      {"stray continuation byte", "\x80", 1},
      {"overlong slash (C0 AF)", "\xC0\xAF", 2},
      {"overlong three-byte (E0 80 AF)", "\xE0\x80\xAF", 3},
      {"overlong four-byte (F0 80 80 AF)", "\xF0\x80\x80\xAF", 4},
      {"lone high surrogate (ED A0 80)", "\xED\xA0\x80", 3},
      {"lone low surrogate (ED B0 80)", "\xED\xB0\x80", 3},
      {"above U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80", 4},
      {"byte FF", "\xFF", 1},
      {"byte F8", "\xF8\x88\x80\x80\x80", 5},
      {"lead without continuation", "\xE2\x82 ", 3},
      {"truncated at the end", "\xF0\x9F\x98", 3},
  };
  const char* names[] = {"gpt2", "bert", "t5-nfkc", "llama2"};
  const size_t prefix = 1234; /* a distinctive offset: "a" * 1234 before the invalid bytes */
  char text[1300];
  memset(text, 'a', prefix);
  for (size_t n = 0; n < sizeof names / sizeof *names; ++n) {
    sp_tokenizer* tokenizer = load_reference_tokenizer(names[n]);
    for (size_t f = 0; f < sizeof forms / sizeof *forms; ++f) {
      memcpy(text + prefix, forms[f].bytes, forms[f].size);
      memcpy(text + prefix + forms[f].size, " tail", 5);
      int32_t ids[4096];
      size_t count = 0;
      sp_status status = sp_tokenizer_encode(tokenizer, text, prefix + forms[f].size + 5, 0, ids, 4096, &count);
      if (status != SP_ERR_INVALID_ARGUMENT)
        fail_msg("%s, %s: %s (expected SP_ERR_INVALID_ARGUMENT): %s", names[n], forms[f].name, sp_status_string(status),
                 sp_last_error());
      if (!mentions_number_in(sp_last_error(), prefix, prefix + forms[f].size - 1))
        fail_msg("%s, %s: the message \"%s\" gives no offset in %zu..%zu", names[n], forms[f].name, sp_last_error(),
                 prefix, prefix + forms[f].size - 1);
      /* with add_special_tokens too, and with a NULL buffer (validation before sizing) */
      assert_int_equal(sp_tokenizer_encode(tokenizer, text, prefix + forms[f].size + 5, 1, NULL, 0, &count),
                       SP_ERR_INVALID_ARGUMENT);
    }
    /* The same text with a valid 4-byte character there encodes. */
    memcpy(text + prefix, "\xF0\x9F\x98\x80", 4);
    size_t count = 0;
    int32_t ids[4096];
    SP_CHECK(sp_tokenizer_encode(tokenizer, text, prefix + 4, 0, ids, 4096, &count));
    sp_tokenizer_free(tokenizer);
  }
}

/* Ids outside the vocabulary: SP_ERR_OUT_OF_RANGE from decode and id_to_token; bad flags refused. */
static void bad_ids_and_flags_are_refused(void** state) {
  (void)state;
  sp_tokenizer* tokenizer = load_reference_tokenizer("gpt2");
  sp_tokenizer_info info = sp_tokenizer_info_init();
  SP_CHECK(sp_tokenizer_get_info(tokenizer, &info));
  char text[256];
  size_t size = 0;
  int32_t beyond[] = {5, 6, (int32_t)info.vocab_size};
  assert_int_equal(sp_tokenizer_decode(tokenizer, beyond, 3, 0, text, sizeof text, &size), SP_ERR_OUT_OF_RANGE);
  if (!mentions_number_in(sp_last_error(), 2, 2)) fail_msg("the message \"%s\" gives no position 2", sp_last_error());
  int32_t negative[] = {-1};
  assert_int_equal(sp_tokenizer_decode(tokenizer, negative, 1, 1, text, sizeof text, &size), SP_ERR_OUT_OF_RANGE);
  int32_t huge[] = {INT32_MAX};
  assert_int_equal(sp_tokenizer_decode(tokenizer, huge, 1, 0, NULL, 0, &size), SP_ERR_OUT_OF_RANGE);
  assert_int_equal(sp_tokenizer_id_to_token(tokenizer, (int32_t)info.vocab_size, text, sizeof text, &size),
                   SP_ERR_OUT_OF_RANGE);
  assert_int_equal(sp_tokenizer_id_to_token(tokenizer, -1, text, sizeof text, &size), SP_ERR_OUT_OF_RANGE);
  int32_t id = 0;
  assert_int_equal(sp_tokenizer_token_to_id(tokenizer, "no such token here", 18, &id), SP_ERR_NOT_FOUND);
  int32_t ids[16];
  size_t count = 0;
  assert_int_equal(sp_tokenizer_encode(tokenizer, "hi", 2, 2, ids, 16, &count), SP_ERR_INVALID_ARGUMENT);
  int32_t ok[] = {5};
  assert_int_equal(sp_tokenizer_decode(tokenizer, ok, 1, 2, text, sizeof text, &size), SP_ERR_INVALID_ARGUMENT);
  sp_tokenizer_free(tokenizer);

  sp_tokenizer* missing = NULL;
  char folder[1024];
  snprintf(folder, sizeof folder, "%s/no-such-tokenizer", reference_root);
  assert_int_equal(sp_tokenizer_load(&missing, folder), SP_ERR_NOT_FOUND);
  assert_null(missing);
  snprintf(folder, sizeof folder, "%s/gpt2/tokenizer.json", reference_root); /* the file itself loads too */
  SP_CHECK(sp_tokenizer_load(&missing, folder));
  sp_tokenizer_free(missing);
  sp_tokenizer_free(NULL);
}

int main(int argc, char** argv) {
  const char** folders[] = {&reference_root};
  if (!read_folder_arguments(argc, argv, "<tokenizer-reference-folder>", folders, 1)) return 2;
  if (!read_tokenizer_corpus(reference_root, &corpus)) return 2;
  tokenizer_count = read_tokenizer_names(reference_root, tokenizer_names, MAX_TOKENIZERS);
  if (tokenizer_count == 0) return 2;
  printf("corpus: %u documents, %llu bytes; %d tokenizers\n", corpus.count, (unsigned long long)corpus.total_bytes,
         tokenizer_count);

  struct CMUnitTest tests[MAX_TOKENIZERS + 3];
  int count = 0;
  for (int i = 0; i < tokenizer_count; ++i) {
    struct CMUnitTest test = {tokenizer_names[i], tokenizer_matches_reference, NULL, NULL, tokenizer_names[i]};
    tests[count++] = test;
  }
  const struct CMUnitTest contract[] = {
      cmocka_unit_test(outputs_follow_the_size_protocol),
      cmocka_unit_test(invalid_utf8_is_refused_with_its_offset),
      cmocka_unit_test(bad_ids_and_flags_are_refused),
  };
  for (size_t i = 0; i < sizeof contract / sizeof *contract; ++i) tests[count++] = contract[i];
  int failed = _cmocka_run_group_tests("tokenizer_conformance", tests, (size_t)count, NULL, NULL);
  free_tokenizer_corpus(&corpus);
  return failed;
}
