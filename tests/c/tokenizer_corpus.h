/* Readers of the tokenizer conformance files that tests/reference/tokenizer_reference.py writes
 * (its header documents the layout: little-endian, length-prefixed records). Plain C without
 * cmocka, shared by the tokenizer suites and bench/bench_tokenizer.c; a reader returns 0 and prints
 * why when a file is missing or malformed. */
#ifndef SP_TOKENIZER_CORPUS_H
#define SP_TOKENIZER_CORPUS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct corpus_text {
  const char* data; /* points into the file's buffer; not NUL-terminated */
  uint32_t size;
} corpus_text;

typedef struct corpus_ids {
  const int32_t* data; /* points into the file's buffer (copied to aligned memory when read) */
  uint32_t count;
} corpus_ids;

typedef struct corpus_document {
  corpus_text label; /* "faker/providers/lorem/ru_RU/__init__.py#3" or "generated:..." */
  corpus_text text;
} corpus_document;

typedef struct corpus_expected_document {
  corpus_ids with_special;    /* encode(text, add_special_tokens=True) */
  corpus_ids without_special; /* encode(text, add_special_tokens=False) */
  corpus_text decoded;        /* decode(with_special, skip_special_tokens=False) */
  corpus_text decoded_skip;   /* decode(with_special, skip_special_tokens=True) */
} corpus_expected_document;

typedef struct corpus_vocab_entry {
  int32_t present; /* 0: no token has this id */
  corpus_text token;
  int32_t back_id; /* token_to_id(token) in tokenizers; -1: None */
} corpus_vocab_entry;

typedef struct tokenizer_corpus {
  char* buffer;
  uint32_t count;
  corpus_document* documents;
  uint64_t total_bytes; /* of all texts */
} tokenizer_corpus;

typedef struct tokenizer_expected {
  char* buffer;
  int32_t* ids; /* every id list of the file, aligned */
  uint32_t count;
  corpus_expected_document* documents;
  uint32_t vocab_size;
  corpus_vocab_entry* vocab;
} tokenizer_expected;

/* The whole file into a malloc'ed buffer (*size bytes); NULL when it cannot be read. */
static inline char* corpus_read_file(const char* path, size_t* size) {
  FILE* file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "cannot open %s\n", path);
    return NULL;
  }
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  fseek(file, 0, SEEK_SET);
  char* data = (char*)malloc(length > 0 ? (size_t)length : 1);
  if (data && length > 0 && fread(data, 1, (size_t)length, file) != (size_t)length) {
    free(data);
    data = NULL;
  }
  fclose(file);
  if (!data) fprintf(stderr, "cannot read %s\n", path);
  *size = length > 0 ? (size_t)length : 0;
  return data;
}

/* A cursor over a file's bytes; `failed` is set on reading past the end. */
typedef struct corpus_cursor {
  const char* at;
  const char* end;
  int failed;
} corpus_cursor;

static inline uint32_t corpus_u32(corpus_cursor* cursor) {
  if (cursor->end - cursor->at < 4) {
    cursor->failed = 1;
    return 0;
  }
  const unsigned char* b = (const unsigned char*)cursor->at;
  cursor->at += 4;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline corpus_text corpus_bytes(corpus_cursor* cursor, uint32_t size) {
  corpus_text text = {cursor->at, 0};
  if ((size_t)(cursor->end - cursor->at) < size) {
    cursor->failed = 1;
    return text;
  }
  text.size = size;
  cursor->at += size;
  return text;
}

static inline corpus_text corpus_str(corpus_cursor* cursor) { return corpus_bytes(cursor, corpus_u32(cursor)); }

static inline int corpus_magic(corpus_cursor* cursor, const char* magic, const char* path) {
  if (cursor->end - cursor->at < 8 || memcmp(cursor->at, magic, 4) != 0) {
    fprintf(stderr, "%s: not a %s file\n", path, magic);
    return 0;
  }
  cursor->at += 4;
  if (corpus_u32(cursor) != 1) {
    fprintf(stderr, "%s: unknown version\n", path);
    return 0;
  }
  return 1;
}

static inline void free_tokenizer_corpus(tokenizer_corpus* corpus) {
  free(corpus->documents);
  free(corpus->buffer);
  memset(corpus, 0, sizeof *corpus);
}

/* <folder>/corpus.bin. */
static inline int read_tokenizer_corpus(const char* folder, tokenizer_corpus* corpus) {
  char path[1024];
  size_t size = 0;
  memset(corpus, 0, sizeof *corpus);
  if (snprintf(path, sizeof path, "%s/corpus.bin", folder) >= (int)sizeof path) return 0;
  corpus->buffer = corpus_read_file(path, &size);
  if (!corpus->buffer) return 0;
  corpus_cursor cursor = {corpus->buffer, corpus->buffer + size, 0};
  if (!corpus_magic(&cursor, "SPTC", path)) return 0;
  corpus->count = corpus_u32(&cursor);
  corpus->documents = (corpus_document*)calloc(corpus->count ? corpus->count : 1, sizeof(corpus_document));
  for (uint32_t i = 0; i < corpus->count && !cursor.failed; ++i) {
    corpus->documents[i].label = corpus_str(&cursor);
    corpus->documents[i].text = corpus_str(&cursor);
    corpus->total_bytes += corpus->documents[i].text.size;
  }
  if (cursor.failed) fprintf(stderr, "%s: truncated\n", path);
  return !cursor.failed;
}

static inline void free_tokenizer_expected(tokenizer_expected* expected) {
  free(expected->documents);
  free(expected->vocab);
  free(expected->ids);
  free(expected->buffer);
  memset(expected, 0, sizeof *expected);
}

/* An id list: u32 count, then the ids, copied into the aligned array at *next. */
static inline corpus_ids corpus_id_list(corpus_cursor* cursor, int32_t** next, const int32_t* limit) {
  corpus_ids ids = {*next, corpus_u32(cursor)};
  corpus_text raw = corpus_bytes(cursor, ids.count * 4u);
  if (cursor->failed || *next + ids.count > limit) {
    cursor->failed = 1;
    ids.count = 0;
    return ids;
  }
  memcpy(*next, raw.data, raw.size); /* little-endian host (x86-64, aarch64) */
  *next += ids.count;
  return ids;
}

/* <folder>/expected.bin, whose document count must be `documents`. */
static inline int read_tokenizer_expected(const char* folder, uint32_t documents, tokenizer_expected* expected) {
  char path[1024];
  size_t size = 0;
  memset(expected, 0, sizeof *expected);
  if (snprintf(path, sizeof path, "%s/expected.bin", folder) >= (int)sizeof path) return 0;
  expected->buffer = corpus_read_file(path, &size);
  if (!expected->buffer) return 0;
  corpus_cursor cursor = {expected->buffer, expected->buffer + size, 0};
  if (!corpus_magic(&cursor, "SPTE", path)) return 0;
  expected->count = corpus_u32(&cursor);
  if (expected->count != documents) {
    fprintf(stderr, "%s: %u documents, the corpus has %u\n", path, expected->count, documents);
    return 0;
  }
  expected->ids = (int32_t*)malloc(size + 4); /* more than all id lists together */
  const int32_t* limit = expected->ids + size / 4;
  int32_t* next = expected->ids;
  expected->documents = (corpus_expected_document*)calloc(documents ? documents : 1, sizeof(corpus_expected_document));
  for (uint32_t i = 0; i < documents && !cursor.failed; ++i) {
    corpus_expected_document* document = &expected->documents[i];
    document->with_special = corpus_id_list(&cursor, &next, limit);
    document->without_special = corpus_id_list(&cursor, &next, limit);
    document->decoded = corpus_str(&cursor);
    document->decoded_skip = corpus_str(&cursor);
  }
  expected->vocab_size = corpus_u32(&cursor);
  if (!cursor.failed && expected->vocab_size > size) cursor.failed = 1;
  if (!cursor.failed) {
    expected->vocab = (corpus_vocab_entry*)calloc(expected->vocab_size + 1, sizeof(corpus_vocab_entry));
    for (uint32_t id = 0; id < expected->vocab_size && !cursor.failed; ++id) {
      uint32_t length = corpus_u32(&cursor);
      if (length == 0xFFFFFFFFu) continue;
      expected->vocab[id].present = 1;
      expected->vocab[id].token = corpus_bytes(&cursor, length);
      expected->vocab[id].back_id = (int32_t)corpus_u32(&cursor);
    }
  }
  if (cursor.failed) fprintf(stderr, "%s: truncated\n", path);
  return !cursor.failed;
}

/* The names in <folder>/tokenizers.txt, one a line, into names[0 .. capacity); returns the count. */
static inline int read_tokenizer_names(const char* folder, char names[][64], int capacity) {
  char path[1024];
  char line[256];
  int count = 0;
  if (snprintf(path, sizeof path, "%s/tokenizers.txt", folder) >= (int)sizeof path) return 0;
  FILE* file = fopen(path, "r");
  if (!file) {
    fprintf(stderr, "cannot open %s\n", path);
    return 0;
  }
  while (count < capacity && fgets(line, sizeof line, file)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') continue;
    if (strlen(line) >= 64) continue; /* not a name the fixture writes */
    memcpy(names[count++], line, strlen(line) + 1);
  }
  fclose(file);
  return count;
}

#endif
