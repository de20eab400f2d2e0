/*
 * sp_tokenizer_apply_chat_template against transformers' apply_chat_template(tokenize=False), and
 * its refusals and output protocol.
 *
 *   test_chat_template <gguf-model-fixture-folder>
 *
 * tests/reference/gguf_model_reference.py writes the conversations and transformers' renderings
 * (chat/<name>.bin) for SmolLM2's template (read from its GGUF file, through the model and through
 * sp_tokenizer_load) and a Qwen2-style ChatML template whose default system message is written with
 * "\n" escapes (a folder's tokenizer_config.json), and folders with a Llama-2 [INST] template and
 * with none.
 */
#include "test_support.h"
#include "tokenizer_corpus.h" /* the fixtures' binary framing */

static const char* fixture_root;

typedef struct conversation {
  int32_t add_generation_prompt;
  uint32_t count;
  sp_chat_message messages[8];
  char roles[8][32]; /* NUL-terminated copies */
  corpus_text expected;
} conversation;

/* chat/<name>.bin, in the fixtures' framing (tokenizer_corpus.h), into conversations[capacity];
 * returns the file's buffer (the contents point into it) and sets *count. */
static char* read_conversations(const char* name, conversation* conversations, uint32_t capacity, uint32_t* count) {
  char path[1024];
  snprintf(path, sizeof path, "%s/chat/%s.bin", fixture_root, name);
  size_t size = 0;
  char* buffer = corpus_read_file(path, &size);
  if (!buffer) fail_msg("cannot read %s", path);
  corpus_cursor cursor = {buffer, buffer + size, 0};
  if (!corpus_magic(&cursor, "SPCT", path)) fail_msg("bad %s", path);
  *count = corpus_u32(&cursor);
  if (*count == 0 || *count > capacity) fail_msg("%s: %u conversations", path, *count);
  for (uint32_t c = 0; c < *count; ++c) {
    conversation* conv = &conversations[c];
    memset(conv, 0, sizeof *conv);
    conv->add_generation_prompt = (int32_t)corpus_u32(&cursor);
    conv->count = corpus_u32(&cursor);
    if (conv->count > 8) fail_msg("%s: %u messages", path, conv->count);
    for (uint32_t m = 0; m < conv->count; ++m) {
      const corpus_text role = corpus_str(&cursor), content = corpus_str(&cursor);
      if (role.size >= sizeof conv->roles[m]) fail_msg("%s: a role of %u bytes", path, role.size);
      memcpy(conv->roles[m], role.data, role.size);
      conv->messages[m].role = conv->roles[m];
      conv->messages[m].content = content.data;
      conv->messages[m].content_size = content.size;
    }
    conv->expected = corpus_str(&cursor);
  }
  if (cursor.failed) fail_msg("%s is truncated", path);
  return buffer;
}

/* Renders `conv` through the size protocol: NULL/0 gives the size, then a buffer of exactly size + 1. */
static char* render(const sp_tokenizer* tokenizer, const conversation* conv, size_t* size) {
  assert_int_equal(sp_tokenizer_apply_chat_template(tokenizer, conv->messages, conv->count, conv->add_generation_prompt,
                                                    NULL, 0, size),
                   SP_ERR_BUFFER_TOO_SMALL);
  char* text = malloc(*size + 1);
  assert_non_null(text);
  size_t written = 0;
  SP_CHECK(sp_tokenizer_apply_chat_template(tokenizer, conv->messages, conv->count, conv->add_generation_prompt, text,
                                            *size + 1, &written));
  assert_int_equal(written, *size);
  assert_int_equal(text[*size], '\0');
  return text;
}

static void renders_like_transformers(const sp_tokenizer* tokenizer, const char* name, const char* how) {
  conversation conversations[16];
  uint32_t count = 0;
  char* buffer = read_conversations(name, conversations, 16, &count);
  for (uint32_t c = 0; c < count; ++c) {
    size_t size = 0;
    char* text = render(tokenizer, &conversations[c], &size);
    const corpus_text* expected = &conversations[c].expected;
    if (size != expected->size || memcmp(text, expected->data, size) != 0)
      fail_msg("%s, conversation %u: ours\n\"%s\"\ntransformers\n\"%.*s\"", how, c, text, (int)expected->size,
               expected->data);
    free(text);
  }
  printf("    %-56s %u conversations identical\n", how, count);
  free(buffer);
}

static sp_tokenizer* load_tokenizer(const char* relative) {
  char path[1024];
  sp_tokenizer* tokenizer = NULL;
  snprintf(path, sizeof path, "%s/%s", fixture_root, relative);
  SP_CHECK(sp_tokenizer_load(&tokenizer, path));
  return tokenizer;
}

static void smollm2_template_renders_like_transformers(void** state) {
  (void)state;
  sp_tokenizer* tokenizer = load_tokenizer("smollm2.gguf");
  renders_like_transformers(tokenizer, "smollm2", "SmolLM2 (sp_tokenizer_load of the GGUF)");
  sp_tokenizer_free(tokenizer);

  char path[1024];
  sp_model* model = NULL;
  snprintf(path, sizeof path, "%s/smollm2.gguf", fixture_root);
  SP_CHECK(sp_model_create(&model, path, NULL));
  SP_CHECK(sp_model_tokenizer(&tokenizer, model));
  sp_model_free(model); /* the tokenizer outlives the model */
  renders_like_transformers(tokenizer, "smollm2", "SmolLM2 (the GGUF model's tokenizer)");
  sp_tokenizer_free(tokenizer);
}

static void chatml_default_system_message_renders_like_transformers(void** state) {
  (void)state;
  sp_tokenizer* tokenizer = load_tokenizer("chat/qwen2-folder");
  renders_like_transformers(tokenizer, "qwen2", "Qwen2-style ChatML, default system message");
  sp_tokenizer_free(tokenizer);
}

/* Capacity == size leaves no room for the NUL: BUFFER_TOO_SMALL, the size, nothing written. */
static void output_follows_the_size_protocol(void** state) {
  (void)state;
  sp_tokenizer* tokenizer = load_tokenizer("smollm2.gguf");
  const char content[] = "Hello!";
  sp_chat_message message = {"user", content, sizeof content - 1};
  size_t size = 0;
  assert_int_equal(sp_tokenizer_apply_chat_template(tokenizer, &message, 1, 1, NULL, 0, &size),
                   SP_ERR_BUFFER_TOO_SMALL);
  assert_true(size > sizeof content);
  char buffer[512];
  assert_true(size + 2 <= sizeof buffer);
  memset(buffer, 'Z', sizeof buffer);
  size_t short_size = 0;
  assert_int_equal(sp_tokenizer_apply_chat_template(tokenizer, &message, 1, 1, buffer, size, &short_size),
                   SP_ERR_BUFFER_TOO_SMALL);
  assert_int_equal(short_size, size);
  for (size_t i = 0; i < sizeof buffer; ++i) assert_int_equal(buffer[i], 'Z');
  SP_CHECK(sp_tokenizer_apply_chat_template(tokenizer, &message, 1, 1, buffer, size + 1, &short_size));
  assert_int_equal(buffer[size], '\0');
  assert_int_equal(buffer[size + 1], 'Z');
  sp_tokenizer_free(tokenizer);
}

static void refusals_name_the_problem(void** state) {
  (void)state;
  const char content[] = "Hi";
  sp_chat_message message = {"user", content, 2};
  char text[256];
  size_t size = 0;

  sp_tokenizer* plain = load_tokenizer("chat/plain-folder");
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(plain, &message, 1, 1, text, sizeof text, &size), SP_ERR_NOT_FOUND,
                  "chat template");
  sp_tokenizer_free(plain);

  sp_tokenizer* llama2 = load_tokenizer("chat/llama2-folder");
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(llama2, &message, 1, 1, text, sizeof text, &size),
                  SP_ERR_UNSUPPORTED, "{% for message in messages %}");
  printf("    Llama-2 template: %s\n", sp_last_error());
  sp_tokenizer_free(llama2);

  sp_tokenizer* tokenizer = load_tokenizer("smollm2.gguf");
  const char invalid[] = "ok \xC3\x28 bad";
  sp_chat_message messages[2] = {{"user", content, 2}, {"assistant", invalid, sizeof invalid - 1}};
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, messages, 2, 0, text, sizeof text, &size),
                  SP_ERR_INVALID_ARGUMENT, "UTF-8");
  if (strstr(sp_last_error(), "message 1") == NULL) fail_msg("\"%s\" does not name message 1", sp_last_error());
  sp_chat_message invalid_role = {
      "us\xFF"
      "er",
      content, 2};
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, &invalid_role, 1, 0, text, sizeof text, &size),
                  SP_ERR_INVALID_ARGUMENT, "role");
  sp_chat_message null_role = {NULL, content, 2};
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, &null_role, 1, 0, text, sizeof text, &size),
                  SP_ERR_INVALID_ARGUMENT, "role");
  sp_chat_message null_content = {"user", NULL, 3};
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, &null_content, 1, 0, text, sizeof text, &size),
                  SP_ERR_INVALID_ARGUMENT, "content");
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, &message, 1, 2, text, sizeof text, &size),
                  SP_ERR_INVALID_ARGUMENT, "add_generation_prompt");
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, NULL, 1, 0, text, sizeof text, &size),
                  SP_ERR_INVALID_ARGUMENT, "messages");
  SP_EXPECT_ERROR(sp_tokenizer_apply_chat_template(tokenizer, &message, 1, 0, text, sizeof text, NULL),
                  SP_ERR_INVALID_ARGUMENT, "size");
  /* Still usable, and the next success clears the error. */
  SP_CHECK(sp_tokenizer_apply_chat_template(tokenizer, &message, 1, 0, text, sizeof text, &size));
  assert_string_equal(sp_last_error(), "");
  sp_tokenizer_free(tokenizer);
}

int main(int argc, char** argv) {
  if (!read_folder_arguments(argc, argv, "<gguf-model-fixture-folder>", (const char**[]){&fixture_root}, 1)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(smollm2_template_renders_like_transformers),
      cmocka_unit_test(chatml_default_system_message_renders_like_transformers),
      cmocka_unit_test(output_follows_the_size_protocol),
      cmocka_unit_test(refusals_name_the_problem),
  };
  return cmocka_run_group_tests_name("chat templates against transformers", tests, NULL, NULL);
}
