/*
 * No adapter file, and no adapter request, may exhaust the machine or reach SP_ERR_INTERNAL
 * (issue 7, section 3). Every load runs in a forked child with an address-space limit
 * (RLIMIT_AS: the parent's size plus a headroom) and a time limit (alarm), so that a regression
 * shows up as a failed test instead of a killed machine.
 *
 *   named cases   the crafted files that exhausted memory or returned SP_ERR_INTERNAL before:
 *                 wrong JSON types in the single file's records, huge or inconsistent sizes in
 *                 adapter_config.json and in the records, payload-size claims and a
 *                 decompression bomb, adapter requests larger than memory;
 *   mutation run  a fixed-seed list of mutants of valid files written by the library (every
 *                 method, PEFT folders and single files), each loaded (and, if it loads, run once)
 *                 in a child: it must end normally, with SP_OK or a status other than INTERNAL,
 *                 BACKEND or OUT_OF_MEMORY (the last two would mean it hit the limit).
 *
 * The model loader (config.json, model.safetensors, the shard index) gets half as many mutants,
 * loaded with sp_model_create.
 *
 *   test_hostile_files <models-folder> <scratch-folder> [mutants per adapter loader, default 400]
 */
#include "test_support.h"

#include "hostile_files.h"

static const char* models_root;
static const char* scratch_root;
static int mutants_per_loader = 400;
static sp_model* model; /* llama, loaded once; children inherit it */
static int64_t vocab_size;

/* Headroom of address space for a child: a legitimate load of these tiny adapters needs a few MB. */
static const uint64_t kHeadroom = (uint64_t)256 << 20;
static const unsigned kSecondsPerLoad = 20;

/* ---- what a child does */

static sp_status use_adapter(sp_adapter* adapter) {
  int32_t ids[3] = {1, 2, 3}, tasks[1] = {0};
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = 3;
  batch.input_ids = ids;
  batch.num_input_ids = 3;
  batch.task_ids = tasks;
  batch.num_task_ids = 1;
  float* logits = malloc((size_t)vocab_size * sizeof(float));
  sp_status status = sp_adapter_logits(adapter, &batch, SP_LOGITS_LAST, logits, (size_t)vocab_size);
  free(logits);
  return status;
}

static sp_status load_folder_child(const void* folder) {
  sp_adapter* adapter = NULL;
  sp_status status = sp_adapter_load(&adapter, model, (const char*)folder);
  if (status == SP_OK) status = use_adapter(adapter);
  return status;
}

static sp_status load_file_child(const void* path) {
  sp_adapter* adapter = NULL;
  sp_status status = sp_adapter_load_file(&adapter, model, (const char*)path);
  if (status == SP_OK) status = use_adapter(adapter);
  return status;
}

static sp_status create_child(const void* params) {
  sp_adapter* adapter = NULL;
  return sp_adapter_create(&adapter, model, (const sp_adapter_params*)params);
}

/* Fails unless the child exited with `expected` and a message holding every fragment. */
static void expect_child(const char* label, child_outcome o, sp_status expected, const char* fragment1,
                         const char* fragment2) {
  printf("    %-58s %s in %.2f s, peak RSS %ld MB\n", label,
         o.signal ? strsignal(o.signal) : sp_status_string(o.status), o.seconds, o.max_rss_kb / 1024);
  if (o.signal)
    fail_msg("%s: the child was killed by %s (SIGALRM: over %u s)", label, strsignal(o.signal), kSecondsPerLoad);
  if (o.status != (int)expected)
    fail_msg("%s: got %s, expected %s (message: %s)", label, sp_status_string(o.status), sp_status_string(expected),
             o.message);
  if ((fragment1 && !strstr(o.message, fragment1)) || (fragment2 && !strstr(o.message, fragment2)))
    fail_msg("%s: message \"%s\" does not name \"%s\"%s%s", label, o.message, fragment1 ? fragment1 : "",
             fragment2 ? " and " : "", fragment2 ? fragment2 : "");
}

/* ---- valid files written by the library */

static sp_adapter_params method_params(sp_method method, int variant) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = method;
  params.num_virtual_tokens = 4;
  params.seed = 11;
  params.prefix_projection = variant;
  params.encoder_type = variant ? SP_ENCODER_LSTM : SP_ENCODER_MLP;
  params.encoder_hidden_size = 8;
  params.num_tasks = method == SP_METHOD_MULTITASK_PROMPT_TUNING ? 3 : 1;
  params.num_ranks = 2;
  return params;
}

/* The six method variants the mutation run starts from. */
static const struct {
  sp_method method;
  int variant;
  const char* name;
} kSources[] = {{SP_METHOD_PROMPT_TUNING, 0, "prompt"},
                {SP_METHOD_PREFIX_TUNING, 0, "prefix"},
                {SP_METHOD_PREFIX_TUNING, 1, "prefix-projection"},
                {SP_METHOD_P_TUNING, 0, "ptuning-mlp"},
                {SP_METHOD_P_TUNING, 1, "ptuning-lstm"},
                {SP_METHOD_MULTITASK_PROMPT_TUNING, 0, "mpt"}};
#define NUM_SOURCES (sizeof kSources / sizeof *kSources)

/* Saves source `index` as a single file and, when `folder` is given, as a PEFT folder under scratch/sources. */
static void write_source(size_t index, char* folder, size_t folder_size, char* file, size_t file_size) {
  char sources[700];
  snprintf(sources, sizeof sources, "%s/sources", scratch_root);
  make_dirs(sources);
  snprintf(file, file_size, "%s/%s.spadapter", sources, kSources[index].name);
  if (folder) snprintf(folder, folder_size, "%s/%s", sources, kSources[index].name);
  sp_adapter_params params = method_params(kSources[index].method, kSources[index].variant);
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  if (folder) SP_CHECK(sp_adapter_save(adapter, folder));
  SP_CHECK(sp_adapter_save_file(adapter, file));
  sp_adapter_free(adapter);
}

static buf read_or_fail(const char* path) {
  buf b = {0};
  if (!read_file(path, &b)) fail_msg("cannot read %s", path);
  return b;
}

/* Replaces the value of the first `"key":` in a JSON text (found by the token scanner). */
static void set_json_field(buf* text, const char* key, const char* value) {
  static json_token tokens[20000];
  char quoted[128];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  size_t count = json_tokens((const char*)text->data, text->size, tokens, 20000);
  for (size_t i = 0; i + 1 < count; ++i) {
    if (tokens[i].is_key && tokens[i].end - tokens[i].start == strlen(quoted) &&
        memcmp(text->data + tokens[i].start, quoted, strlen(quoted)) == 0) {
      buf_splice(text, tokens[i + 1].start, tokens[i + 1].end - tokens[i + 1].start, value, strlen(value));
      return;
    }
  }
  fail_msg("no key %s in %.*s", key, (int)text->size, (const char*)text->data);
}

/* ---- single files: editing the records inside the payload */

typedef enum { EDIT_REPLACE_RECORD, EDIT_SET_FIELD } edit_kind;

/* The single file `source` with its record `record` ("softprompt.method" / "softprompt.base_model")
 * replaced whole by `value` (EDIT_REPLACE_RECORD) or with `field` set to `value`. */
static buf edit_record(buf source, const char* record, edit_kind kind, const char* field, const char* value) {
  buf payload = {NULL, 0}, text = {NULL, 0};
  safetensors_parts parts = {{NULL, 0}, {NULL, 0}};
  size_t start = 0, end = 0;
  if (!unpack_single_file(source, &payload) || !split_safetensors(payload, &parts) ||
      !find_string_value(parts.header, record, &text, &start, &end))
    fail_msg("cannot take the library's single file apart");
  if (kind == EDIT_REPLACE_RECORD) {
    buf_free(&text);
    text = buf_from(value, strlen(value));
  } else {
    set_json_field(&text, field, value);
  }
  put_string_value(&parts.header, start, end, text);
  buf joined = join_safetensors(parts.header, parts.data);
  buf file = pack_single_file(joined, 6);
  buf_free(&joined);
  buf_free(&text);
  buf_free(&parts.header);
  buf_free(&parts.data);
  buf_free(&payload);
  return file;
}

static child_outcome load_file_bytes(buf file, const char* name) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.spadapter", scratch_root, name);
  if (!write_file(path, file.data, file.size)) fail_msg("cannot write %s", path);
  return run_in_child(load_file_child, path, kHeadroom, kSecondsPerLoad);
}

static void single_file_records_of_the_wrong_type_are_format_errors(void** state) {
  (void)state;
  char path[700];
  write_source(3, NULL, 0, path, sizeof path); /* P-tuning, MLP */
  buf source = read_or_fail(path);
  static const struct {
    const char* record;
    edit_kind kind;
    const char* field;
    const char* value;
    const char* names;
  } cases[] = {
      {"softprompt.method", EDIT_REPLACE_RECORD, NULL, "[]", "not a JSON object"},
      {"softprompt.method", EDIT_REPLACE_RECORD, NULL, "1", "not a JSON object"},
      {"softprompt.method", EDIT_REPLACE_RECORD, NULL, "null", "not a JSON object"},
      {"softprompt.method", EDIT_REPLACE_RECORD, NULL, "\"a string\"", "not a JSON object"},
      {"softprompt.method", EDIT_REPLACE_RECORD, NULL, "{\"peft_config\":", "not valid JSON"},
      {"softprompt.method", EDIT_REPLACE_RECORD, NULL, "{}", "peft_config"},
      {"softprompt.method", EDIT_SET_FIELD, "seed", "\"x\"", "seed"},
      {"softprompt.method", EDIT_SET_FIELD, "seed", "-1", "seed"},
      {"softprompt.method", EDIT_SET_FIELD, "seed", "1.5", "seed"},
      {"softprompt.method", EDIT_SET_FIELD, "encoded_only", "null", "encoded_only"},
      {"softprompt.method", EDIT_SET_FIELD, "encoded_only", "\"no\"", "encoded_only"},
      {"softprompt.method", EDIT_SET_FIELD, "peft_config", "[]", "peft_config"},
      {"softprompt.method", EDIT_SET_FIELD, "peft_config", "null", "peft_config"},
      {"softprompt.method", EDIT_SET_FIELD, "num_virtual_tokens", "\"4\"", "num_virtual_tokens"},
      {"softprompt.method", EDIT_SET_FIELD, "encoder_num_layers", "[]", "encoder_num_layers"},
      {"softprompt.method", EDIT_SET_FIELD, "peft_type", "7", "peft_type"},
      {"softprompt.method", EDIT_SET_FIELD, "encoder_dropout", "\"none\"", "encoder_dropout"},
      {"softprompt.base_model", EDIT_REPLACE_RECORD, NULL, "[]", "not a JSON object"},
      {"softprompt.base_model", EDIT_REPLACE_RECORD, NULL, "null", "not a JSON object"},
      {"softprompt.base_model", EDIT_SET_FIELD, "hidden_size", "\"64\"", "hidden_size"},
      {"softprompt.base_model", EDIT_SET_FIELD, "embedding_sample", "12", "embedding_sample"},
      {"softprompt.base_model", EDIT_SET_FIELD, "embedding_sample", "[1, 2]", "an array of 1024 numbers"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    buf file = edit_record(source, cases[i].record, cases[i].kind, cases[i].field, cases[i].value);
    char label[200];
    snprintf(label, sizeof label, "%s %s = %s", cases[i].record, cases[i].field ? cases[i].field : "(whole)",
             cases[i].value);
    /* Both the record and the key must be named (a record replaced whole names the record). */
    expect_child(label, load_file_bytes(file, "typed"), SP_ERR_FORMAT, cases[i].record, cases[i].names);
    buf_free(&file);
  }
  /* name_or_path is informational: a wrong type there must not turn a model mismatch into a crash. */
  buf file = edit_record(source, "softprompt.base_model", EDIT_SET_FIELD, "name_or_path", "[1]");
  buf mismatched = edit_record(file, "softprompt.base_model", EDIT_SET_FIELD, "vocab_size", "7");
  expect_child("base_model vocab_size 7, name_or_path [1]", load_file_bytes(mismatched, "typed"), SP_ERR_MODEL_MISMATCH,
               "vocab_size", NULL);
  buf_free(&mismatched);
  buf_free(&file);
  buf_free(&source);
}

static void single_file_sizes_are_checked_before_allocation(void** state) {
  (void)state;
  char lstm[700], mpt[700];
  write_source(4, NULL, 0, lstm, sizeof lstm); /* P-tuning LSTM, 2 layers */
  write_source(5, NULL, 0, mpt, sizeof mpt);   /* MPT, 3 tasks, rank 2 */
  buf lstm_file = read_or_fail(lstm), mpt_file = read_or_fail(mpt);
  static const struct {
    int mpt;
    const char* field;
    const char* value;
    sp_status expected;
    const char* names;
    const char* bound;
  } cases[] = {
      /* Built layers for 24 s up to 4 GB before. */
      {0, "encoder_num_layers", "1000000", SP_ERR_FORMAT, "encoder_num_layers", "256"},
      {0, "encoder_num_layers", "3", SP_ERR_FORMAT, "lstm_head.weight_ih_l2", NULL},
      {0, "encoder_num_layers", "1", SP_ERR_FORMAT, "_l1\"", "not a parameter"},
      {0, "num_virtual_tokens", "2147483647", SP_ERR_FORMAT, "num_virtual_tokens", "1048576"},
      {0, "num_virtual_tokens", "1000000", SP_ERR_SHAPE_MISMATCH, "num_virtual_tokens = 1000000", NULL},
      {0, "encoder_hidden_size", "1000000", SP_ERR_SHAPE_MISMATCH, "4 * encoder_hidden_size (1000000)", "weight_ih_l0"},
      {0, "encoder_hidden_size", "1099511627776", SP_ERR_FORMAT, "encoder_hidden_size", "1048576"},
      {1, "num_tasks", "1000000000", SP_ERR_FORMAT, "num_tasks", "1048576"},
      {1, "num_ranks", "1000000000", SP_ERR_FORMAT, "num_ranks", "65536"},
      {1, "num_tasks", "100000", SP_ERR_SHAPE_MISMATCH, "num_tasks = 100000", NULL},
      {1, "num_virtual_tokens", "18446744073709551615", SP_ERR_FORMAT, "num_virtual_tokens", "too large"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    buf file = edit_record(cases[i].mpt ? mpt_file : lstm_file, "softprompt.method", EDIT_SET_FIELD, cases[i].field,
                           cases[i].value);
    char label[200];
    snprintf(label, sizeof label, "%s record %s = %s", cases[i].mpt ? "MPT" : "LSTM", cases[i].field, cases[i].value);
    expect_child(label, load_file_bytes(file, "sizes"), cases[i].expected, cases[i].names, cases[i].bound);
    buf_free(&file);
  }
  buf_free(&lstm_file);
  buf_free(&mpt_file);
}

/* A file whose payload is `header` and then `zeros` zero bytes, streamed through deflate so that
 * the test never holds the inflated payload itself. */
static buf bomb_file(buf header, uint64_t zeros) {
  static unsigned char nothing[1 << 20];
  buf file = buf_from(kSpaMagic, 8);
  unsigned char fields[24];
  const uint64_t payload_size = 8 + header.size + zeros;
  put_le(fields, 1, 4);
  put_le(fields + 4, 1, 4);
  put_le(fields + 8, payload_size, 8);
  put_le(fields + 16, 0, 8); /* compressed size, set below */
  buf_append(&file, fields, sizeof fields);
  z_stream z;
  memset(&z, 0, sizeof z);
  deflateInit(&z, 1);
  unsigned char length[8], out[1 << 16];
  put_le(length, header.size, 8);
  buf prefix = buf_from(length, 8);
  buf_append(&prefix, header.data, header.size);
  for (int stage = 0; stage < 2; ++stage) {
    uint64_t left = stage == 0 ? prefix.size : zeros;
    const unsigned char* source = stage == 0 ? prefix.data : nothing;
    do {
      const uInt chunk = (uInt)(left < sizeof nothing ? left : sizeof nothing);
      z.next_in = (Bytef*)source;
      z.avail_in = chunk;
      left -= chunk;
      const int flush = stage == 1 && left == 0 ? Z_FINISH : Z_NO_FLUSH;
      do {
        z.next_out = out;
        z.avail_out = sizeof out;
        deflate(&z, flush);
        buf_append(&file, out, sizeof out - z.avail_out);
      } while (z.avail_out == 0);
    } while (left > 0);
  }
  deflateEnd(&z);
  buf_free(&prefix);
  put_le(file.data + 24, file.size - 32, 8);
  unsigned char crc[4] = {0};
  buf_append(&file, crc, 4);
  fix_crc(&file);
  return file;
}

static void single_file_payload_claims_cannot_exhaust_memory(void** state) {
  (void)state;
  char path[700];
  write_source(0, NULL, 0, path, sizeof path); /* prompt tuning: 4 x 64 floats */
  buf source = read_or_fail(path);

  /* A few-kB file announcing 3 GiB: allocated and zeroed 3 GiB before. */
  buf claim = buf_copy(source);
  put_le(claim.data + 16, (uint64_t)3 << 30, 8);
  fix_crc(&claim);
  expect_child("payload size 3 GiB in a small file", load_file_bytes(claim, "claim"), SP_ERR_FORMAT, "1033:1", NULL);
  put_le(claim.data + 16, (uint64_t)1 << 40, 8);
  fix_crc(&claim);
  expect_child("payload size 1 TiB in a small file", load_file_bytes(claim, "claim"), SP_ERR_FORMAT, "impossible",
               NULL);
  /* Sizes off by one byte either way: the declared tensors no longer tile the announced data. */
  const uint64_t truth = get_le64(source.data + 16);
  put_le(claim.data + 16, truth + 1, 8);
  fix_crc(&claim);
  expect_child("payload size one byte more", load_file_bytes(claim, "claim"), SP_ERR_FORMAT, "data section", NULL);
  put_le(claim.data + 16, truth - 1, 8);
  fix_crc(&claim);
  expect_child("payload size one byte less", load_file_bytes(claim, "claim"), SP_ERR_FORMAT, "data section", NULL);
  buf_free(&claim);

  /* A decompression bomb within deflate's ratio: the header declares embedding.weight as 512 MiB of
   * zeros, which the (unchanged) record's 4 virtual tokens cannot justify. It must be refused from
   * the header, before any of those bytes is inflated into memory (the child has 256 MiB). */
  buf payload = {NULL, 0};
  safetensors_parts parts = {{NULL, 0}, {NULL, 0}};
  if (!unpack_single_file(source, &payload) || !split_safetensors(payload, &parts)) fail_msg("cannot unpack");
  const uint64_t rows = (uint64_t)1 << 21, bytes = rows * 64 * 4;
  char shape[64], offsets[64];
  snprintf(shape, sizeof shape, "[%llu,64]", (unsigned long long)rows);
  snprintf(offsets, sizeof offsets, "[0,%llu]", (unsigned long long)bytes);
  set_json_field(&parts.header, "shape", shape);
  set_json_field(&parts.header, "data_offsets", offsets);
  buf bomb = bomb_file(parts.header, bytes);
  printf("    bomb: %zu bytes inflating to %llu\n", bomb.size, (unsigned long long)(8 + parts.header.size + bytes));
  child_outcome o = load_file_bytes(bomb, "bomb");
  expect_child("512 MiB of declared zeros for a 4-token adapter", o, SP_ERR_SHAPE_MISMATCH, "num_virtual_tokens = 4",
               "[2097152, 64]");
  buf_free(&bomb);
  buf_free(&parts.header);
  buf_free(&parts.data);
  buf_free(&payload);
  buf_free(&source);
}

/* ---- PEFT folders */

static child_outcome load_folder_with_config(const char* source_folder, buf config, const char* name) {
  char folder[700], path[800], weights[800];
  snprintf(folder, sizeof folder, "%s/%s", scratch_root, name);
  make_dirs(folder);
  snprintf(weights, sizeof weights, "%s/adapter_model.safetensors", source_folder);
  buf w = read_or_fail(weights);
  snprintf(path, sizeof path, "%s/adapter_model.safetensors", folder);
  write_file(path, w.data, w.size);
  buf_free(&w);
  snprintf(path, sizeof path, "%s/adapter_config.json", folder);
  write_file(path, config.data, config.size);
  return run_in_child(load_folder_child, folder, kHeadroom, kSecondsPerLoad);
}

static void folder_sizes_are_checked_before_allocation(void** state) {
  (void)state;
  char prompt[700], mpt[700], lstm[700], file[700], config_path[800];
  write_source(0, prompt, sizeof prompt, file, sizeof file);
  write_source(5, mpt, sizeof mpt, file, sizeof file);
  write_source(4, lstm, sizeof lstm, file, sizeof file);
  static const struct {
    int source; /* 0 prompt, 1 MPT, 2 P-tuning LSTM */
    const char* field;
    const char* value;
    sp_status expected;
    const char* names;
    const char* bound;
  } cases[] = {
      /* Asked for 137 GB, and 8-34 GB, before. */
      {0, "num_virtual_tokens", "2147483647", SP_ERR_FORMAT, "num_virtual_tokens", "1048576"},
      {1, "num_tasks", "1000000000", SP_ERR_FORMAT, "num_tasks", "1048576"},
      {1, "num_ranks", "1000000000", SP_ERR_FORMAT, "num_ranks", "65536"},
      {1, "num_tasks", "1000", SP_ERR_SHAPE_MISMATCH, "num_tasks = 1000", "prefix_task_cols"},
      {1, "num_ranks", "3", SP_ERR_SHAPE_MISMATCH, "num_ranks = 3", NULL},
      {0, "num_virtual_tokens", "5", SP_ERR_SHAPE_MISMATCH, "num_virtual_tokens = 5", "prompt_embeddings"},
      {0, "num_virtual_tokens", "1e9", SP_ERR_FORMAT, "num_virtual_tokens", "integer"},
      {0, "num_virtual_tokens", "18446744073709551615", SP_ERR_FORMAT, "num_virtual_tokens", "too large"},
      {0, "num_virtual_tokens", "\"4\"", SP_ERR_FORMAT, "num_virtual_tokens", "integer"},
      {0, "num_virtual_tokens", "-4", SP_ERR_FORMAT, "num_virtual_tokens", NULL},
      {0, "peft_type", "1", SP_ERR_FORMAT, "peft_type", NULL},
      {0, "token_dim", "[]", SP_ERR_FORMAT, "token_dim", NULL},
      {2, "encoder_num_layers", "1000000", SP_ERR_FORMAT, "encoder_num_layers", "256"},
      {2, "encoder_hidden_size", "4294967296", SP_ERR_FORMAT, "encoder_hidden_size", "1048576"},
      {2, "encoder_dropout", "\"x\"", SP_ERR_FORMAT, "encoder_dropout", NULL},
      {2, "encoder_dropout", "2", SP_ERR_FORMAT, "encoder_dropout", NULL},
      {2, "encoder_reparameterization_type", "null", SP_OK, NULL, NULL}, /* PEFT's default, MLP */
  };
  const char* sources[] = {prompt, mpt, lstm};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    snprintf(config_path, sizeof config_path, "%s/adapter_config.json", sources[cases[i].source]);
    buf config = read_or_fail(config_path);
    set_json_field(&config, cases[i].field, cases[i].value);
    char label[200];
    snprintf(label, sizeof label, "adapter_config.json %s = %s", cases[i].field, cases[i].value);
    expect_child(label, load_folder_with_config(sources[cases[i].source], config, "folder"), cases[i].expected,
                 cases[i].names, cases[i].bound);
    buf_free(&config);
  }
  buf root = buf_from("[]", 2);
  expect_child("adapter_config.json = []", load_folder_with_config(prompt, root, "folder"), SP_ERR_FORMAT,
               "adapter_config.json", "not a JSON object");
  buf_free(&root);
}

/* ---- adapter requests */

static void adapter_requests_must_fit_in_memory(void** state) {
  (void)state;
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 2147483647;
  expect_child("create: num_virtual_tokens 2^31 - 1", run_in_child(create_child, &params, kHeadroom, kSecondsPerLoad),
               SP_ERR_INVALID_ARGUMENT, "num_virtual_tokens", "1048576");
  /* Every size within its bound, the product beyond any machine (2^20 * 2^10 * 2^16 floats). */
  params = sp_adapter_default_params();
  params.method = SP_METHOD_MULTITASK_PROMPT_TUNING;
  params.num_virtual_tokens = 1024;
  params.num_tasks = 1 << 20;
  params.num_ranks = 1 << 16;
  expect_child("create: MPT 2^20 tasks x 1024 tokens x rank 2^16",
               run_in_child(create_child, &params, kHeadroom, kSecondsPerLoad), SP_ERR_OUT_OF_MEMORY, "bytes",
               "physical memory");
  /* About 5.6 GB: within many machines' memory but not within the child's limit, so LibTorch's
   * allocator fails; that is an out-of-memory error, not a backend error. */
  params.num_virtual_tokens = 20;
  params.num_tasks = 1 << 18;
  params.num_ranks = 64;
  expect_child("create: MPT 2^18 tasks x 20 tokens x rank 64",
               run_in_child(create_child, &params, kHeadroom, kSecondsPerLoad), SP_ERR_OUT_OF_MEMORY, NULL, NULL);
}

/* ---- the mutation run */

typedef struct {
  int counts[32]; /* by sp_status */
  int signals, failures;
  double seconds;
} tally;

static int acceptable(child_outcome o) {
  if (o.signal) return 0;
  switch (o.status) {
    case SP_ERR_INTERNAL:
    case SP_ERR_BACKEND:       /* LibTorch failed: the load allocated beyond the limit or passed bad shapes */
    case SP_ERR_OUT_OF_MEMORY: /* the child hit its address-space limit */
    case SP_ERR_INVALID_HANDLE:
    case SP_ERR_INVALID_ARGUMENT: /* a file's content is never the caller's argument */
      return 0;
    default:
      return o.status >= 0 && o.status < 32;
  }
}

static void record(tally* t, child_outcome o, const char* what, int index, const char* kept_as) {
  t->seconds += o.seconds;
  if (o.signal)
    t->signals++;
  else
    t->counts[o.status]++;
  if (!acceptable(o)) {
    if (t->failures < 12)
      printf("    FAILED %s mutant %d: %s %s (kept as %s)\n", what, index,
             o.signal ? strsignal(o.signal) : sp_status_string(o.status), o.message, kept_as);
    t->failures++;
  }
}

static void report(const char* what, const tally* t, int total) {
  printf("    %s: %d mutants in %.1f s of children:", what, total, t->seconds);
  for (int s = 0; s < 32; ++s)
    if (t->counts[s]) printf(" %s %d", sp_status_string(s), t->counts[s]);
  if (t->signals) printf(" killed %d", t->signals);
  printf("\n");
  if (t->failures)
    fail_msg("%s: %d of %d mutants crashed, hung, hit the memory limit or gave an unacceptable status", what,
             t->failures, total);
}

static void keep_failure(const char* what, int index, buf content, char* kept, size_t size) {
  char folder[700];
  snprintf(folder, sizeof folder, "%s/failures", scratch_root);
  make_dirs(folder);
  snprintf(kept, size, "%s/%s-%d", folder, what, index);
  write_file(kept, content.data, content.size);
}

/* One mutant of a single file: raw bytes (with or without a recomputed checksum), the header
 * fields, or - re-packed into a well-formed file - the payload's bytes, its safetensors header or
 * one of the two records. */
static buf single_file_mutant(buf source, rng* r) {
  const size_t choice = rng_below(r, 10);
  if (choice <= 1) { /* raw bytes: nearly always the checksum; with it recomputed, the rest */
    buf m = buf_copy(source);
    mutate_bytes(&m, r);
    if (choice == 1) fix_crc(&m);
    return m;
  }
  if (choice == 2) { /* a header field, checksum recomputed */
    buf m = buf_copy(source);
    static const int kOffsets[] = {8, 12, 16, 16, 24, 24};
    const int at = kOffsets[rng_below(r, 6)];
    const uint64_t truth = at >= 16 ? get_le64(m.data + at) : 1;
    put_le(m.data + at, hostile_length(r, truth, m.size), at >= 16 ? 8 : 4);
    fix_crc(&m);
    return m;
  }
  buf payload = {NULL, 0};
  safetensors_parts parts = {{NULL, 0}, {NULL, 0}};
  if (!unpack_single_file(source, &payload) || !split_safetensors(payload, &parts)) fail_msg("cannot unpack a source");
  buf rebuilt;
  if (choice == 3) {
    rebuilt = buf_copy(payload);
    mutate_bytes(&rebuilt, r);
  } else if (choice == 4) {
    rebuilt = buf_copy(payload);
    put_le(rebuilt.data, hostile_length(r, get_le64(rebuilt.data), rebuilt.size), 8);
  } else {
    if (choice <= 6) {
      mutate_json(&parts.header, r);
    } else {
      buf text = {NULL, 0};
      size_t start = 0, end = 0;
      if (!find_string_value(parts.header, choice <= 8 ? "softprompt.method" : "softprompt.base_model", &text, &start,
                             &end))
        fail_msg("no record in a source");
      mutate_json(&text, r);
      if (rng_below(r, 3) == 0) mutate_json(&text, r);
      put_string_value(&parts.header, start, end, text);
      buf_free(&text);
    }
    rebuilt = join_safetensors(parts.header, parts.data);
  }
  buf m = pack_single_file(rebuilt, 1);
  buf_free(&rebuilt);
  buf_free(&parts.header);
  buf_free(&parts.data);
  buf_free(&payload);
  return m;
}

static void mutated_single_files_fail_cleanly(void** state) {
  (void)state;
  buf sources[NUM_SOURCES];
  char path[700];
  for (size_t s = 0; s < NUM_SOURCES; ++s) {
    write_source(s, NULL, 0, path, sizeof path);
    sources[s] = read_or_fail(path);
  }
  rng r = {20240607};
  tally t;
  memset(&t, 0, sizeof t);
  snprintf(path, sizeof path, "%s/mutant.spadapter", scratch_root);
  for (int i = 0; i < mutants_per_loader; ++i) {
    buf m = single_file_mutant(sources[rng_below(&r, NUM_SOURCES)], &r);
    write_file(path, m.data, m.size);
    child_outcome o = run_in_child(load_file_child, path, kHeadroom, kSecondsPerLoad);
    char kept[800] = "";
    if (!acceptable(o)) keep_failure("single-file", i, m, kept, sizeof kept);
    record(&t, o, "single-file", i, kept);
    buf_free(&m);
  }
  for (size_t s = 0; s < NUM_SOURCES; ++s) buf_free(&sources[s]);
  report("single files", &t, mutants_per_loader);
}

/* One mutant of a PEFT folder: adapter_config.json (JSON edits or raw bytes) or
 * adapter_model.safetensors (length field, JSON edits of its header with the length kept right,
 * raw bytes). */
static void folder_mutant(buf* config, buf* weights, rng* r) {
  const size_t choice = rng_below(r, 10);
  if (choice <= 3) {
    mutate_json(config, r);
    if (rng_below(r, 3) == 0) mutate_json(config, r);
  } else if (choice == 4) {
    mutate_bytes(config, r);
  } else if (choice == 5) {
    put_le(weights->data, hostile_length(r, get_le64(weights->data), weights->size), 8);
  } else if (choice <= 8) {
    mutate_safetensors_header(weights, r);
  } else {
    mutate_bytes(weights, r);
  }
}

static void mutated_folders_fail_cleanly(void** state) {
  (void)state;
  buf configs[NUM_SOURCES], weights[NUM_SOURCES];
  char folder[700], path[800];
  for (size_t s = 0; s < NUM_SOURCES; ++s) {
    write_source(s, folder, sizeof folder, path, sizeof path);
    snprintf(path, sizeof path, "%s/adapter_config.json", folder);
    configs[s] = read_or_fail(path);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", folder);
    weights[s] = read_or_fail(path);
  }
  rng r = {19700101};
  tally t;
  memset(&t, 0, sizeof t);
  snprintf(folder, sizeof folder, "%s/mutant-folder", scratch_root);
  make_dirs(folder);
  for (int i = 0; i < mutants_per_loader; ++i) {
    const size_t s = rng_below(&r, NUM_SOURCES);
    buf config = buf_copy(configs[s]), w = buf_copy(weights[s]);
    folder_mutant(&config, &w, &r);
    snprintf(path, sizeof path, "%s/adapter_config.json", folder);
    write_file(path, config.data, config.size);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", folder);
    write_file(path, w.data, w.size);
    child_outcome o = run_in_child(load_folder_child, folder, kHeadroom, kSecondsPerLoad);
    char kept[800] = "";
    if (!acceptable(o)) {
      char name[64];
      snprintf(name, sizeof name, "folder-%d-config", i);
      keep_failure(name, i, config, kept, sizeof kept);
      snprintf(name, sizeof name, "folder-%d-weights", i);
      keep_failure(name, i, w, kept, sizeof kept);
    }
    record(&t, o, "folder", i, kept);
    buf_free(&config);
    buf_free(&w);
  }
  for (size_t s = 0; s < NUM_SOURCES; ++s) {
    buf_free(&configs[s]);
    buf_free(&weights[s]);
  }
  report("adapter folders", &t, mutants_per_loader);
}

/* ---- model folders (config.json, model.safetensors, model.safetensors.index.json) */

static sp_status load_model_child(const void* folder) {
  sp_model* loaded = NULL;
  sp_status status = sp_model_create(&loaded, (const char*)folder, NULL);
  if (status != SP_OK) return status;
  sp_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  status = sp_model_get_info(loaded, &info);
  if (status != SP_OK) return status;
  int32_t ids[3] = {0, 0, 0};
  sp_batch batch = sp_batch_init();
  batch.batch_size = 1;
  batch.seq_len = 3;
  batch.input_ids = ids;
  batch.num_input_ids = 3;
  float* logits = malloc((size_t)info.vocab_size * sizeof(float));
  status = sp_model_logits(loaded, &batch, SP_LOGITS_LAST, logits, (size_t)info.vocab_size);
  free(logits);
  return status;
}

typedef struct {
  int count;
  char names[5][64];
  buf files[5];
} model_source;

static void read_model_source(const char* variant, model_source* source) {
  static const char* const kNames[] = {"config.json",
                                       "model.safetensors",
                                       "model.safetensors.index.json",
                                       "model-00001-of-00003.safetensors",
                                       "model-00002-of-00003.safetensors",
                                       "model-00003-of-00003.safetensors"};
  memset(source, 0, sizeof *source);
  for (size_t i = 0; i < sizeof kNames / sizeof *kNames && source->count < 5; ++i) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s/%s", models_root, variant, kNames[i]);
    if (read_file(path, &source->files[source->count])) snprintf(source->names[source->count++], 64, "%s", kNames[i]);
  }
}

/* One mutant of a model folder: a JSON edit or raw bytes of config.json or the index, or a
 * safetensors file's length field, header (JSON edit, length kept right) or bytes. */
static int model_mutant(const model_source* source, buf* files, rng* r) {
  int target = (int)rng_below(r, (size_t)source->count);
  if (rng_below(r, 3) == 0) target = 0; /* config.json a third of the time and more */
  buf* file = &files[target];
  const int is_json = strstr(source->names[target], ".json") != NULL;
  const size_t choice = rng_below(r, 10);
  if (is_json) {
    if (choice == 0)
      mutate_bytes(file, r);
    else
      mutate_json(file, r);
    if (choice >= 7) mutate_json(file, r);
  } else if (choice <= 1) {
    put_le(file->data, hostile_length(r, get_le64(file->data), file->size), 8);
  } else if (choice <= 8) {
    mutate_safetensors_header(file, r);
  } else {
    mutate_bytes(file, r);
  }
  return target;
}

static void mutated_model_folders_fail_cleanly(void** state) {
  (void)state;
  static const char* const kVariants[] = {"llama", "llama-sharded", "gpt2", "qwen2"};
  model_source sources[4];
  for (int v = 0; v < 4; ++v) read_model_source(kVariants[v], &sources[v]);
  rng r = {31415926};
  tally t;
  memset(&t, 0, sizeof t);
  const int total = mutants_per_loader / 2;
  for (int i = 0; i < total; ++i) {
    const model_source* source = &sources[rng_below(&r, 4)];
    char folder[700], path[800];
    snprintf(folder, sizeof folder, "%s/mutant-model-%d", scratch_root, i % 2); /* file sets differ: two folders */
    char command[800];
    snprintf(command, sizeof command, "rm -rf '%s'", folder);
    if (system(command) != 0) fail_msg("cannot clear %s", folder);
    make_dirs(folder);
    buf files[5];
    for (int f = 0; f < source->count; ++f) files[f] = buf_copy(source->files[f]);
    const int target = model_mutant(source, files, &r);
    for (int f = 0; f < source->count; ++f) {
      snprintf(path, sizeof path, "%s/%s", folder, source->names[f]);
      write_file(path, files[f].data, files[f].size);
    }
    child_outcome o = run_in_child(load_model_child, folder, kHeadroom, kSecondsPerLoad);
    char kept[800] = "";
    if (!acceptable(o)) {
      char name[128];
      snprintf(name, sizeof name, "model-%d-%s", i, source->names[target]);
      keep_failure(name, i, files[target], kept, sizeof kept);
    }
    record(&t, o, "model", i, kept);
    for (int f = 0; f < source->count; ++f) buf_free(&files[f]);
  }
  for (int v = 0; v < 4; ++v)
    for (int f = 0; f < sources[v].count; ++f) buf_free(&sources[v].files[f]);
  report("model folders", &t, total);
}

/* ---- setup */

static int setup(void** state) {
  (void)state;
  char folder[700];
  snprintf(folder, sizeof folder, "%s/llama", models_root);
  sp_model_params params = sp_model_default_params();
  if (sp_model_create(&model, folder, &params) != SP_OK) {
    fprintf(stderr, "cannot load %s: %s\n", folder, sp_last_error());
    return -1;
  }
  sp_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  if (sp_model_get_info(model, &info) != SP_OK) return -1;
  vocab_size = info.vocab_size;
  /* A forked child may only use LibTorch if no other thread held one of its locks at the fork. */
  const int threads = thread_count();
  printf("    parent: %d thread(s), address space %.0f MB; each child may grow it by %llu MB\n", threads,
         (double)address_space_bytes() / (1 << 20), (unsigned long long)(kHeadroom >> 20));
  if (threads != 1) {
    fprintf(stderr, "the parent has %d threads; children could deadlock\n", threads);
    return -1;
  }
  return 0;
}

static int teardown(void** state) {
  (void)state;
  sp_model_free(model);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s <models-folder> <scratch-folder> [mutants per loader]\n", argv[0]);
    return 2;
  }
  /* LibTorch then runs every operation on this thread (OpenMP and MKL pools of one), so the
   * process stays single-threaded and fork() is safe. Set before LibTorch reads them: re-exec. */
  const char* omp = getenv("OMP_NUM_THREADS");
  if (!omp || strcmp(omp, "1") != 0) {
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("MKL_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    perror("execv");
    return 2;
  }
  models_root = argv[1];
  scratch_root = argv[2];
  if (argc == 4) mutants_per_loader = atoi(argv[3]);
  make_dirs(scratch_root);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(single_file_records_of_the_wrong_type_are_format_errors),
      cmocka_unit_test(single_file_sizes_are_checked_before_allocation),
      cmocka_unit_test(single_file_payload_claims_cannot_exhaust_memory),
      cmocka_unit_test(folder_sizes_are_checked_before_allocation),
      cmocka_unit_test(adapter_requests_must_fit_in_memory),
      cmocka_unit_test(mutated_single_files_fail_cleanly),
      cmocka_unit_test(mutated_folders_fail_cleanly),
      cmocka_unit_test(mutated_model_folders_fail_cleanly),
  };
  return cmocka_run_group_tests_name("hostile adapter files", tests, setup, teardown);
}
