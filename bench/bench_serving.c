/*
 * bench_serving: many adapters on one model through the public C API (issue 14). One model, A
 * adapters of every method (prompt tuning, prefix tuning, P-tuning with an MLP and with an LSTM,
 * multitask prompt tuning with task ids; 8..32 virtual tokens; each its own seed), A prompts of
 * prompt_len ids, prompt r served with adapter r. Measures:
 *   logits    SP_LOGITS_LAST for the A rows: one adapter for every row (row_adapters all equal, and
 *             sp_adapter_logits on the whole batch), A adapters in one sp_model_logits call
 *             (row_adapters), and one call of one row per adapter (sp_adapter_logits): rows/s;
 *   generate  greedy, new_tokens per row, no end-of-sequence stop: one adapter for every row (a
 *             context with that adapter, and prompts.adapters all equal), A adapters in one
 *             sp_context_generate call (prompts.adapters), one call of one row per adapter (a
 *             context per adapter): generated tokens/s, prefill included; the one-call cases also
 *             with max_new_tokens 1 (first_token_s), and the mean decode step from the two;
 *   ttft      time to first token (sp_context_generate with max_new_tokens 1): one prompt with a
 *             prompt-tuning adapter of ttft_tokens virtual tokens, its compiled keys and values
 *             (recompute_prompts 0) against the virtual tokens run in every prefill
 *             (recompute_prompts 1); the A mixed rows the same two ways (compiled: the first_token_s
 *             of the generate part's mixed call); and a new adapter's first call, which compiles its
 *             prompt (a fresh adapter each run);
 *   threads   W worker threads (each count in `workers`), each with its own context, each running
 *             `rounds` mixed-adapter generations of rows_per_worker prompts: total tokens/s. Every
 *             worker computes with one intra-op thread (sp_set_num_threads(1) for this part), so
 *             that W workers use W threads: the part measures parallel contexts, not a pool.
 * Each figure is the median of `repeats` runs after one warm-up run (which also compiles every
 * adapter's prompt). The ratios in the summary divide rates (above 1: the first is faster).
 *
 *   bench_serving <model> [adapters=64] [prompt_len=32] [new_tokens=16] [repeats=3] [device=cpu|cuda]
 *                 [dtype=float32|bfloat16] [threads=0] [workers=1,2,4,8] [rows_per_worker=8] [rounds=2]
 *                 [ttft_tokens=100] [save=FOLDER]
 *
 * threads: intra-op threads for logits, generate and ttft (sp_set_num_threads; 0 keeps the library's
 * default). save: writes adapter r to FOLDER/adapter-NN and the ttft adapter to FOLDER/ttft-adapter
 * in PEFT's layout (sp_adapter_save), so that bench/compare_serving.py loads the same adapters into
 * PEFT; the output then also holds the mixed generation's tokens.
 *
 * Output: JSON lines ({"bench": "serving", "part": ..., ...}; the first describes the run and the
 * adapters), then a summary for people (lines that do not start with '{').
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "softprompt/softprompt.h"

/* The adapters' kinds, in the order adapter r takes them (r % KINDS). */
enum { PROMPT, PREFIX, PTUNING_MLP, PTUNING_LSTM, MULTITASK, KINDS };
static const char* const kind_names[KINDS] = {"prompt", "prefix", "ptuning-mlp", "ptuning-lstm", "mpt"};
enum { MPT_TASKS = 4, PTUNING_ENCODER_HIDDEN = 128, MAX_WORKER_COUNTS = 8, MAX_WORKERS = 256 };

static int adapter_kind(int r) { return r % KINDS; }
/* 8..32 virtual tokens; adapter 0, the single-adapter cases' (prompt tuning), has 20, the mix's mean. */
static int adapter_tokens(int r) { return 8 + (12 + 7 * r) % 25; }
static int32_t row_task(int r) { return r % MPT_TASKS; }

typedef struct {
  const char* model_path;
  int adapters, prompt_len, new_tokens, repeats, cuda, bf16, threads;
  int workers[MAX_WORKER_COUNTS], num_worker_counts;
  int rows_per_worker, rounds, ttft_tokens;
  const char* save;
} options;

static void usage(const char* program) {
  fprintf(stderr,
          "usage: %s <model> [adapters=64] [prompt_len=32] [new_tokens=16] [repeats=3] [device=cpu|cuda] "
          "[dtype=float32|bfloat16] [threads=0] [workers=1,2,4,8] [rows_per_worker=8] [rounds=2] [ttft_tokens=100] "
          "[save=FOLDER]\n",
          program);
  exit(2);
}

static int parse_workers(options* o, const char* list) {
  o->num_worker_counts = 0;
  for (const char* p = list; *p;) {
    char* end = NULL;
    const long count = strtol(p, &end, 10);
    if (end == p || count < 1 || count > MAX_WORKERS || o->num_worker_counts == MAX_WORKER_COUNTS) return 0;
    o->workers[o->num_worker_counts++] = (int)count;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return 0;
  }
  return o->num_worker_counts > 0;
}

static options parse_options(int argc, char** argv) {
  options o = {argc > 1 ? argv[1] : NULL, 64, 32, 16, 3, 0, 0, 0, {1, 2, 4, 8}, 4, 8, 2, 100, NULL};
  if (argc < 2 || argv[1][0] == '-') usage(argv[0]);
  for (int i = 2; i < argc; ++i) {
    const char* eq = strchr(argv[i], '=');
    if (!eq) usage(argv[0]);
    const size_t key_length = (size_t)(eq - argv[i]);
    const char* value = eq + 1;
#define KEY(name) (key_length == strlen(name) && strncmp(argv[i], name, key_length) == 0)
    if (KEY("adapters")) {
      o.adapters = atoi(value);
    } else if (KEY("prompt_len")) {
      o.prompt_len = atoi(value);
    } else if (KEY("new_tokens")) {
      o.new_tokens = atoi(value);
    } else if (KEY("repeats")) {
      o.repeats = atoi(value);
    } else if (KEY("device")) {
      o.cuda = strcmp(value, "cuda") == 0;
      if (!o.cuda && strcmp(value, "cpu") != 0) usage(argv[0]);
    } else if (KEY("dtype")) {
      o.bf16 = strcmp(value, "bfloat16") == 0;
      if (!o.bf16 && strcmp(value, "float32") != 0) usage(argv[0]);
    } else if (KEY("threads")) {
      o.threads = atoi(value);
    } else if (KEY("workers")) {
      if (!parse_workers(&o, value)) usage(argv[0]);
    } else if (KEY("rows_per_worker")) {
      o.rows_per_worker = atoi(value);
    } else if (KEY("rounds")) {
      o.rounds = atoi(value);
    } else if (KEY("ttft_tokens")) {
      o.ttft_tokens = atoi(value);
    } else if (KEY("save")) {
      o.save = value;
    } else {
      usage(argv[0]);
    }
#undef KEY
  }
  if (o.adapters < 1 || o.prompt_len < 1 || o.new_tokens < 1 || o.repeats < 1 || o.repeats > 64 || o.threads < 0 ||
      o.rows_per_worker < 1 || o.rounds < 1 || o.ttft_tokens < 1) {
    fprintf(stderr,
            "adapters, prompt_len, new_tokens, rows_per_worker, rounds and ttft_tokens must be >= 1, "
            "repeats 1..64, threads >= 0\n");
    exit(2);
  }
  return o;
}

static sp_adapter* make_adapter(sp_model* model, int kind, int virtual_tokens, uint64_t seed) {
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = virtual_tokens;
  params.seed = seed;
  switch (kind) {
    case PREFIX:
      params.method = SP_METHOD_PREFIX_TUNING;
      break;
    case PTUNING_MLP:
    case PTUNING_LSTM:
      params.method = SP_METHOD_P_TUNING;
      params.encoder_type = kind == PTUNING_LSTM ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
      params.encoder_hidden_size = PTUNING_ENCODER_HIDDEN;
      break;
    case MULTITASK:
      params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
      params.num_tasks = MPT_TASKS;
      break;
    default:
      params.method = SP_METHOD_PROMPT_TUNING;
  }
  sp_adapter* adapter = NULL;
  check(sp_adapter_create(&adapter, model, &params), "sp_adapter_create");
  return adapter;
}

static sp_context* make_context(sp_model* model, sp_adapter* adapter, int rows, int max_length, int recompute) {
  sp_context_params params = sp_context_default_params();
  params.max_batch_size = rows;
  params.max_length = max_length;
  params.recompute_prompts = recompute;
  sp_context* context = NULL;
  check(sp_context_create(&context, model, adapter, &params), "sp_context_create");
  return context;
}

/* Prompts rows [first, first + count) of the bench's ids, each of prompt_len ids; adapters NULL
 * (the context's adapter) or one per row. */
static sp_prompts prompts_of(const int32_t* ids, const int32_t* lengths, const int32_t* tasks, int first, int count,
                             int prompt_len, const sp_adapter* const* adapters) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = count;
  prompts.ids = ids + (size_t)first * prompt_len;
  prompts.num_ids = (size_t)count * prompt_len;
  prompts.lengths = lengths + first;
  prompts.num_lengths = (size_t)count;
  prompts.task_ids = tasks + first;
  prompts.num_task_ids = (size_t)count;
  prompts.adapters = adapters;
  prompts.num_adapters = adapters ? (size_t)count : 0;
  return prompts;
}

/* Everything the timed runs share. */
typedef struct {
  options o;
  sp_model* model;
  sp_model_info info;
  int rows; /* = o.adapters: row r runs with adapter r */
  sp_adapter** adapters;
  const sp_adapter** mixed; /* adapters[r] for row r */
  const sp_adapter** same;  /* adapters[0] for every row */
  int32_t *ids, *lengths, *tasks;
  float* logits; /* rows x vocab */
  sp_generation result;
} bench;

static sp_batch batch_of(const bench* b, int first, int count, const sp_adapter* const* row_adapters) {
  sp_batch batch = sp_batch_init();
  batch.batch_size = count;
  batch.seq_len = b->o.prompt_len;
  batch.input_ids = b->ids + (size_t)first * b->o.prompt_len;
  batch.num_input_ids = (size_t)count * b->o.prompt_len;
  batch.task_ids = b->tasks + first;
  batch.num_task_ids = (size_t)count;
  batch.row_adapters = row_adapters;
  batch.num_row_adapters = row_adapters ? (size_t)count : 0;
  return batch;
}

/* --- logits ------------------------------------------------------------------------------------ */

typedef struct {
  bench* b;
  const sp_adapter* const* row_adapters; /* sp_model_logits with these; NULL: see adapter */
  const sp_adapter* adapter;             /* sp_adapter_logits on the whole batch; NULL: one call per row */
} logits_case;

static void run_logits(void* arg) {
  const logits_case* c = arg;
  bench* b = c->b;
  const size_t vocab = (size_t)b->info.vocab_size;
  if (c->row_adapters) {
    const sp_batch batch = batch_of(b, 0, b->rows, c->row_adapters);
    check(sp_model_logits(b->model, &batch, SP_LOGITS_LAST, b->logits, (size_t)b->rows * vocab), "sp_model_logits");
  } else if (c->adapter) {
    const sp_batch batch = batch_of(b, 0, b->rows, NULL);
    check(sp_adapter_logits(c->adapter, &batch, SP_LOGITS_LAST, b->logits, (size_t)b->rows * vocab),
          "sp_adapter_logits");
  } else {
    for (int r = 0; r < b->rows; ++r) {
      const sp_batch batch = batch_of(b, r, 1, NULL);
      check(sp_adapter_logits(b->adapters[r], &batch, SP_LOGITS_LAST, b->logits + (size_t)r * vocab, vocab),
            "sp_adapter_logits");
    }
  }
}

/* --- generation and time to first token --------------------------------------------------------- */

typedef struct {
  bench* b;
  sp_context* context;               /* NULL: one call per row, on contexts[r] */
  sp_context** contexts;             /* one per adapter, with that adapter */
  const sp_adapter* const* adapters; /* prompts.adapters, or NULL */
  int rows, new_tokens;
  sp_adapter** fresh; /* cold first calls: run i takes fresh[i] (a new adapter, not yet compiled) */
  int next_fresh;
} generate_case;

static void run_generate(void* arg) {
  generate_case* c = arg;
  bench* b = c->b;
  const int L = b->o.prompt_len;
  if (c->fresh) {
    const sp_adapter* adapter = c->fresh[c->next_fresh++];
    const sp_prompts prompts = prompts_of(b->ids, b->lengths, b->tasks, 0, 1, L, &adapter);
    bench_generate_greedy(c->context, &prompts, c->new_tokens, &b->result);
  } else if (c->context) {
    const sp_prompts prompts = prompts_of(b->ids, b->lengths, b->tasks, 0, c->rows, L, c->adapters);
    bench_generate_greedy(c->context, &prompts, c->new_tokens, &b->result);
  } else {
    for (int r = 0; r < c->rows; ++r) {
      const sp_prompts prompts = prompts_of(b->ids, b->lengths, b->tasks, r, 1, L, NULL);
      bench_generate_greedy(c->contexts[r], &prompts, c->new_tokens, &b->result);
    }
  }
}

/* --- threads ------------------------------------------------------------------------------------ */

typedef struct {
  sp_context* context;
  int32_t *ids, *lengths, *tasks;
  const sp_adapter** adapters;
  sp_generation result;
  int rows, prompt_len, new_tokens, rounds;
} worker;

static void* run_worker(void* arg) {
  worker* w = arg;
  const sp_prompts prompts = prompts_of(w->ids, w->lengths, w->tasks, 0, w->rows, w->prompt_len, w->adapters);
  for (int i = 0; i < w->rounds; ++i) bench_generate_greedy(w->context, &prompts, w->new_tokens, &w->result);
  return NULL;
}

typedef struct {
  worker* workers;
  int count;
} worker_pool;

static void run_workers(void* arg) {
  worker_pool* pool = arg;
  pthread_t threads[MAX_WORKERS];
  for (int i = 0; i < pool->count; ++i)
    if (pthread_create(&threads[i], NULL, run_worker, &pool->workers[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      exit(1);
    }
  for (int i = 0; i < pool->count; ++i) pthread_join(threads[i], NULL);
}

/* Worker i serves rows (i * rows_per_worker + k) % A with their adapters and tasks. */
static worker make_worker(const bench* b, int index) {
  const int R = b->o.rows_per_worker, L = b->o.prompt_len;
  worker w = {NULL,
              malloc((size_t)R * L * sizeof(int32_t)),
              malloc((size_t)R * sizeof(int32_t)),
              malloc((size_t)R * sizeof(int32_t)),
              malloc((size_t)R * sizeof(sp_adapter*)),
              bench_generation_alloc(R, b->o.new_tokens),
              R,
              L,
              b->o.new_tokens,
              b->o.rounds};
  for (int k = 0; k < R; ++k) {
    const int r = (index * R + k) % b->rows;
    memcpy(w.ids + (size_t)k * L, b->ids + (size_t)r * L, (size_t)L * sizeof(int32_t));
    w.lengths[k] = L;
    w.tasks[k] = b->tasks[r];
    w.adapters[k] = b->adapters[r];
  }
  w.context = make_context(b->model, NULL, R, L + b->o.new_tokens, 0);
  return w;
}

static void free_worker(worker* w) {
  sp_context_free(w->context);
  bench_generation_free(&w->result);
  free(w->ids);
  free(w->lengths);
  free(w->tasks);
  free(w->adapters);
}

/* --- output ------------------------------------------------------------------------------------- */

/* One JSON line per figure; `extra` holds more "key": value pairs (or ""). */
static void print_figure(const char* part, const char* name, int rows, double seconds, const char* rate_key,
                         double rate, const char* extra) {
  printf("{\"bench\": \"serving\", \"part\": \"%s\", \"case\": \"%s\", \"rows\": %d, \"seconds\": %.6f", part, name,
         rows, seconds);
  if (rate_key) printf(", \"%s\": %.2f", rate_key, rate);
  printf("%s%s}\n", *extra ? ", " : "", extra);
  fflush(stdout);
}

static void print_setup(const bench* b) {
  const options* o = &b->o;
  int32_t threads = 0;
  check(sp_get_num_threads(&threads), "sp_get_num_threads");
  printf(
      "{\"bench\": \"serving\", \"part\": \"setup\", \"model_type\": \"%s\", \"layers\": %lld, \"hidden\": %lld, "
      "\"vocab\": %lld, \"device\": \"%s\", \"dtype\": \"%s\", \"intra_op_threads\": %d, \"rows\": %d, "
      "\"prompt_len\": %d, \"new_tokens\": %d, \"repeats\": %d, \"ttft_tokens\": %d, \"mpt_tasks\": %d, "
      "\"adapters\": [",
      b->info.model_type, (long long)b->info.num_layers, (long long)b->info.hidden_size, (long long)b->info.vocab_size,
      o->cuda ? "cuda" : "cpu", o->bf16 ? "bfloat16" : "float32", threads, b->rows, o->prompt_len, o->new_tokens,
      o->repeats, o->ttft_tokens, MPT_TASKS);
  for (int r = 0; r < b->rows; ++r)
    printf("%s{\"kind\": \"%s\", \"virtual_tokens\": %d, \"task\": %d, \"folder\": \"adapter-%02d\"}", r ? ", " : "",
           kind_names[adapter_kind(r)], adapter_tokens(r), b->tasks[r], r);
  printf("]}\n");
  fflush(stdout);
}

static void print_ids(const char* name, const sp_generation* result, int rows, int new_tokens) {
  printf("{\"bench\": \"serving\", \"part\": \"ids\", \"case\": \"%s\", \"ids\": [", name);
  for (int r = 0; r < rows; ++r) {
    printf(r ? ", [" : "[");
    for (int t = 0; t < new_tokens; ++t) printf(t ? ", %d" : "%d", result->ids[(size_t)r * new_tokens + t]);
    printf("]");
  }
  printf("]}\n");
  fflush(stdout);
}

/* Times a one-call generation case: the whole call (new_tokens per row) and its first token (the same
 * call with max_new_tokens 1: prefill and one token); prints both, with the mean decode step between. */
static double time_one_call(generate_case* c, const char* name, double* first_token_s) {
  const int repeats = c->b->o.repeats, new_tokens = c->new_tokens;
  c->new_tokens = 1;
  *first_token_s = bench_median_seconds(run_generate, c, repeats);
  c->new_tokens = new_tokens;
  const double seconds = bench_median_seconds(run_generate, c, repeats); /* last: the result holds its tokens */
  const double decode_step_s = new_tokens > 1 ? (seconds - *first_token_s) / (new_tokens - 1) : 0.0;
  char extra[128];
  snprintf(extra, sizeof extra, "\"calls\": 1, \"first_token_s\": %.6f, \"decode_step_s\": %.6f", *first_token_s,
           decode_step_s);
  print_figure("generate", name, c->rows, seconds, "tokens_per_s", (double)c->rows * new_tokens / seconds, extra);
  return seconds;
}

int main(int argc, char** argv) {
  bench b;
  memset(&b, 0, sizeof b);
  b.o = parse_options(argc, argv);
  const options* o = &b.o;
  if (o->threads > 0) check(sp_set_num_threads(o->threads), "sp_set_num_threads");
  b.model = bench_load_model(o->model_path, o->cuda, o->bf16, &b.info);
  b.rows = o->adapters;
  const int A = b.rows, L = o->prompt_len, G = o->new_tokens, max_length = L + G;
  const size_t vocab = (size_t)b.info.vocab_size;

  b.adapters = malloc((size_t)A * sizeof *b.adapters);
  b.mixed = malloc((size_t)A * sizeof *b.mixed);
  b.same = malloc((size_t)A * sizeof *b.same);
  b.ids = bench_prompt_ids(A, L, b.info.vocab_size, 0);
  b.lengths = malloc((size_t)A * sizeof *b.lengths);
  b.tasks = malloc((size_t)A * sizeof *b.tasks);
  b.logits = malloc((size_t)A * vocab * sizeof *b.logits);
  b.result = bench_generation_alloc(A, G);
  int kind_counts[KINDS] = {0};
  for (int r = 0; r < A; ++r) {
    b.adapters[r] = make_adapter(b.model, adapter_kind(r), adapter_tokens(r), 1000 + (uint64_t)r);
    b.mixed[r] = b.adapters[r];
    b.same[r] = b.adapters[0];
    b.lengths[r] = L;
    b.tasks[r] = row_task(r);
    ++kind_counts[adapter_kind(r)];
  }
  sp_adapter* ttft_adapter = make_adapter(b.model, PROMPT, o->ttft_tokens, 7);
  if (o->save) {
    char folder[4096];
    for (int r = 0; r < A; ++r) {
      snprintf(folder, sizeof folder, "%s/adapter-%02d", o->save, r);
      check(sp_adapter_save(b.adapters[r], folder), "sp_adapter_save");
    }
    snprintf(folder, sizeof folder, "%s/ttft-adapter", o->save);
    check(sp_adapter_save(ttft_adapter, folder), "sp_adapter_save");
  }
  print_setup(&b);

  /* a. Logits of the A rows. */
  logits_case logits_same = {&b, b.same, NULL}, logits_adapter = {&b, NULL, b.adapters[0]};
  logits_case logits_mixed = {&b, b.mixed, NULL}, logits_each = {&b, NULL, NULL};
  const double logits_same_s = bench_median_seconds(run_logits, &logits_same, o->repeats);
  print_figure("logits", "single_row_adapters", A, logits_same_s, "rows_per_s", A / logits_same_s, "\"calls\": 1");
  const double logits_adapter_s = bench_median_seconds(run_logits, &logits_adapter, o->repeats);
  print_figure("logits", "single_adapter_call", A, logits_adapter_s, "rows_per_s", A / logits_adapter_s,
               "\"calls\": 1");
  const double logits_mixed_s = bench_median_seconds(run_logits, &logits_mixed, o->repeats);
  print_figure("logits", "mixed", A, logits_mixed_s, "rows_per_s", A / logits_mixed_s, "\"calls\": 1");
  const double logits_each_s = bench_median_seconds(run_logits, &logits_each, o->repeats);
  char calls[64];
  snprintf(calls, sizeof calls, "\"calls\": %d", A);
  print_figure("logits", "per_adapter", A, logits_each_s, "rows_per_s", A / logits_each_s, calls);

  /* b. Greedy generation of G tokens per row. */
  sp_context* single_context = make_context(b.model, b.adapters[0], A, max_length, 0);
  sp_context* serving_context = make_context(b.model, NULL, A, max_length, 0);
  sp_context** contexts = malloc((size_t)A * sizeof *contexts);
  for (int r = 0; r < A; ++r) contexts[r] = make_context(b.model, b.adapters[r], 1, max_length, 0);
  generate_case generate_single = {&b, single_context, NULL, NULL, A, G, NULL, 0};
  generate_case generate_same = {&b, serving_context, NULL, b.same, A, G, NULL, 0};
  generate_case generate_mixed = {&b, serving_context, NULL, b.mixed, A, G, NULL, 0};
  generate_case generate_each = {&b, NULL, contexts, NULL, A, G, NULL, 0};
  const double tokens = (double)A * G;
  double single_first_s, same_first_s, mixed_first_s;
  const double generate_single_s = time_one_call(&generate_single, "single_context_adapter", &single_first_s);
  const double generate_same_s = time_one_call(&generate_same, "single_row_adapters", &same_first_s);
  const double generate_mixed_s = time_one_call(&generate_mixed, "mixed", &mixed_first_s);
  if (o->save) print_ids("mixed", &b.result, A, G);
  const double generate_each_s = bench_median_seconds(run_generate, &generate_each, o->repeats);
  print_figure("generate", "per_adapter", A, generate_each_s, "tokens_per_s", tokens / generate_each_s, calls);

  /* c. Time to first token. */
  char extra[128];
  double ttft_s[2] = {0, 0}, ttft_mixed_s[2] = {0, 0};
  for (int recompute = 0; recompute < 2; ++recompute) {
    sp_context* one = make_context(b.model, ttft_adapter, 1, max_length, recompute);
    generate_case first_token = {&b, one, NULL, NULL, 1, 1, NULL, 0};
    ttft_s[recompute] = bench_median_seconds(run_generate, &first_token, o->repeats);
    snprintf(extra, sizeof extra, "\"virtual_tokens\": %d, \"recompute_prompts\": %d", o->ttft_tokens, recompute);
    print_figure("ttft", recompute ? "prompt_recomputed" : "prompt_compiled", 1, ttft_s[recompute], NULL, 0, extra);
    sp_context_free(one);

    /* The A mixed rows; compiled: the first token of the generate part's mixed call, measured there. */
    if (recompute) {
      sp_context* recomputing = make_context(b.model, NULL, A, max_length, 1);
      generate_case first_tokens = {&b, recomputing, NULL, b.mixed, A, 1, NULL, 0};
      ttft_mixed_s[1] = bench_median_seconds(run_generate, &first_tokens, o->repeats);
      sp_context_free(recomputing);
    } else {
      ttft_mixed_s[0] = mixed_first_s;
    }
    snprintf(extra, sizeof extra, "\"recompute_prompts\": %d", recompute);
    print_figure("ttft", recompute ? "mixed_recomputed" : "mixed_compiled", A, ttft_mixed_s[recompute], NULL, 0, extra);
  }
  /* A new adapter's first call compiles its prompt: each run (the warm-up too) takes another one. */
  sp_adapter** fresh = malloc((size_t)(o->repeats + 1) * sizeof *fresh);
  for (int i = 0; i <= o->repeats; ++i) fresh[i] = make_adapter(b.model, PROMPT, o->ttft_tokens, 2000 + (uint64_t)i);
  sp_context* cold_context = make_context(b.model, NULL, 1, max_length, 0);
  generate_case cold = {&b, cold_context, NULL, NULL, 1, 1, fresh, 0};
  const double ttft_cold_s = bench_median_seconds(run_generate, &cold, o->repeats);
  snprintf(extra, sizeof extra, "\"virtual_tokens\": %d, \"recompute_prompts\": 0", o->ttft_tokens);
  print_figure("ttft", "prompt_first_call", 1, ttft_cold_s, NULL, 0, extra);
  sp_context_free(cold_context);
  for (int i = 0; i <= o->repeats; ++i) sp_adapter_free(fresh[i]);
  free(fresh);

  /* d. Worker threads, each with its own context, one intra-op thread each. */
  check(sp_set_num_threads(1), "sp_set_num_threads");
  double thread_rates[MAX_WORKER_COUNTS];
  for (int i = 0; i < o->num_worker_counts; ++i) {
    worker_pool pool = {malloc((size_t)o->workers[i] * sizeof(worker)), o->workers[i]};
    for (int w = 0; w < pool.count; ++w) pool.workers[w] = make_worker(&b, w);
    const double seconds = bench_median_seconds(run_workers, &pool, o->repeats);
    thread_rates[i] = (double)pool.count * o->rounds * o->rows_per_worker * G / seconds;
    snprintf(extra, sizeof extra,
             "\"workers\": %d, \"rows_per_worker\": %d, \"rounds\": %d, \"intra_op_threads\": 1, \"new_tokens\": %d",
             pool.count, o->rows_per_worker, o->rounds, G);
    print_figure("threads", "mixed", pool.count * o->rows_per_worker, seconds, "tokens_per_s", thread_rates[i], extra);
    for (int w = 0; w < pool.count; ++w) free_worker(&pool.workers[w]);
    free(pool.workers);
  }
  check(sp_set_num_threads(o->threads), "sp_set_num_threads");

  /* The summary. */
  const double single_logits_rate = A / (logits_same_s < logits_adapter_s ? logits_same_s : logits_adapter_s);
  const double single_generate_rate =
      tokens / (generate_single_s < generate_same_s ? generate_single_s : generate_same_s);
  printf(
      "\nserving: %s %lld layers x %lld, %s %s; %d adapters (%d prompt tuning, %d prefix tuning, %d P-tuning MLP, "
      "%d P-tuning LSTM, %d multitask with %d tasks; 8..32 virtual tokens), row r with adapter r; %d-token prompts, "
      "%d new tokens; median of %d after 1 warm-up\n",
      b.info.model_type, (long long)b.info.num_layers, (long long)b.info.hidden_size, o->cuda ? "cuda" : "cpu",
      o->bf16 ? "bfloat16" : "float32", A, kind_counts[PROMPT], kind_counts[PREFIX], kind_counts[PTUNING_MLP],
      kind_counts[PTUNING_LSTM], kind_counts[MULTITASK], MPT_TASKS, L, G, o->repeats);
  printf("logits (last position), %d rows:\n", A);
  printf("  one adapter, row_adapters all equal   %10.1f rows/s\n", A / logits_same_s);
  printf("  one adapter, sp_adapter_logits        %10.1f rows/s\n", A / logits_adapter_s);
  printf("  %3d adapters, one call                %10.1f rows/s  (%.2fx the faster single-adapter case)\n", A,
         A / logits_mixed_s, (A / logits_mixed_s) / single_logits_rate);
  printf("  %3d adapters, %d calls of one row     %10.1f rows/s  (mixed: %.2fx)\n", A, A, A / logits_each_s,
         logits_each_s / logits_mixed_s);
  printf(
      "greedy generation, %d rows x %d tokens (first token: the call with max_new_tokens 1; decode step: the "
      "rest over %d steps):\n",
      A, G, G - 1);
  const double step = G > 1 ? 1e3 / (G - 1) : 0.0;
  printf("  one adapter, context with it          %10.1f tok/s  first token %.1f ms, decode step %.1f ms\n",
         tokens / generate_single_s, single_first_s * 1e3, (generate_single_s - single_first_s) * step);
  printf("  one adapter, prompts.adapters equal   %10.1f tok/s  first token %.1f ms, decode step %.1f ms\n",
         tokens / generate_same_s, same_first_s * 1e3, (generate_same_s - same_first_s) * step);
  printf(
      "  %3d adapters, one call                %10.1f tok/s  first token %.1f ms, decode step %.1f ms (%.2fx the "
      "faster single-adapter case)\n",
      A, tokens / generate_mixed_s, mixed_first_s * 1e3, (generate_mixed_s - mixed_first_s) * step,
      (tokens / generate_mixed_s) / single_generate_rate);
  printf("  %3d adapters, %d calls of one row     %10.1f tok/s  (mixed: %.2fx)\n", A, A, tokens / generate_each_s,
         generate_each_s / generate_mixed_s);
  printf("time to first token:\n");
  printf("  1 prompt, %d virtual tokens: compiled %.1f ms, recomputed %.1f ms, a new adapter's first call %.1f ms\n",
         o->ttft_tokens, ttft_s[0] * 1e3, ttft_s[1] * 1e3, ttft_cold_s * 1e3);
  printf("  %d mixed rows: compiled %.1f ms, recomputed %.1f ms\n", A, ttft_mixed_s[0] * 1e3, ttft_mixed_s[1] * 1e3);
  printf("worker threads, each its own context, %d mixed rows x %d tokens, %d calls each, 1 intra-op thread each:\n",
         o->rows_per_worker, G, o->rounds);
  for (int i = 0; i < o->num_worker_counts; ++i)
    printf("  %3d thread%s %10.1f tok/s  (%.2fx the rate of %d)\n", o->workers[i], o->workers[i] > 1 ? "s" : " ",
           thread_rates[i], thread_rates[i] / thread_rates[0], o->workers[0]);

  for (int r = 0; r < A; ++r) sp_context_free(contexts[r]);
  free(contexts);
  sp_context_free(serving_context);
  sp_context_free(single_context);
  sp_adapter_free(ttft_adapter);
  for (int r = 0; r < A; ++r) sp_adapter_free(b.adapters[r]);
  sp_model_free(b.model);
  bench_generation_free(&b.result);
  free(b.logits);
  free(b.tasks);
  free(b.lengths);
  free(b.ids);
  free(b.same);
  free(b.mixed);
  free(b.adapters);
  return 0;
}
