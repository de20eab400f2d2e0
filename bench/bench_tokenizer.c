/* Encode throughput of one tokenizer on the conformance corpus, one thread, through the C API:
 * every document encoded in turn (add_special_tokens as given), best of several passes.
 *
 *   bench_tokenizer <tokenizer-reference-folder> <tokenizer-name> [passes, default 5] [add_special 0|1, default 1]
 *
 * Prints one line "bench_tokenizer <name>: <MB/s> MB/s (<bytes> bytes, <ids> ids, best of <n> passes)"
 * that bench/compare_tokenizers.py reads. The folder is the one tests/reference/tokenizer_reference.py
 * writes (corpus.bin and <name>/tokenizer.json). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"
#include "tokenizer_corpus.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: %s <tokenizer-reference-folder> <tokenizer-name> [passes] [add_special 0|1]\n", argv[0]);
    return 2;
  }
  const int passes = argc > 3 ? atoi(argv[3]) : 5;
  const int add_special = argc > 4 ? atoi(argv[4]) : 1;
  tokenizer_corpus corpus;
  if (!read_tokenizer_corpus(argv[1], &corpus)) return 2;

  char folder[1024];
  snprintf(folder, sizeof folder, "%s/%s", argv[1], argv[2]);
  sp_tokenizer* tokenizer = NULL;
  if (sp_tokenizer_load(&tokenizer, folder) != SP_OK) {
    fprintf(stderr, "%s: %s\n", folder, sp_last_error());
    return 1;
  }
  /* One buffer large enough for any document (never more ids than bytes plus the specials). */
  size_t capacity = 64;
  for (uint32_t d = 0; d < corpus.count; ++d)
    if (corpus.documents[d].text.size + 64 > capacity) capacity = corpus.documents[d].text.size + 64;
  int32_t* ids = malloc(capacity * sizeof(int32_t));

  double best = 1e30;
  size_t total_ids = 0;
  for (int pass = 0; pass < passes + 1; ++pass) { /* pass 0 warms caches and is not counted */
    size_t pass_ids = 0;
    double start = now_seconds();
    for (uint32_t d = 0; d < corpus.count; ++d) {
      size_t count = 0;
      sp_status status = sp_tokenizer_encode(tokenizer, corpus.documents[d].text.data, corpus.documents[d].text.size,
                                             add_special, ids, capacity, &count);
      if (status != SP_OK) {
        fprintf(stderr, "document %u: %s: %s\n", d, sp_status_string(status), sp_last_error());
        return 1;
      }
      pass_ids += count;
    }
    double seconds = now_seconds() - start;
    if (pass > 0 && seconds < best) best = seconds;
    total_ids = pass_ids;
  }
  printf("bench_tokenizer %s: %.2f MB/s (%llu bytes, %zu ids, best of %d passes, %.4f s)\n", argv[2],
         (double)corpus.total_bytes / 1e6 / best, (unsigned long long)corpus.total_bytes, total_ids, passes, best);
  free(ids);
  sp_tokenizer_free(tokenizer);
  free_tokenizer_corpus(&corpus);
  return 0;
}
