/* Generation from C: load a model folder (with tokenizer.json), optionally a soft prompt, and stream
 * the continuation of a text prompt to stdout as it is generated.
 *
 *   generate <model-folder> "<prompt text>" [max-new-tokens] [adapter-folder]
 *
 * Public header only; every call's status is checked and its message printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softprompt/softprompt.h"

static int failed(sp_status status, const char* what) {
  if (status == SP_OK) return 0;
  fprintf(stderr, "%s: %s: %s\n", what, sp_status_string(status), sp_last_error());
  return 1;
}

/* Called for each generated token: print the text it completes (never half a character). */
static int32_t print_piece(const sp_token_event* event, void* user_data) {
  (void)user_data;
  fwrite(event->text, 1, event->text_size, stdout);
  fflush(stdout);
  return 0; /* go on; anything else stops */
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <model-folder> \"<prompt>\" [max-new-tokens] [adapter-folder]\n", argv[0]);
    return 2;
  }
  const int32_t max_new_tokens = argc > 3 ? atoi(argv[3]) : 32;
  sp_model* model = NULL;
  sp_adapter* adapter = NULL;
  sp_tokenizer* tokenizer = NULL;
  sp_context* context = NULL;
  int32_t* ids = NULL;
  int rc = 1;
  if (failed(sp_model_create(&model, argv[1], NULL), "loading the model")) goto done;
  if (argc > 4 && failed(sp_adapter_load(&adapter, model, argv[4]), "loading the adapter")) goto done;
  if (failed(sp_model_tokenizer(&tokenizer, model), "the model's tokenizer")) goto done;

  /* Text to ids: ask for the size first, then encode. */
  size_t count = 0;
  const sp_status sized = sp_tokenizer_encode(tokenizer, argv[2], strlen(argv[2]), 1, NULL, 0, &count);
  if (sized != SP_ERR_BUFFER_TOO_SMALL && failed(sized, "encoding the prompt")) goto done;
  ids = malloc((count ? count : 1) * sizeof *ids);
  if (!ids || failed(sp_tokenizer_encode(tokenizer, argv[2], strlen(argv[2]), 1, ids, count, &count), "encoding"))
    goto done;

  sp_context_params context_params = sp_context_default_params();
  context_params.max_length = (int32_t)count + max_new_tokens;
  if (failed(sp_context_create(&context, model, adapter, &context_params), "creating the context")) goto done;

  const int32_t length = (int32_t)count;
  sp_prompts prompts = sp_prompts_init();
  prompts.count = 1;
  prompts.ids = ids;
  prompts.num_ids = count;
  prompts.lengths = &length;
  prompts.num_lengths = 1;
  sp_generate_params params = sp_generate_default_params(); /* greedy, stops at the model's EOS ids */
  params.max_new_tokens = max_new_tokens;
  params.callback = print_piece;
  int32_t generated = 0;
  sp_stop_reason reason = SP_STOP_NONE;
  sp_generation result = sp_generation_init();
  result.counts = &generated;
  result.stop_reasons = &reason;
  result.rows_capacity = 1;
  fputs(argv[2], stdout);
  if (failed(sp_context_generate(context, &prompts, &params, &result), "generating")) goto done;
  printf("\n[%d tokens, stop reason %d]\n", generated, (int)reason);
  rc = 0;
done:
  free(ids);
  sp_context_free(context);
  sp_tokenizer_free(tokenizer);
  sp_adapter_free(adapter);
  sp_model_free(model);
  return rc;
}
