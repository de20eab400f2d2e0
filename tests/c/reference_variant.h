/* One base-model variant of the conformance suites: the model (loaded with test_model_params()), its
 * sizes, and the fixed batch the reference scripts ran (BATCH x SEQ_LEN of conformance_constants.h:
 * input_ids, attention_mask and labels, read from <reference-root>/<variant>/). Used as cmocka
 * pre-state with reference_variant_setup / reference_variant_teardown. */
#ifndef SP_REFERENCE_VARIANT_H
#define SP_REFERENCE_VARIANT_H

#include "conformance_constants.h"
#include "test_support.h"

typedef struct reference_variant {
  const char* name;        /* set before setup: "llama", "llama-tied", "qwen2", "gpt2" */
  const char* models_root; /* set before setup */
  const char* reference_root;
  char model_folder[512];
  char reference_folder[512];
  sp_model* model;
  sp_model_info info;
  int64_t intermediate_size;
  int32_t* input_ids;
  int32_t* attention_mask;
  int32_t* labels;
  sp_batch batch; /* the three arrays above; no task ids */
} reference_variant;

static inline int reference_variant_setup(void** state) {
  reference_variant* v = (reference_variant*)*state;
  size_t ids = 0, mask = 0, labels = 0;
  char path[700];
  test_path(v->model_folder, sizeof v->model_folder, v->models_root, v->name);
  test_path(v->reference_folder, sizeof v->reference_folder, v->reference_root, v->name);
  sp_model_params params = test_model_params();
  if (sp_model_create(&v->model, v->model_folder, &params) != SP_OK) {
    fprintf(stderr, "cannot load %s: %s\n", v->model_folder, sp_last_error());
    return -1;
  }
  v->info = sp_model_info_init();
  if (sp_model_get_info(v->model, &v->info) != SP_OK) return -1;
  v->intermediate_size = model_intermediate_size(v->model_folder, &v->info);
  v->input_ids = read_raw(test_path(path, sizeof path, v->reference_folder, "input_ids.i32"), 4, &ids);
  v->attention_mask = read_raw(test_path(path, sizeof path, v->reference_folder, "attention_mask.i32"), 4, &mask);
  v->labels = read_raw(test_path(path, sizeof path, v->reference_folder, "labels.i32"), 4, &labels);
  if (ids != BATCH * SEQ_LEN || mask != ids || labels != ids) return -1;
  v->batch = sp_batch_init();
  v->batch.input_ids = v->input_ids;
  v->batch.attention_mask = v->attention_mask;
  v->batch.labels = v->labels;
  v->batch.batch_size = BATCH;
  v->batch.seq_len = SEQ_LEN;
  v->batch.num_input_ids = v->batch.num_attention_mask = v->batch.num_labels = BATCH * SEQ_LEN;
  printf("[%s]\n", v->name);
  return 0;
}

static inline int reference_variant_teardown(void** state) {
  reference_variant* v = (reference_variant*)*state;
  sp_model_free(v->model);
  free(v->input_ids);
  free(v->attention_mask);
  free(v->labels);
  return 0;
}

#endif
