/*
 * write_binding_reference: what the C API returns on one fixed input, written for the bindings'
 * tests, which must return the same through Java, C# and Go.
 *
 *   write_binding_reference <llama-model-folder> <out-folder>
 *
 * Input: a prompt-tuning adapter (4 virtual tokens, RANDOM init, seed 5) on the model; batch of 2
 * rows x 6 tokens, ids 3..8 and 9..14, attention mask all 1 except the last two tokens of row 1,
 * no labels. Output files (raw little-endian float32):
 *   logits_all.f32  (2, 6, vocab)   logits_last.f32 (2, vocab)
 *   loss.f32        (1)             rows.f32        (2) per-row log-likelihood
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "softprompt/softprompt.h"

static int write_floats(const char* folder, const char* name, const float* data, size_t count) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", folder, name);
  FILE* file = fopen(path, "wb");
  if (!file || fwrite(data, sizeof(float), count, file) != count) return 0;
  return fclose(file) == 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <llama-model-folder> <out-folder>\n", argv[0]);
    return 2;
  }
  mkdir(argv[2], 0755);
  sp_model* model = NULL;
  sp_adapter* adapter = NULL;
  sp_adapter_params params = sp_adapter_default_params();
  params.num_virtual_tokens = 4;
  params.seed = 5;
  if (sp_model_create(&model, argv[1], NULL) != SP_OK || sp_adapter_create(&adapter, model, &params) != SP_OK) {
    fprintf(stderr, "%s\n", sp_last_error());
    return 1;
  }
  sp_model_info info;
  info.struct_size = sizeof info;
  sp_model_get_info(model, &info);
  const size_t V = (size_t)info.vocab_size;
  int32_t ids[12], mask[12];
  for (int i = 0; i < 12; ++i) {
    ids[i] = 3 + i;
    mask[i] = i < 10 ? 1 : 0;
  }
  sp_batch batch = sp_batch_init();
  batch.batch_size = 2;
  batch.seq_len = 6;
  batch.input_ids = ids;
  batch.num_input_ids = 12;
  batch.attention_mask = mask;
  batch.num_attention_mask = 12;
  float* all = malloc(12 * V * sizeof(float));
  float* last = malloc(2 * V * sizeof(float));
  float loss = 0, rows[2];
  if (sp_adapter_logits(adapter, &batch, SP_LOGITS_ALL, all, 12 * V) != SP_OK ||
      sp_adapter_logits(adapter, &batch, SP_LOGITS_LAST, last, 2 * V) != SP_OK ||
      sp_adapter_eval_loss(adapter, &batch, &loss, rows) != SP_OK) {
    fprintf(stderr, "%s\n", sp_last_error());
    return 1;
  }
  int ok = write_floats(argv[2], "logits_all.f32", all, 12 * V) &&
           write_floats(argv[2], "logits_last.f32", last, 2 * V) && write_floats(argv[2], "loss.f32", &loss, 1) &&
           write_floats(argv[2], "rows.f32", rows, 2);
  free(all);
  free(last);
  sp_adapter_free(adapter);
  sp_model_free(model);
  if (!ok) {
    fprintf(stderr, "cannot write to %s\n", argv[2]);
    return 1;
  }
  printf("binding reference written to %s (loss %.6f)\n", argv[2], loss);
  return 0;
}
