/* Tools for test_hostile_files.c: byte buffers, a fixed-seed random generator, a JSON token
 * scanner, safetensors and single-file (de)construction, and running a load in a child process
 * under memory and time limits. Everything here is independent of the library under test except
 * the child runner, which only calls the public C API. */
#ifndef SP_HOSTILE_FILES_H
#define SP_HOSTILE_FILES_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- growable byte buffers */

typedef struct {
  unsigned char* data;
  size_t size;
} buf;

static inline buf buf_from(const void* data, size_t size) {
  buf b = {malloc(size + 1), size};
  if (size) memcpy(b.data, data, size);
  return b;
}
static inline buf buf_copy(buf b) { return buf_from(b.data, b.size); }
static inline void buf_free(buf* b) {
  free(b->data);
  b->data = NULL;
  b->size = 0;
}
/* Replaces b[at, at + removed) with `count` bytes of `with`. */
static inline void buf_splice(buf* b, size_t at, size_t removed, const void* with, size_t count) {
  unsigned char* out = malloc(b->size - removed + count + 1);
  memcpy(out, b->data, at);
  if (count) memcpy(out + at, with, count);
  memcpy(out + at + count, b->data + at + removed, b->size - at - removed);
  free(b->data);
  b->data = out;
  b->size = b->size - removed + count;
}
static inline void buf_append(buf* b, const void* data, size_t count) { buf_splice(b, b->size, 0, data, count); }

static inline uint64_t get_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
static inline void put_le(unsigned char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = (unsigned char)(v >> (8 * i));
}

static inline int read_file(const char* path, buf* out) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  out->data = malloc((size_t)size + 1);
  out->size = (size_t)size;
  size_t got = fread(out->data, 1, (size_t)size, f);
  fclose(f);
  return got == (size_t)size;
}
static inline int write_file(const char* path, const void* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (!f) return 0;
  size_t put = size ? fwrite(data, 1, size, f) : 0;
  return fclose(f) == 0 && put == size;
}

/* ---- SplitMix64: a fixed-seed stream, so that every run builds the same mutants */

typedef struct {
  uint64_t state;
} rng;
static inline uint64_t rng_next(rng* r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline size_t rng_below(rng* r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }

/* ---- JSON tokens: each value (string, number, literal, object, array) and each key, located by
 * byte range, so that one can be replaced without parsing the document. */

typedef struct {
  size_t start, end; /* [start, end) */
  int is_key;
} json_token;

static inline size_t json_string_end(const char* t, size_t n, size_t i) { /* t[i] == '"' */
  for (++i; i < n; ++i) {
    if (t[i] == '\\')
      ++i;
    else if (t[i] == '"')
      return i + 1;
  }
  return n;
}
static inline size_t json_container_end(const char* t, size_t n, size_t i) { /* t[i] is { or [ */
  int depth = 0;
  for (; i < n; ++i) {
    if (t[i] == '"')
      i = json_string_end(t, n, i) - 1;
    else if (t[i] == '{' || t[i] == '[')
      ++depth;
    else if ((t[i] == '}' || t[i] == ']') && --depth == 0)
      return i + 1;
  }
  return n;
}
/* Fills up to `max` tokens of t[0, n); returns how many. */
static inline size_t json_tokens(const char* t, size_t n, json_token* out, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < n && count < max;) {
    char c = t[i];
    if (c == '"') {
      size_t end = json_string_end(t, n, i), next = end;
      while (next < n && (t[next] == ' ' || t[next] == '\n' || t[next] == '\t' || t[next] == '\r')) ++next;
      out[count++] = (json_token){i, end, next < n && t[next] == ':'};
      i = end;
    } else if (c == '{' || c == '[') {
      out[count++] = (json_token){i, json_container_end(t, n, i), 0};
      ++i; /* and the tokens inside */
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i + 1;
      while (end < n && strchr("0123456789eE+-.", t[end])) ++end;
      out[count++] = (json_token){i, end, 0};
      i = end;
    } else if (c >= 'a' && c <= 'z') {
      size_t end = i;
      while (end < n && t[end] >= 'a' && t[end] <= 'z') ++end;
      out[count++] = (json_token){i, end, 0};
      i = end;
    } else {
      ++i;
    }
  }
  return count;
}

/* Values that break assumptions: huge, negative, fractional, of another JSON type. */
static const char* const kHostileValues[] = {"2147483647",
                                             "2147483648",
                                             "4294967296",
                                             "1e9",
                                             "1000000000",
                                             "1000000",
                                             "-1",
                                             "0",
                                             "1",
                                             "3",
                                             "7",
                                             "1e308",
                                             "-1e308",
                                             "18446744073709551615",
                                             "18446744073709551616",
                                             "9223372036854775807",
                                             "-9223372036854775808",
                                             "0.5",
                                             "null",
                                             "true",
                                             "false",
                                             "\"x\"",
                                             "\"\"",
                                             "[]",
                                             "{}",
                                             "[1,2,3]",
                                             "[-1]",
                                             "[0,1e30]",
                                             "{\"a\":1}",
                                             "\"PREFIX_TUNING\"",
                                             "\"P_TUNING\"",
                                             "\"MULTITASK_PROMPT_TUNING\"",
                                             "\"PROMPT_TUNING\"",
                                             "\"LSTM\"",
                                             "\"MLP\"",
                                             "\"zero\"",
                                             "\"F64\"",
                                             "\"I8\"",
                                             "\"CAUSAL_LM\"",
                                             "[2147483647,64]",
                                             "[0,18446744073709551615]"};
static const char* const kKeyNames[] = {"\"peft_type\"",
                                        "\"num_virtual_tokens\"",
                                        "\"token_dim\"",
                                        "\"num_layers\"",
                                        "\"num_attention_heads\"",
                                        "\"encoder_hidden_size\"",
                                        "\"encoder_num_layers\"",
                                        "\"num_tasks\"",
                                        "\"num_ranks\"",
                                        "\"prefix_projection\"",
                                        "\"encoder_reparameterization_type\"",
                                        "\"peft_config\"",
                                        "\"seed\"",
                                        "\"encoded_only\"",
                                        "\"shape\"",
                                        "\"dtype\"",
                                        "\"data_offsets\"",
                                        "\"__metadata__\"",
                                        "\"x\"",
                                        "\"task_type\""};

/* One random edit of a JSON text: a value replaced by a hostile one, a number scaled, or a key
 * renamed (which removes it, duplicates another or adds an unknown one). */
static inline void mutate_json(buf* text, rng* r) {
  static json_token tokens[20000];
  size_t count = json_tokens((const char*)text->data, text->size, tokens, 20000);
  if (count == 0) return;
  json_token t = tokens[rng_below(r, count)];
  char replacement[64];
  const char* with;
  if (t.is_key) {
    with = kKeyNames[rng_below(r, sizeof kKeyNames / sizeof *kKeyNames)];
  } else if (text->data[t.start] >= '0' && text->data[t.start] <= '9' && rng_below(r, 3) == 0) {
    long long value = strtoll((const char*)text->data + t.start, NULL, 10);
    static const long long kScale[] = {-1, 2, 1000, 1 << 20};
    long long factor = kScale[rng_below(r, 4)];
    snprintf(replacement, sizeof replacement, "%lld", factor == -1 ? value + 1 : value * factor);
    with = replacement;
  } else {
    with = kHostileValues[rng_below(r, sizeof kHostileValues / sizeof *kHostileValues)];
  }
  buf_splice(text, t.start, t.end - t.start, with, strlen(with));
}

/* One random edit of raw bytes: a bit flip, a truncation, inserted bytes, an overwritten byte,
 * or a range copied elsewhere. */
static inline void mutate_bytes(buf* b, rng* r) {
  if (b->size == 0) return;
  size_t at = rng_below(r, b->size);
  switch (rng_below(r, 5)) {
    case 0:
      b->data[at] ^= (unsigned char)(1u << rng_below(r, 8));
      break;
    case 1:
      b->size = at;
      break;
    case 2: {
      unsigned char bytes[16];
      size_t n = 1 + rng_below(r, 16);
      for (size_t i = 0; i < n; ++i) bytes[i] = (unsigned char)rng_next(r);
      buf_splice(b, at, 0, bytes, n);
      break;
    }
    case 3: {
      static const unsigned char kBytes[] = {0x00, 0xff, 0x7f, 0x80, '"', '{', '9'};
      b->data[at] = kBytes[rng_below(r, sizeof kBytes)];
      break;
    }
    default: {
      size_t n = 1 + rng_below(r, 64);
      if (at + n > b->size) n = b->size - at;
      buf chunk = buf_from(b->data + at, n);
      buf_splice(b, rng_below(r, b->size), 0, chunk.data, chunk.size);
      buf_free(&chunk);
    }
  }
}

/* A 64-bit length field value that is wrong in an interesting way, near `truth`. */
static inline uint64_t hostile_length(rng* r, uint64_t truth, uint64_t context) {
  const uint64_t values[] = {0,
                             1,
                             7,
                             8,
                             truth - 1,
                             truth + 1,
                             truth + 8,
                             truth * 2,
                             context,
                             context + 1,
                             (uint64_t)1 << 31,
                             (uint64_t)1 << 32,
                             100000000,
                             100000001,
                             (uint64_t)3 << 30,
                             (uint64_t)1 << 40,
                             (uint64_t)1 << 41,
                             (uint64_t)1 << 63,
                             UINT64_MAX};
  return values[rng_below(r, sizeof values / sizeof *values)];
}

/* ---- safetensors: [le64 N][N bytes of JSON][data] */

typedef struct {
  buf header; /* the JSON text, padding included */
  buf data;
} safetensors_parts;

static inline int split_safetensors(buf file, safetensors_parts* out) {
  if (file.size < 8) return 0;
  uint64_t n = get_le64(file.data);
  if (n > file.size - 8) return 0;
  out->header = buf_from(file.data + 8, (size_t)n);
  out->data = buf_from(file.data + 8 + n, file.size - 8 - (size_t)n);
  return 1;
}
/* The file for `header` (padded with spaces to a multiple of 8, as the reference writer does) and `data`. */
static inline buf join_safetensors(buf header, buf data) {
  size_t padded = (header.size + 7) / 8 * 8;
  buf out = {malloc(8 + padded + data.size + 1), 8 + padded + data.size};
  put_le(out.data, padded, 8);
  memcpy(out.data + 8, header.data, header.size);
  memset(out.data + 8 + header.size, ' ', padded - header.size);
  if (data.size) memcpy(out.data + 8 + padded, data.data, data.size);
  return out;
}

/* One JSON mutation of a safetensors file's header, the data left as it is. */
static inline void mutate_safetensors_header(buf* file, rng* r) {
  safetensors_parts parts = {{NULL, 0}, {NULL, 0}};
  if (!split_safetensors(*file, &parts)) fail_msg("cannot split a safetensors file");
  mutate_json(&parts.header, r);
  buf_free(file);
  *file = join_safetensors(parts.header, parts.data);
  buf_free(&parts.header);
  buf_free(&parts.data);
}

/* ---- the single-file adapter format (core/adapters/single_file_format.md), written independently */

static const unsigned char kSpaMagic[8] = {0x89, 'S', 'P', 'A', '\r', '\n', 0x1a, '\n'};

static inline void fix_crc(buf* file) {
  if (file->size < 4) return;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, file->data, (uInt)(file->size - 4));
  put_le(file->data + file->size - 4, crc, 4);
}
/* A complete, well-formed file around `payload` (compressed at `level`). */
static inline buf pack_single_file(buf payload, int level) {
  uLongf compressed_size = compressBound(payload.size);
  unsigned char* compressed = malloc(compressed_size);
  compress2(compressed, &compressed_size, payload.data, payload.size, level);
  buf file = {malloc(32 + compressed_size + 4), 32 + compressed_size + 4};
  memcpy(file.data, kSpaMagic, 8);
  put_le(file.data + 8, 1, 4);
  put_le(file.data + 12, 1, 4);
  put_le(file.data + 16, payload.size, 8);
  put_le(file.data + 24, compressed_size, 8);
  memcpy(file.data + 32, compressed, compressed_size);
  free(compressed);
  fix_crc(&file);
  return file;
}
/* The payload of a valid file. */
static inline int unpack_single_file(buf file, buf* payload) {
  if (file.size < 36) return 0;
  uLongf size = (uLongf)get_le64(file.data + 16);
  payload->data = malloc(size + 1);
  payload->size = size;
  return uncompress(payload->data, &size, file.data + 32, (uLong)get_le64(file.data + 24)) == Z_OK &&
         size == payload->size;
}

/* The JSON-string value of `"key":"..."` inside a JSON text, unescaped; its escaped range in *start, *end. */
static inline int find_string_value(buf text, const char* key, buf* value, size_t* start, size_t* end) {
  char pattern[128];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char* hit = NULL;
  for (size_t i = 0; i + strlen(pattern) <= text.size && !hit; ++i)
    if (memcmp(text.data + i, pattern, strlen(pattern)) == 0) hit = (const char*)text.data + i;
  if (!hit) return 0;
  *start = (size_t)(hit - (const char*)text.data) + strlen(pattern);
  *end = json_string_end((const char*)text.data, text.size, *start - 1) - 1; /* the closing quote */
  value->data = malloc(*end - *start + 1);
  value->size = 0;
  for (size_t i = *start; i < *end; ++i) {
    unsigned char c = text.data[i];
    if (c == '\\' && i + 1 < *end) {
      c = text.data[++i];
      if (c == 'n')
        c = '\n';
      else if (c == 't')
        c = '\t';
    }
    value->data[value->size++] = c;
  }
  return 1;
}
/* Replaces text[start, end) with `value` escaped as the inside of a JSON string. */
static inline void put_string_value(buf* text, size_t start, size_t end, buf value) {
  buf escaped = {malloc(value.size * 6 + 1), 0};
  for (size_t i = 0; i < value.size; ++i) {
    unsigned char c = value.data[i];
    if (c == '"' || c == '\\') {
      escaped.data[escaped.size++] = '\\';
      escaped.data[escaped.size++] = c;
    } else if (c < 0x20) {
      escaped.size += (size_t)sprintf((char*)escaped.data + escaped.size, "\\u%04x", c);
    } else {
      escaped.data[escaped.size++] = c;
    }
  }
  buf_splice(text, start, end - start, escaped.data, escaped.size);
  buf_free(&escaped);
}

/* ---- running one load in a child process under limits */

/* The process's current address-space size in bytes (VmSize). */
static inline uint64_t address_space_bytes(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  uint64_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %lu kB", (unsigned long*)&kb) == 1) break;
  if (f) fclose(f);
  return kb * 1024;
}
static inline int thread_count(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  int threads = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &threads) == 1) break;
  if (f) fclose(f);
  return threads;
}

/* Under AddressSanitizer the children get no address-space limit: ASan's shadow memory and
 * RLIMIT_AS exclude each other. */
#if defined(__SANITIZE_ADDRESS__)
#define SP_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SP_UNDER_ASAN 1
#endif
#endif
#ifndef SP_UNDER_ASAN
#define SP_UNDER_ASAN 0
#endif

/* How a child ended. */
typedef struct {
  int signal;        /* the signal that ended it (SIGALRM: the time limit), or 0 */
  int exit_code;     /* its exit code when it exited normally */
  size_t reply_size; /* bytes of reply that came back */
  long max_rss_kb;   /* its peak resident memory */
  double seconds;
} child_run;

/* What a child runs: fills up to `capacity` bytes of `reply`, sets *reply_size, returns its exit
 * code. */
typedef int (*child_task)(const void* argument, char* reply, size_t capacity, size_t* reply_size);

/* Runs task(argument) in a forked child whose address space may grow by at most `headroom` bytes
 * over the parent's (not under ASan) and which is killed after `seconds`; its reply comes back
 * into `reply`. The parent must be single-threaded (see main) so that the child's LibTorch finds
 * its locks free. */
static inline child_run run_limited_child(child_task task, const void* argument, char* reply, size_t capacity,
                                          uint64_t headroom, unsigned seconds) {
  child_run run;
  memset(&run, 0, sizeof run);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) abort();
  const uint64_t limit = address_space_bytes() + headroom;
  struct timespec begin, finish;
  clock_gettime(CLOCK_MONOTONIC, &begin);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    if (!SP_UNDER_ASAN) {
      struct rlimit rl;
      getrlimit(RLIMIT_AS, &rl);
      rl.rlim_cur = limit;
      setrlimit(RLIMIT_AS, &rl);
    }
    alarm(seconds);
    size_t size = 0;
    const int code = task(argument, reply, capacity, &size);
    if (size > 0 && write(pipe_fds[1], reply, size) != (ssize_t)size) _exit(100);
    _exit(code);
  }
  close(pipe_fds[1]);
  ssize_t n;
  while (run.reply_size < capacity && (n = read(pipe_fds[0], reply + run.reply_size, capacity - run.reply_size)) > 0)
    run.reply_size += (size_t)n;
  char discard[4096];
  while (read(pipe_fds[0], discard, sizeof discard) > 0) {
  }
  close(pipe_fds[0]);
  int wait_status = 0;
  struct rusage usage;
  wait4(pid, &wait_status, 0, &usage);
  clock_gettime(CLOCK_MONOTONIC, &finish);
  run.seconds = (double)(finish.tv_sec - begin.tv_sec) + 1e-9 * (double)(finish.tv_nsec - begin.tv_nsec);
  run.max_rss_kb = usage.ru_maxrss;
  if (WIFSIGNALED(wait_status))
    run.signal = WTERMSIG(wait_status);
  else
    run.exit_code = WEXITSTATUS(wait_status);
  return run;
}

typedef struct {
  int signal;        /* the signal that ended the child (SIGALRM: the time limit), or 0 */
  int status;        /* its sp_status when it exited normally */
  char message[700]; /* sp_last_error() of the failing call */
  long max_rss_kb;   /* the child's peak resident memory */
  double seconds;
} child_outcome;

typedef sp_status (*child_body)(const void* argument);

typedef struct {
  child_body body;
  const void* argument;
} status_task_argument;

/* A child_task: the body's status as exit code, its message as reply. */
static inline int run_status_task(const void* argument, char* reply, size_t capacity, size_t* reply_size) {
  const status_task_argument* task = (const status_task_argument*)argument;
  const sp_status status = task->body(task->argument);
  const size_t length = strlen(sp_last_error());
  *reply_size = length < capacity ? length : capacity;
  memcpy(reply, sp_last_error(), *reply_size);
  return (int)status;
}

/* Runs body(argument) in a limited child (run_limited_child) and reports its status and message. */
static inline child_outcome run_in_child(child_body body, const void* argument, uint64_t headroom, unsigned seconds) {
  child_outcome outcome;
  memset(&outcome, 0, sizeof outcome);
  const status_task_argument task = {body, argument};
  child_run run =
      run_limited_child(run_status_task, &task, outcome.message, sizeof outcome.message - 1, headroom, seconds);
  outcome.message[run.reply_size] = '\0';
  outcome.signal = run.signal;
  outcome.status = run.exit_code;
  outcome.max_rss_kb = run.max_rss_kb;
  outcome.seconds = run.seconds;
  return outcome;
}

#endif
