/*
 * The base-model record of adapter files and trainer states (core/adapters/single_file_format.md)
 * through the public C API: an adapter trained on a model's float32 safetensors folder loads on the
 * same folder loaded as bfloat16, on a bfloat16 copy of the folder and on GGUF copies (F16, BF16,
 * Q8_0, Q5_1, Q5_0, Q4_1, Q4_0), and one trained on a GGUF copy loads on the folder; a model of the
 * same family and sizes with other weights (a folder and a Q4_0 GGUF), one of other sizes and one of
 * another family refuse it with SP_ERR_MODEL_MISMATCH naming the difference. The tolerance, 0.6, is
 * checked at both sides (copies whose sample differs by exactly 0.55 and 0.65), and a version-1 file,
 * built here from a saved file by the format page's framing, loads on its own folder only.
 *
 *   test_base_model_record <fixture-folder> <scratch-folder>
 *
 * The fixture (tests/reference/base_model_record_reference.py) writes the models with transformers
 * and gguf, and computes from those files, by the format page's definitions, each copy's sample
 * difference and each folder's version-1 fingerprint: the figures the library's messages must give.
 */
#include <zlib.h>

#include "test_support.h"

enum { ROWS = 2, SEQ = 6, TOKENS = 4, TRAIN_STEPS = 3 };

static const char* fixture_root;
static const char* scratch_root;

/* ------------------------------------------------------------------------------ fixture figures */

/* "<name> <value>" lines of <fixture>/<file>; fails the test when `name` is absent. */
static void fixture_value(const char* file, const char* name, char* value, size_t capacity) {
  char path[1024], key[128], text[128];
  FILE* handle = fopen(test_path(path, sizeof path, fixture_root, file), "r");
  if (!handle) fail_msg("cannot open %s", path);
  while (fscanf(handle, "%127s %127s", key, text) == 2)
    if (strcmp(key, name) == 0) {
      fclose(handle);
      snprintf(value, capacity, "%s", text);
      return;
    }
  fclose(handle);
  fail_msg("%s has no \"%s\"", path, name);
}

/* The relative RMS difference of the copy's sample from the original's (differences.txt). */
static double reference_difference(const char* name) {
  char value[128];
  fixture_value("differences.txt", name, value, sizeof value);
  return strtod(value, NULL);
}

/* ------------------------------------------------------------------------------ models and adapters */

static const char* fixture_path(char* buffer, size_t size, const char* name) {
  return test_path(buffer, size, fixture_root, name);
}

static const char* scratch_path(char* buffer, size_t size, const char* name) {
  make_dirs(scratch_root);
  return test_path(buffer, size, scratch_root, name);
}

static sp_model* load_model(const char* name, int bfloat16) {
  char path[1024];
  sp_model_params params = test_model_params();
  if (bfloat16) params.dtype = SP_DTYPE_BFLOAT16;
  sp_model* model = NULL;
  SP_CHECK(sp_model_create(&model, fixture_path(path, sizeof path, name), &params));
  return model;
}

typedef struct {
  const char* label;
  sp_method method;
} method_case;

static const method_case kMethods[] = {
    {"prompt tuning", SP_METHOD_PROMPT_TUNING},
    {"prefix tuning", SP_METHOD_PREFIX_TUNING},
    {"P-tuning", SP_METHOD_P_TUNING},
};

static sp_adapter* new_adapter(sp_model* model, sp_method method, uint64_t seed) {
  sp_adapter_params params = sp_adapter_default_params();
  params.method = method;
  params.num_virtual_tokens = TOKENS;
  params.seed = seed;
  params.encoder_hidden_size = 16;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, model, &params));
  return adapter;
}

static sp_trainer* new_trainer(sp_adapter* adapter) {
  sp_trainer_params params = sp_trainer_default_params();
  params.learning_rate = 0.05;
  sp_trainer* trainer = NULL;
  SP_CHECK(sp_trainer_create(&trainer, adapter, &params));
  return trainer;
}

static sp_batch fixed_batch(int32_t ids[ROWS * SEQ]) {
  for (int i = 0; i < ROWS * SEQ; ++i) ids[i] = (int32_t)((i * 37 + 11) % 300);
  sp_batch batch = sp_batch_init();
  batch.batch_size = ROWS;
  batch.seq_len = SEQ;
  batch.input_ids = ids;
  batch.num_input_ids = ROWS * SEQ;
  return batch;
}

/* Every trainable tensor of an adapter, concatenated in the adapter's order. */
typedef struct {
  float* values;
  size_t count;
} parameters;

static parameters adapter_parameters(const sp_adapter* adapter) {
  parameters all = {NULL, 0};
  const char* name = NULL;
  for (int32_t index = 0; sp_adapter_parameter_name(adapter, index, &name) == SP_OK; ++index) {
    size_t count = 0;
    SP_CHECK(sp_adapter_parameter_size(adapter, name, &count));
    all.values = realloc(all.values, (all.count + count) * sizeof(float));
    assert_non_null(all.values);
    SP_CHECK(sp_adapter_get_parameter(adapter, name, all.values + all.count, count));
    all.count += count;
  }
  assert_true(all.count > 0);
  return all;
}

static void assert_same_parameters(const parameters* a, const parameters* b) {
  assert_int_equal(a->count, b->count);
  assert_memory_equal(a->values, b->values, a->count * sizeof(float));
}

/* What was saved from one training run: an adapter file, a trainer state, the trained values. */
typedef struct {
  char file[1024], state[1024];
  parameters trained;
} saved_run;

/* Trains `method` for a few steps on the model `name`, then saves the adapter file and the trainer
 * state under <scratch>/<tag>.spa and <tag>.spt. */
static saved_run train_and_save(const char* name, sp_method method, const char* tag) {
  saved_run run;
  char file[256];
  snprintf(file, sizeof file, "%s.spa", tag);
  scratch_path(run.file, sizeof run.file, file);
  snprintf(file, sizeof file, "%s.spt", tag);
  scratch_path(run.state, sizeof run.state, file);
  sp_model* model = load_model(name, 0);
  sp_adapter* adapter = new_adapter(model, method, 5);
  sp_trainer* trainer = new_trainer(adapter);
  int32_t ids[ROWS * SEQ];
  const sp_batch batch = fixed_batch(ids);
  for (int step = 0; step < TRAIN_STEPS; ++step) SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  SP_CHECK(sp_adapter_save_file(adapter, run.file));
  SP_CHECK(sp_trainer_save_state(trainer, run.state, "user", 4));
  run.trained = adapter_parameters(adapter);
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
  sp_model_free(model);
  return run;
}

/* The saved file and state load on `model`: the trained values come back, the adapter computes,
 * and the restored trainer takes a step. */
static void assert_loads_on(sp_model* model, const saved_run* run, sp_method method) {
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_load_file(&adapter, model, run->file));
  parameters loaded = adapter_parameters(adapter);
  assert_same_parameters(&loaded, &run->trained);
  free(loaded.values);
  int32_t ids[ROWS * SEQ];
  const sp_batch batch = fixed_batch(ids);
  float loss = 0;
  SP_CHECK(sp_adapter_eval_loss(adapter, &batch, &loss, NULL));
  assert_true(isfinite(loss));
  sp_adapter_free(adapter);

  adapter = new_adapter(model, method, 99); /* other starting values: the state overwrites them */
  sp_trainer* trainer = new_trainer(adapter);
  char user[8];
  size_t user_size = 0;
  SP_CHECK(sp_trainer_load_state(trainer, run->state, user, sizeof user, &user_size));
  assert_int_equal(user_size, 4);
  assert_memory_equal(user, "user", 4);
  loaded = adapter_parameters(adapter);
  assert_same_parameters(&loaded, &run->trained);
  free(loaded.values);
  SP_CHECK(sp_trainer_step(trainer, &batch, NULL));
  sp_trainer_free(trainer);
  sp_adapter_free(adapter);
}

/* The figure after "differs from this model's by " in `message`, or -1. */
static double reported_difference(const char* message) {
  const char* marker = "differs from this model's by ";
  const char* at = strstr(message, marker);
  return at ? strtod(at + strlen(marker), NULL) : -1.0;
}

/* The saved file and state are refused on `model` with SP_ERR_MODEL_MISMATCH and a message holding
 * `fragment`; a refused state leaves the trainer's adapter as it was. With `difference` >= 0 the
 * message must give that sample difference (printed with 6 decimals) and the tolerance. Returns the
 * adapter file's message (a static buffer). */
static const char* assert_refused_on(sp_model* model, const saved_run* run, sp_method method, const char* fragment,
                                     double difference) {
  static char file_message[2048];
  const char* paths[] = {run->file, run->state};
  for (int kind = 0; kind < 2; ++kind) {
    sp_adapter* adapter = NULL;
    sp_trainer* trainer = NULL;
    parameters before = {NULL, 0};
    if (kind == 0) {
      adapter = (sp_adapter*)0x1;
      SP_EXPECT_ERROR(sp_adapter_load_file(&adapter, model, paths[kind]), SP_ERR_MODEL_MISMATCH, fragment);
      assert_null(adapter);
    } else {
      adapter = new_adapter(model, method, 99);
      trainer = new_trainer(adapter);
      before = adapter_parameters(adapter);
      char user[8];
      size_t user_size = 0;
      SP_EXPECT_ERROR(sp_trainer_load_state(trainer, paths[kind], user, sizeof user, &user_size), SP_ERR_MODEL_MISMATCH,
                      fragment);
    }
    if (strstr(sp_last_error(), paths[kind]) == NULL)
      fail_msg("message \"%s\" does not name the file", sp_last_error());
    if (difference >= 0) {
      const double reported = reported_difference(sp_last_error());
      if (!(fabs(reported - difference) <= 1.5e-6))
        fail_msg("message \"%s\" gives the difference %.6f; the format page's definition gives %.6f", sp_last_error(),
                 reported, difference);
      if (strstr(sp_last_error(), "at most 0.6") == NULL)
        fail_msg("message \"%s\" does not give the tolerance 0.6", sp_last_error());
    }
    if (kind == 0) snprintf(file_message, sizeof file_message, "%s", sp_last_error());
    if (kind == 1) {
      parameters after = adapter_parameters(adapter);
      assert_same_parameters(&after, &before);
      free(after.values);
      free(before.values);
      sp_trainer_free(trainer);
      sp_adapter_free(adapter);
    }
  }
  return file_message;
}

/* ------------------------------------------------------------------------------ copies and others */

typedef struct {
  const char* model;      /* fixture folder or file */
  int bfloat16;           /* loaded in bfloat16 */
  const char* difference; /* differences.txt key; NULL: the same stored values (difference 0) */
} copy_case;

/* Copies of the original: every one must accept what was trained on the original. */
static const copy_case kCopies[] = {
    {"original", 1, NULL},         {"bf16", 0, "bf16"},           {"f16.gguf", 0, "f16.gguf"},
    {"bf16.gguf", 0, "bf16.gguf"}, {"q8_0.gguf", 0, "q8_0.gguf"}, {"q5_1.gguf", 0, "q5_1.gguf"},
    {"q5_0.gguf", 0, "q5_0.gguf"}, {"q4_1.gguf", 0, "q4_1.gguf"}, {"q4_0.gguf", 1, "q4_0.gguf"},
    {"near", 0, "near"},
};

typedef struct {
  const char* model;
  const char* fragment;
  const char* difference; /* differences.txt key when the refusal is the sample's */
} other_case;

static const other_case kOthers[] = {
    {"reseeded", "differs from this model's by", "reseeded"},
    {"reseeded-q4_0.gguf", "differs from this model's by", "reseeded-q4_0.gguf"},
    {"far", "differs from this model's by", "far"},
    {"other-size", "num_layers is 2, this model's is 3", NULL},
    {"other-family", "model_type is \"llama\", this model's is \"qwen2\"", NULL},
};

static void trained_on_the_folder_loads_on_its_copies_only(void** state) {
  const method_case* method = (const method_case*)*state;
  saved_run run = train_and_save("original", method->method, "original");
  printf("  %s, trained on the float32 folder:\n", method->label);
  for (size_t i = 0; i < sizeof kCopies / sizeof *kCopies; ++i) {
    const copy_case* c = &kCopies[i];
    sp_model* model = load_model(c->model, c->bfloat16);
    assert_loads_on(model, &run, method->method);
    if (c->difference)
      printf("    loads on %-22s sample difference %.6f (fixture)\n", c->model, reference_difference(c->difference));
    else
      printf("    loads on %-22s the same stored values, loaded as bfloat16\n", c->model);
    sp_model_free(model);
  }
  for (size_t i = 0; i < sizeof kOthers / sizeof *kOthers; ++i) {
    const other_case* c = &kOthers[i];
    sp_model* model = load_model(c->model, 0);
    const char* message = assert_refused_on(model, &run, method->method, c->fragment,
                                            c->difference ? reference_difference(c->difference) : -1);
    if (c->difference)
      printf("    refused by %-20s sample difference %.6f (fixture), %.6f (message)\n", c->model,
             reference_difference(c->difference), reported_difference(message));
    else
      printf("    refused by %-20s %s\n", c->model, message);
    sp_model_free(model);
  }
  free(run.trained.values);
}

/* The other direction: trained on a quantized GGUF copy, loaded on the folder and its bfloat16
 * copy, refused by the reseeded folder. */
static void trained_on_a_gguf_copy_loads_on_the_folder(void** state) {
  const method_case* method = (const method_case*)*state;
  const char* sources[] = {"q4_0.gguf", "f16.gguf"};
  for (size_t s = 0; s < 2; ++s) {
    saved_run run = train_and_save(sources[s], method->method, "gguf");
    char key[64];
    snprintf(key, sizeof key, "reverse-%s", sources[s]);
    printf("  %s, trained on %s: loads on the folder (sample difference %.6f, fixture)\n", method->label, sources[s],
           reference_difference(key));
    const copy_case targets[] = {{"original", 0, NULL}, {"original", 1, NULL}, {"bf16", 0, NULL}};
    for (size_t i = 0; i < 3; ++i) {
      sp_model* model = load_model(targets[i].model, targets[i].bfloat16);
      assert_loads_on(model, &run, method->method);
      sp_model_free(model);
    }
    sp_model* model = load_model("reseeded", 0);
    assert_refused_on(model, &run, method->method, "differs from this model's by", -1);
    sp_model_free(model);
    free(run.trained.values);
  }
}

/* ------------------------------------------------------------------------------ version 1 */

typedef struct {
  unsigned char* data;
  size_t size;
} byte_buffer;

static byte_buffer read_bytes(const char* path) {
  byte_buffer buffer;
  buffer.data = read_raw(path, 1, &buffer.size);
  return buffer;
}

static uint64_t get_le(const unsigned char* bytes, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = value << 8 | bytes[i];
  return value;
}

static void put_le(unsigned char* bytes, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) bytes[i] = (unsigned char)(value >> (8 * i));
}

/* `record` as a JSON string's contents: quotes and backslashes escaped. */
static size_t json_escaped(const char* record, char* out) {
  size_t size = 0;
  for (const char* c = record; *c; ++c) {
    if (*c == '"' || *c == '\\') out[size++] = '\\';
    out[size++] = *c;
  }
  return size;
}

/* Rewrites the adapter file `from` as a version-1 file `to` whose base-model record is `record`, by
 * the format page alone: the 32-byte header (magic, version, flags, payload size, compressed size),
 * the zlib payload (a safetensors buffer whose __metadata__ holds the records as JSON strings) and
 * the CRC-32 of every byte before it. */
static void write_version1_file(const char* from, const char* to, const char* record) {
  byte_buffer file = read_bytes(from);
  assert_true(file.size > 36);
  assert_memory_equal(file.data, "\x89SPA\r\n\x1a\n", 8);
  assert_int_equal(get_le(file.data + 8, 4), 2);
  const uint64_t payload_size = get_le(file.data + 16, 8), compressed_size = get_le(file.data + 24, 8);
  assert_int_equal(32 + compressed_size + 4, file.size);
  unsigned char* payload = malloc(payload_size);
  assert_non_null(payload);
  uLongf inflated = (uLongf)payload_size;
  assert_int_equal(uncompress(payload, &inflated, file.data + 32, (uLong)compressed_size), Z_OK);
  assert_int_equal(inflated, payload_size);

  /* The header's "softprompt.base_model" value: a JSON string, from its opening to its closing quote. */
  const uint64_t header_size = get_le(payload, 8);
  const char* header = (const char*)payload + 8;
  const char* key = "\"softprompt.base_model\"";
  size_t begin = 0;
  while (begin + strlen(key) <= header_size && memcmp(header + begin, key, strlen(key)) != 0) ++begin;
  assert_true(begin + strlen(key) <= header_size);
  begin += strlen(key);
  while (header[begin] == ' ' || header[begin] == ':') ++begin;
  assert_int_equal(header[begin], '"');
  size_t end = begin + 1;
  while (end < header_size && header[end] != '"') end += header[end] == '\\' ? 2 : 1;
  assert_true(end < header_size);
  ++end; /* past the closing quote */

  const uint64_t data_size = payload_size - 8 - header_size;
  char* escaped = malloc(2 * strlen(record) + 1);
  assert_non_null(escaped);
  const size_t escaped_size = json_escaped(record, escaped);
  uint64_t new_header_size = begin + 1 + escaped_size + 1 + (header_size - end);
  const size_t padding = (8 - new_header_size % 8) % 8;
  new_header_size += padding;
  const uint64_t new_payload_size = 8 + new_header_size + data_size;
  unsigned char* rebuilt = malloc(new_payload_size);
  assert_non_null(rebuilt);
  unsigned char* cursor = rebuilt;
  put_le(cursor, new_header_size, 8);
  cursor += 8;
  memcpy(cursor, header, begin);
  cursor += begin;
  *cursor++ = '"';
  memcpy(cursor, escaped, escaped_size);
  cursor += escaped_size;
  *cursor++ = '"';
  memcpy(cursor, header + end, header_size - end);
  cursor += header_size - end;
  memset(cursor, ' ', padding);
  cursor += padding;
  memcpy(cursor, payload + 8 + header_size, data_size);

  uLongf compressed = compressBound((uLong)new_payload_size);
  unsigned char* out = malloc(32 + compressed + 4);
  assert_non_null(out);
  assert_int_equal(compress2(out + 32, &compressed, rebuilt, (uLong)new_payload_size, 6), Z_OK);
  memcpy(out, "\x89SPA\r\n\x1a\n", 8);
  put_le(out + 8, 1, 4);  /* format version 1 */
  put_le(out + 12, 1, 4); /* zlib */
  put_le(out + 16, new_payload_size, 8);
  put_le(out + 24, compressed, 8);
  put_le(out + 32 + compressed, crc32(0L, out, (uInt)(32 + compressed)), 4);
  FILE* handle = fopen(to, "wb");
  assert_non_null(handle);
  assert_int_equal(fwrite(out, 1, 32 + compressed + 4, handle), 32 + compressed + 4);
  fclose(handle);
  free(out);
  free(rebuilt);
  free(escaped);
  free(payload);
  free(file.data);
}

/* A version-1 file (the stored bytes' fingerprint) loads on the folder it was made for, in either
 * dtype, and is refused by its bfloat16 copy (other bytes: the message gives both fingerprints, the
 * model's as the fixture computed it), by its GGUF copy (no stored bytes to fingerprint) and by the
 * reseeded folder. */
static void a_version_1_file_loads_on_its_own_folder_only(void** state) {
  (void)state;
  saved_run run = train_and_save("original", SP_METHOD_PROMPT_TUNING, "version2");
  char fingerprint[64], bf16_fingerprint[64], reseeded_fingerprint[64], folder[1024], record[2048], path[1024];
  fixture_value("fingerprints.txt", "original", fingerprint, sizeof fingerprint);
  fixture_value("fingerprints.txt", "bf16", bf16_fingerprint, sizeof bf16_fingerprint);
  fixture_value("fingerprints.txt", "reseeded", reseeded_fingerprint, sizeof reseeded_fingerprint);
  char model_type[32], vocab[32], hidden[32], layers[32];
  fixture_value("info.txt", "model_type", model_type, sizeof model_type);
  fixture_value("info.txt", "vocab_size", vocab, sizeof vocab);
  fixture_value("info.txt", "hidden_size", hidden, sizeof hidden);
  fixture_value("info.txt", "num_layers", layers, sizeof layers);
  snprintf(record, sizeof record,
           "{\"model_type\":\"%s\",\"hidden_size\":%s,\"num_layers\":%s,\"vocab_size\":%s,"
           "\"embedding_fingerprint\":\"%s\",\"name_or_path\":\"%s\"}",
           model_type, hidden, layers, vocab, fingerprint, fixture_path(folder, sizeof folder, "original"));
  write_version1_file(run.file, scratch_path(path, sizeof path, "version1.spa"), record);

  for (int bfloat16 = 0; bfloat16 < 2; ++bfloat16) {
    sp_model* model = load_model("original", bfloat16);
    sp_adapter* adapter = NULL;
    SP_CHECK(sp_adapter_load_file(&adapter, model, path));
    parameters loaded = adapter_parameters(adapter);
    assert_same_parameters(&loaded, &run.trained);
    free(loaded.values);
    sp_adapter_free(adapter);
    sp_model_free(model);
  }
  printf("  a version-1 file (fingerprint %s) loads on the folder, float32 and bfloat16\n", fingerprint);
  const struct {
    const char* model;
    const char* fragments[2];
  } refusals[] = {
      {"bf16", {fingerprint, bf16_fingerprint}},
      {"reseeded", {fingerprint, reseeded_fingerprint}},
      {"q4_0.gguf", {"format-1", "GGUF"}},
      {"f16.gguf", {"format-1", "save it again"}},
  };
  for (size_t i = 0; i < sizeof refusals / sizeof *refusals; ++i) {
    sp_model* model = load_model(refusals[i].model, 0);
    sp_adapter* adapter = (sp_adapter*)0x1;
    SP_EXPECT_ERROR(sp_adapter_load_file(&adapter, model, path), SP_ERR_MODEL_MISMATCH, refusals[i].fragments[0]);
    assert_null(adapter);
    if (strstr(sp_last_error(), refusals[i].fragments[1]) == NULL)
      fail_msg("message \"%s\" does not mention \"%s\"", sp_last_error(), refusals[i].fragments[1]);
    printf("    refused by %-12s %s\n", refusals[i].model, sp_last_error());
    sp_model_free(model);
  }
  free(run.trained.values);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<fixture-folder> <scratch-folder>",
                             (const char**[]){&fixture_root, &scratch_root}, 2))
    return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_prestate(trained_on_the_folder_loads_on_its_copies_only, (void*)&kMethods[0]),
      cmocka_unit_test_prestate(trained_on_the_folder_loads_on_its_copies_only, (void*)&kMethods[1]),
      cmocka_unit_test_prestate(trained_on_the_folder_loads_on_its_copies_only, (void*)&kMethods[2]),
      cmocka_unit_test_prestate(trained_on_a_gguf_copy_loads_on_the_folder, (void*)&kMethods[0]),
      cmocka_unit_test_prestate(trained_on_a_gguf_copy_loads_on_the_folder, (void*)&kMethods[1]),
      cmocka_unit_test(a_version_1_file_loads_on_its_own_folder_only),
  };
  return cmocka_run_group_tests_name("base-model record", tests, NULL, NULL);
}
