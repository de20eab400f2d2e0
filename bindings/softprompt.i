/*
 * softprompt.i - the one SWIG interface for every binding (Java, C#, Go).
 *
 * It wraps capi/include/softprompt/softprompt.h plus a thin binding layer (the spb_* functions
 * below) whose signatures SWIG maps well: handles come back as return values (NULL on failure,
 * then sp_last_status() and sp_last_error() say why), arrays travel as (pointer, count) pairs, and
 * batches are passed as arrays instead of a struct of pointers. Each spb_* function fills the C
 * ABI's structs and calls the matching sp_* function; the only things it adds are that an empty
 * string or array means "not given" (NULL), and that the eval-loss wrappers pass a too-short
 * output array to the C call as NULL, so the C library reports it.
 *
 * Per-language typemaps live in <lang>/typemaps.i and map:
 *   (const int32_t* INPUT, size_t INPUT_COUNT)   -> int[] / int[] / []int32      (may be null/nil: count 0)
 *   (float* OUTPUT, size_t OUTPUT_COUNT)         -> float[] / float[] / []float32 (filled in place)
 *   (int64_t* OUTPUT, size_t OUTPUT_COUNT)       -> long[] / long[] / []int64     (filled in place)
 *   (int32_t* OUTPUT, size_t OUTPUT_COUNT)       -> int[] / int[] / []int32       (filled in place)
 *   (const char* BYTES, size_t BYTES_COUNT)      -> byte[] / byte[] / string      (text with its size;
 *                                                   Java and C# encode to UTF-8 in the public class, Go
 *                                                   passes its string's bytes as they are)
 *   (char* BYTES_OUT, size_t BYTES_OUT_COUNT)    -> byte[] / byte[] / []byte      (filled in place)
 *   (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT)
 *                                                -> sp_adapter[] / AdapterHandle[] / []uintptr
 *                                                   (adapter handles, one per row; a null entry is
 *                                                   NULL; the public classes hold each adapter for
 *                                                   the call, as they hold the call's own handle)
 *   const char* arguments                         -> String / string / string (UTF-8)
 *   const char* results                           -> String / string / string (UTF-8, copied)
 * The idiomatic classes (Model, Adapter, Trainer, exceptions or errors) are hand-written beside
 * them in <lang>/ and are the public surface of each binding.
 */
%module softprompt

%{
#include <stdlib.h>
#include <string.h>
#include "softprompt/softprompt.h"
%}

%include <stdint.i>

#if defined(SWIGJAVA)
%include "java/typemaps.i"
#elif defined(SWIGCSHARP)
%include "csharp/typemaps.i"
#elif defined(SWIGGO)
%include "go/typemaps.i"
#endif

/* Array and string conventions used by the binding layer (the typemaps above define them). */
%apply (const int32_t* INPUT, size_t INPUT_COUNT) {
  (const int32_t* input_ids, size_t num_input_ids),
  (const int32_t* attention_mask, size_t num_attention_mask),
  (const int32_t* labels, size_t num_labels),
  (const int32_t* task_ids, size_t num_task_ids),
  (const int32_t* token_type_ids, size_t num_token_type_ids),
  (const int32_t* row_labels, size_t num_row_labels),
  (const int32_t* decoder_input_ids, size_t num_decoder_input_ids),
  (const int32_t* init_token_ids, size_t num_init_token_ids),
  (const int32_t* lengths, size_t num_lengths),
  (const int32_t* continuation_ids, size_t num_continuation_ids),
  (const int32_t* continuation_lengths, size_t num_continuation_lengths),
  (const int32_t* stop_ids, size_t num_stop_ids),
  (const int32_t* history, size_t history_count)
};
%apply (float* OUTPUT, size_t OUTPUT_COUNT) {
  (float* out, size_t out_count),
  (float* mean_loss_out, size_t mean_loss_count),
  (float* rows_out, size_t rows_count),
  (float* logits_inout, size_t logits_count)
};
%apply (int64_t* OUTPUT, size_t OUTPUT_COUNT) {
  (int64_t* dims_out, size_t dims_count),
  (int64_t* stats_out, size_t stats_count)
};
%apply (int32_t* OUTPUT, size_t OUTPUT_COUNT) { (int32_t* ids_out, size_t ids_count) };
%apply (const char* BYTES, size_t BYTES_COUNT) {
  (const char* text, size_t text_size),
  (const char* token, size_t token_size),
  (const char* stop_strings, size_t stop_strings_size)
};
%apply (char* BYTES_OUT, size_t BYTES_OUT_COUNT) { (char* text_out, size_t text_count) };
%apply (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) {
  (const sp_adapter* const* row_adapters, size_t num_row_adapters),
  (const sp_adapter* const* adapters, size_t num_adapters)
};

/* Opaque handles: empty structs give each language a pointer-holding class or type. They are
 * created and freed only through the library (spb_*_create, sp_*_free), never by SWIG. */
%nodefaultctor sp_model;
%nodefaultdtor sp_model;
%nodefaultctor sp_adapter;
%nodefaultdtor sp_adapter;
%nodefaultctor sp_trainer;
%nodefaultdtor sp_trainer;
%nodefaultctor sp_tokenizer;
%nodefaultdtor sp_tokenizer;
%nodefaultctor sp_context;
%nodefaultdtor sp_context;
struct sp_model {};
struct sp_adapter {};
struct sp_trainer {};
struct sp_tokenizer {};
struct sp_context {};

/* The C ABI calls whose pointer-heavy signatures the spb_* layer replaces. */
%ignore sp_model_create;
%ignore sp_model_logits;
%ignore sp_model_eval_loss;
%ignore sp_adapter_create;
%ignore sp_adapter_load;
%ignore sp_adapter_load_file;
%ignore sp_adapter_parameter_name;
%ignore sp_adapter_parameter_size;
%ignore sp_adapter_parameter_shape;
%ignore sp_adapter_get_parameter;
%ignore sp_adapter_logits;
%ignore sp_adapter_eval_loss;
%ignore sp_adapter_classify;
%ignore sp_adapter_hidden_states;
%ignore sp_model_hidden_states;
%ignore sp_logits_count;
%ignore sp_trainer_create;
%ignore sp_trainer_step;
%ignore sp_trainer_get_gradient;
%ignore sp_model_get_info;
%ignore sp_adapter_get_info;
%ignore sp_tokenizer_load;
%ignore sp_model_tokenizer;
%ignore sp_tokenizer_encode;
%ignore sp_tokenizer_decode;
%ignore sp_tokenizer_id_to_token;
%ignore sp_tokenizer_token_to_id;
%ignore sp_tokenizer_get_info;
%ignore sp_context_create;
%ignore sp_context_generate;
%ignore sp_context_generate_begin;
%ignore sp_context_generate_next;
%ignore sp_context_event_text;
%ignore sp_context_score;
%ignore sp_context_prefill;
%ignore sp_context_decode;
%ignore sp_logits_process;
%ignore sp_model_eos_ids;
%ignore sp_chat_message;
%ignore sp_tokenizer_apply_chat_template;
%ignore sp_trainer_save_state;
%ignore sp_trainer_load_state;
%ignore sp_adapter_describe;
%ignore sp_get_num_threads;
%ignore sp_memory_stats;
%ignore sp_memory_stats_init;
%ignore sp_memory_get_stats;
%ignore sp_prompts;
%ignore sp_prompts_init;
%ignore sp_generation;
%ignore sp_generation_init;
%ignore sp_token_event;
%ignore sp_token_callback;
%ignore sp_generate_params::stop_ids;
%ignore sp_generate_params::num_stop_ids;
%ignore sp_generate_params::stop_strings;
%ignore sp_generate_params::num_stop_strings;
%ignore sp_generate_params::callback;
%ignore sp_generate_params::user_data;
/* The result-struct initialisers are used inside the spb_* layer; the languages never see the raw
 * structs they return. */
%ignore sp_model_info_init;
%ignore sp_adapter_info_init;
%ignore sp_tokenizer_info_init;
%ignore sp_train_result_init;
%ignore sp_batch;
%ignore sp_batch_init;
%ignore sp_adapter_params::init_token_ids;
%ignore sp_adapter_params::num_init_token_ids;
%ignore sp_adapter_params::init_text;
%ignore sp_adapter_params::tokenizer_name_or_path;
%ignore sp_adapter_params::source_adapter;

/* The names before 0.4 (forwarding aliases in the C library) are not wrapped. */
%ignore sp_load_adapter;
%ignore sp_load_adapter_file;
%ignore sp_save_adapter;
%ignore sp_save_adapter_file;
%ignore sp_logits;
%ignore sp_eval_loss;
%ignore sp_train_step;

%include "softprompt/softprompt.h"

%inline %{
/* ---- Handles: NULL on failure (then sp_last_status() / sp_last_error()). ---- */

sp_model* spb_model_create(const char* model_folder, const sp_model_params* params) {
  sp_model* model = NULL;
  sp_model_create(&model, model_folder, params);
  return model;
}

/* params' pointer fields are ignored above; the arrays and strings come as arguments here
 * (NULL or empty = not given). */
sp_adapter* spb_adapter_create(sp_model* model, const sp_adapter_params* params, const int32_t* init_token_ids,
                               size_t num_init_token_ids, const char* init_text, const char* tokenizer_name_or_path,
                               const char* source_adapter) {
  sp_adapter* adapter = NULL;
  sp_adapter_params copy = params ? *params : sp_adapter_default_params();
  copy.init_token_ids = init_token_ids;
  copy.num_init_token_ids = num_init_token_ids;
  copy.init_text = init_text && init_text[0] ? init_text : NULL;
  copy.tokenizer_name_or_path = tokenizer_name_or_path && tokenizer_name_or_path[0] ? tokenizer_name_or_path : NULL;
  copy.source_adapter = source_adapter && source_adapter[0] ? source_adapter : NULL;
  sp_adapter_create(&adapter, model, &copy);
  return adapter;
}

sp_adapter* spb_adapter_load(sp_model* model, const char* folder) {
  sp_adapter* adapter = NULL;
  sp_adapter_load(&adapter, model, folder);
  return adapter;
}

sp_adapter* spb_adapter_load_file(sp_model* model, const char* path) {
  sp_adapter* adapter = NULL;
  sp_adapter_load_file(&adapter, model, path);
  return adapter;
}

sp_trainer* spb_trainer_create(sp_adapter* adapter, const sp_trainer_params* params) {
  sp_trainer* trainer = NULL;
  sp_trainer_create(&trainer, adapter, params);
  return trainer;
}

/* ---- The thread count (sp_get_num_threads), or -1 on failure. ---- */

int32_t spb_get_num_threads(void) {
  int32_t count = -1;
  return sp_get_num_threads(&count) == SP_OK ? count : -1;
}

/* ---- Memory (sp_memory_get_stats): stats_out[0..2] = current, peak and reserved bytes, written
 * only when the call succeeds (stats_count >= 3; a shorter array reaches the C call as a NULL
 * output, which it refuses). The figures are byte counts far below 2^63, so int64_t (Java's and
 * C#'s long, Go's int64) holds them exactly. ---- */

sp_status spb_memory_get_stats(sp_device_kind device, int32_t device_index, int64_t* stats_out, size_t stats_count) {
  sp_memory_stats stats = sp_memory_stats_init();
  if (stats_count < 3) return sp_memory_get_stats(device, device_index, NULL);
  const sp_status status = sp_memory_get_stats(device, device_index, &stats);
  if (status == SP_OK) {
    stats_out[0] = (int64_t)stats.current_bytes;
    stats_out[1] = (int64_t)stats.peak_bytes;
    stats_out[2] = (int64_t)stats.reserved_bytes;
  }
  return status;
}

/* ---- Information: struct_size is 0 in the result on failure. ---- */

sp_model_info spb_model_info(const sp_model* model) {
  sp_model_info info = sp_model_info_init();
  if (sp_model_get_info(model, &info) != SP_OK) info.struct_size = 0;
  return info;
}

sp_adapter_info spb_adapter_info(const sp_adapter* adapter) {
  sp_adapter_info info = sp_adapter_info_init();
  if (sp_adapter_get_info(adapter, &info) != SP_OK) info.struct_size = 0;
  return info;
}

/* NULL on failure; otherwise valid while the adapter lives (bindings copy it at once). */
const char* spb_adapter_parameter_name(const sp_adapter* adapter, int32_t index) {
  const char* name = NULL;
  return sp_adapter_parameter_name(adapter, index, &name) == SP_OK ? name : NULL;
}

/* -1 on failure. */
int64_t spb_adapter_parameter_size(const sp_adapter* adapter, const char* name) {
  size_t count = 0;
  return sp_adapter_parameter_size(adapter, name, &count) == SP_OK ? (int64_t)count : -1;
}

/* Shape of trainable tensor `name` in dims_out[0 .. rank) (PEFT's layout); the rank, or -1 on
 * failure. A dims_out of SP_MAX_PARAMETER_DIMS values always suffices; a shorter one fails with
 * SP_ERR_BUFFER_TOO_SMALL. */
int64_t spb_adapter_parameter_shape(const sp_adapter* adapter, const char* name, int64_t* dims_out,
                                    size_t dims_count) {
  size_t rank = 0;
  return sp_adapter_parameter_shape(adapter, name, dims_out, dims_count, &rank) == SP_OK ? (int64_t)rank : -1;
}

/* The float count of a logits call (sp_logits_count), or -1 on failure. */
int64_t spb_logits_count(int64_t vocab_size, int32_t batch_size, int32_t seq_len, sp_logits_mode mode) {
  size_t count = 0;
  return sp_logits_count(vocab_size, batch_size, seq_len, mode, &count) == SP_OK ? (int64_t)count : -1;
}

sp_status spb_adapter_get_parameter(const sp_adapter* adapter, const char* name, float* out, size_t out_count) {
  return sp_adapter_get_parameter(adapter, name, out, out_count);
}

sp_status spb_trainer_get_gradient(const sp_trainer* trainer, const char* name, float* out, size_t out_count) {
  return sp_trainer_get_gradient(trainer, name, out, out_count);
}

/* ---- Tokenizers. The output functions return the full size of their result, or -1 on failure.
 * The result was written only when it fits: ids when the count is <= ids_count, text when its
 * size is < text_count (the C call writes a NUL after it). Otherwise the status is
 * SP_ERR_BUFFER_TOO_SMALL, nothing was written, and the caller calls again with a buffer of the
 * returned size (+ 1 byte for text). So one call suffices whenever the caller's first guess is
 * large enough, and at most two are ever needed. Flags are 1 or 0 (the bindings pass booleans). */

sp_tokenizer* spb_tokenizer_load(const char* path) {
  sp_tokenizer* tokenizer = NULL;
  sp_tokenizer_load(&tokenizer, path);
  return tokenizer;
}

sp_tokenizer* spb_model_tokenizer(const sp_model* model) {
  sp_tokenizer* tokenizer = NULL;
  sp_model_tokenizer(&tokenizer, model);
  return tokenizer;
}

/* struct_size is 0 in the result on failure. */
sp_tokenizer_info spb_tokenizer_info(const sp_tokenizer* tokenizer) {
  sp_tokenizer_info info = sp_tokenizer_info_init();
  if (sp_tokenizer_get_info(tokenizer, &info) != SP_OK) info.struct_size = 0;
  return info;
}

%}

/* Not wrapped: the size that came back through a pointer, or -1 unless the call succeeded or only
 * lacked room. Callers make the call first, in its own statement: as two arguments of one call, the
 * size could be read before the call that sets it (C leaves argument order unspecified). */
%{
static int64_t spb_size_result(sp_status status, size_t size) {
  return status == SP_OK || status == SP_ERR_BUFFER_TOO_SMALL ? (int64_t)size : -1;
}
%}

%inline %{
int64_t spb_tokenizer_encode(const sp_tokenizer* tokenizer, const char* text, size_t text_size,
                             int32_t add_special_tokens, int32_t* ids_out, size_t ids_count) {
  size_t count = 0;
  const sp_status status =
      sp_tokenizer_encode(tokenizer, text, text_size, add_special_tokens, ids_out, ids_count, &count);
  return spb_size_result(status, count);
}

int64_t spb_tokenizer_decode(const sp_tokenizer* tokenizer, const int32_t* input_ids, size_t num_input_ids,
                             int32_t skip_special_tokens, char* text_out, size_t text_count) {
  size_t size = 0;
  const sp_status status =
      sp_tokenizer_decode(tokenizer, input_ids, num_input_ids, skip_special_tokens, text_out, text_count, &size);
  return spb_size_result(status, size);
}

int64_t spb_tokenizer_id_to_token(const sp_tokenizer* tokenizer, int32_t id, char* text_out, size_t text_count) {
  size_t size = 0;
  const sp_status status = sp_tokenizer_id_to_token(tokenizer, id, text_out, text_count, &size);
  return spb_size_result(status, size);
}

/* The id, or -1 on failure (SP_ERR_NOT_FOUND for a token the vocabulary lacks). */
int32_t spb_tokenizer_token_to_id(const sp_tokenizer* tokenizer, const char* token, size_t token_size) {
  int32_t id = -1;
  return sp_tokenizer_token_to_id(tokenizer, token, token_size, &id) == SP_OK ? id : -1;
}

%}

/* Helpers for the batch functions below (not wrapped themselves). */
%{
/* ---- Batches as arrays: the same rules as sp_batch (each per-token array's count must equal
 * batch_size * seq_len; task_ids, row_labels and row_adapters one per row; encoder-decoder models:
 * labels and decoder_input_ids batch_size * decoder_seq_len; NULL/empty arrays = not given). Every
 * batch function takes the row adapters, so that a batch is the same arrays everywhere: the model
 * calls run each row with its adapter, the adapter and trainer calls refuse them (the C library
 * checks both). ---- */

static sp_batch spb_batch(int32_t batch_size, int32_t seq_len, const int32_t* input_ids, size_t num_input_ids,
                          const int32_t* attention_mask, size_t num_attention_mask, const int32_t* labels,
                          size_t num_labels, const int32_t* task_ids, size_t num_task_ids,
                          const int32_t* token_type_ids, size_t num_token_type_ids, const int32_t* row_labels,
                          size_t num_row_labels, int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                          size_t num_decoder_input_ids, const sp_adapter* const* row_adapters,
                          size_t num_row_adapters) {
  sp_batch batch = sp_batch_init();
  batch.batch_size = batch_size;
  batch.seq_len = seq_len;
  batch.input_ids = input_ids;
  batch.num_input_ids = num_input_ids;
  batch.attention_mask = num_attention_mask ? attention_mask : NULL;
  batch.num_attention_mask = num_attention_mask;
  batch.labels = num_labels ? labels : NULL;
  batch.num_labels = num_labels;
  batch.task_ids = num_task_ids ? task_ids : NULL;
  batch.num_task_ids = num_task_ids;
  batch.token_type_ids = num_token_type_ids ? token_type_ids : NULL;
  batch.num_token_type_ids = num_token_type_ids;
  batch.row_labels = num_row_labels ? row_labels : NULL;
  batch.num_row_labels = num_row_labels;
  batch.decoder_seq_len = decoder_seq_len;
  batch.decoder_input_ids = num_decoder_input_ids ? decoder_input_ids : NULL;
  batch.num_decoder_input_ids = num_decoder_input_ids;
  batch.row_adapters = num_row_adapters ? row_adapters : NULL;
  batch.num_row_adapters = num_row_adapters;
  return batch;
}

#define SPB_BATCH_ARGUMENTS                                                                                    \
  batch_size, seq_len, input_ids, num_input_ids, attention_mask, num_attention_mask, labels, num_labels,       \
      task_ids, num_task_ids, token_type_ids, num_token_type_ids, row_labels, num_row_labels, decoder_seq_len, \
      decoder_input_ids, num_decoder_input_ids, row_adapters, num_row_adapters
%}

/* SWIG does not expand macros in declarations it wraps, so the batch functions are spelled out.
 * Encoder-decoder models (sp_model_info.is_encoder_decoder): the logits are the decoder's, so the
 * bindings size `out` with decoder_seq_len where seq_len would be (spb_logits_count). */
%inline %{
sp_status spb_model_logits(const sp_model* model, int32_t batch_size, int32_t seq_len, const int32_t* input_ids,
                           size_t num_input_ids, const int32_t* attention_mask, size_t num_attention_mask,
                           const int32_t* labels, size_t num_labels, const int32_t* task_ids, size_t num_task_ids,
                           const int32_t* token_type_ids, size_t num_token_type_ids, const int32_t* row_labels,
                           size_t num_row_labels, int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                           size_t num_decoder_input_ids, const sp_adapter* const* row_adapters, size_t num_row_adapters,
                           sp_logits_mode mode, float* out, size_t out_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  return sp_model_logits(model, &batch, mode, out, out_count);
}

sp_status spb_adapter_logits(const sp_adapter* adapter, int32_t batch_size, int32_t seq_len, const int32_t* input_ids,
                             size_t num_input_ids, const int32_t* attention_mask, size_t num_attention_mask,
                             const int32_t* labels, size_t num_labels, const int32_t* task_ids, size_t num_task_ids,
                             const int32_t* token_type_ids, size_t num_token_type_ids, const int32_t* row_labels,
                             size_t num_row_labels, int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                             size_t num_decoder_input_ids, const sp_adapter* const* row_adapters,
                             size_t num_row_adapters, sp_logits_mode mode, float* out, size_t out_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  return sp_adapter_logits(adapter, &batch, mode, out, out_count);
}

/* mean_loss_out: 1 float; rows_out: batch_size floats or empty. */
sp_status spb_model_eval_loss(const sp_model* model, int32_t batch_size, int32_t seq_len, const int32_t* input_ids,
                              size_t num_input_ids, const int32_t* attention_mask, size_t num_attention_mask,
                              const int32_t* labels, size_t num_labels, const int32_t* task_ids, size_t num_task_ids,
                              const int32_t* token_type_ids, size_t num_token_type_ids, const int32_t* row_labels,
                              size_t num_row_labels, int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                              size_t num_decoder_input_ids, const sp_adapter* const* row_adapters,
                              size_t num_row_adapters, float* mean_loss_out, size_t mean_loss_count, float* rows_out,
                              size_t rows_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  if (mean_loss_count < 1 || (rows_count != 0 && rows_count < (size_t)(batch_size > 0 ? batch_size : 0)))
    return sp_model_eval_loss(model, &batch, NULL, NULL); /* reports the NULL output */
  return sp_model_eval_loss(model, &batch, mean_loss_out, rows_count ? rows_out : NULL);
}

sp_status spb_adapter_eval_loss(const sp_adapter* adapter, int32_t batch_size, int32_t seq_len,
                                const int32_t* input_ids, size_t num_input_ids, const int32_t* attention_mask,
                                size_t num_attention_mask, const int32_t* labels, size_t num_labels,
                                const int32_t* task_ids, size_t num_task_ids, const int32_t* token_type_ids,
                                size_t num_token_type_ids, const int32_t* row_labels, size_t num_row_labels,
                                int32_t decoder_seq_len, const int32_t* decoder_input_ids, size_t num_decoder_input_ids,
                                const sp_adapter* const* row_adapters, size_t num_row_adapters, float* mean_loss_out,
                                size_t mean_loss_count, float* rows_out, size_t rows_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  if (mean_loss_count < 1 || (rows_count != 0 && rows_count < (size_t)(batch_size > 0 ? batch_size : 0)))
    return sp_adapter_eval_loss(adapter, &batch, NULL, NULL);
  return sp_adapter_eval_loss(adapter, &batch, mean_loss_out, rows_count ? rows_out : NULL);
}

/* result: filled when the call succeeds (struct_size set here, from sp_train_result_init). */
sp_status spb_trainer_step(sp_trainer* trainer, int32_t batch_size, int32_t seq_len, const int32_t* input_ids,
                           size_t num_input_ids, const int32_t* attention_mask, size_t num_attention_mask,
                           const int32_t* labels, size_t num_labels, const int32_t* task_ids, size_t num_task_ids,
                           const int32_t* token_type_ids, size_t num_token_type_ids, const int32_t* row_labels,
                           size_t num_row_labels, int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                           size_t num_decoder_input_ids, const sp_adapter* const* row_adapters, size_t num_row_adapters,
                           sp_train_result* result) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  if (result) *result = sp_train_result_init();
  return sp_trainer_step(trainer, &batch, result);
}

/* Encoders and classification (0.5). The bindings size `out` from the C info: classify
 * batch_size * num_labels floats (SEQ_CLS) or batch_size * seq_len * num_labels (TOKEN_CLS), with
 * sp_adapter_info's task_type and num_labels; hidden states batch_size * seq_len * hidden_size, with
 * sp_model_info's or sp_adapter_info's hidden_size. The C call checks the buffer. */
sp_status spb_adapter_classify(const sp_adapter* adapter, int32_t batch_size, int32_t seq_len, const int32_t* input_ids,
                               size_t num_input_ids, const int32_t* attention_mask, size_t num_attention_mask,
                               const int32_t* labels, size_t num_labels, const int32_t* task_ids, size_t num_task_ids,
                               const int32_t* token_type_ids, size_t num_token_type_ids, const int32_t* row_labels,
                               size_t num_row_labels, int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                               size_t num_decoder_input_ids, const sp_adapter* const* row_adapters,
                               size_t num_row_adapters, sp_class_output what, float* out, size_t out_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  return sp_adapter_classify(adapter, &batch, what, out, out_count);
}

sp_status spb_adapter_hidden_states(const sp_adapter* adapter, int32_t batch_size, int32_t seq_len,
                                    const int32_t* input_ids, size_t num_input_ids, const int32_t* attention_mask,
                                    size_t num_attention_mask, const int32_t* labels, size_t num_labels,
                                    const int32_t* task_ids, size_t num_task_ids, const int32_t* token_type_ids,
                                    size_t num_token_type_ids, const int32_t* row_labels, size_t num_row_labels,
                                    int32_t decoder_seq_len, const int32_t* decoder_input_ids,
                                    size_t num_decoder_input_ids, const sp_adapter* const* row_adapters,
                                    size_t num_row_adapters, float* out, size_t out_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  return sp_adapter_hidden_states(adapter, &batch, out, out_count);
}

sp_status spb_model_hidden_states(const sp_model* model, int32_t batch_size, int32_t seq_len, const int32_t* input_ids,
                                  size_t num_input_ids, const int32_t* attention_mask, size_t num_attention_mask,
                                  const int32_t* labels, size_t num_labels, const int32_t* task_ids,
                                  size_t num_task_ids, const int32_t* token_type_ids, size_t num_token_type_ids,
                                  const int32_t* row_labels, size_t num_row_labels, int32_t decoder_seq_len,
                                  const int32_t* decoder_input_ids, size_t num_decoder_input_ids,
                                  const sp_adapter* const* row_adapters, size_t num_row_adapters, float* out,
                                  size_t out_count) {
  sp_batch batch = spb_batch(SPB_BATCH_ARGUMENTS);
  return sp_model_hidden_states(model, &batch, out, out_count);
}
%}

/* ---- Contexts: generation and scoring. Prompts travel as (all ids, lengths, task ids, adapters)
 * arrays, as in sp_prompts (empty task ids = not given; empty adapters = the context's adapter for
 * every row, a NULL entry = the base model for that row). The bindings build their iterators,
 * callbacks and cancellation on the pull calls (begin / next / stop), so no callback crosses the
 * language boundary. ---- */
%{
static sp_prompts spb_prompts(const int32_t* ids, size_t num_ids, const int32_t* lengths, size_t num_lengths,
                              const int32_t* task_ids, size_t num_task_ids, const sp_adapter* const* adapters,
                              size_t num_adapters) {
  sp_prompts prompts = sp_prompts_init();
  prompts.count = (int32_t)(num_lengths > 0x7fffffff ? 0x7fffffff : num_lengths);
  prompts.ids = ids;
  prompts.num_ids = num_ids;
  prompts.lengths = lengths;
  prompts.num_lengths = num_lengths;
  prompts.task_ids = num_task_ids ? task_ids : NULL;
  prompts.num_task_ids = num_task_ids;
  prompts.adapters = num_adapters ? adapters : NULL;
  prompts.num_adapters = num_adapters;
  return prompts;
}

/* Pointers to the strings of "a\0b\0" in a new array (free it), *count set; a last string without
 * its NUL is not counted (the bindings end each string with one). NULL when there are none or
 * memory runs out (then *count is 0 or SIZE_MAX). */
static const char** spb_split_strings(const char* joined, size_t size, size_t* count) {
  size_t strings = 0, start = 0, next = 0;
  for (size_t i = 0; i < size; ++i) strings += joined[i] == '\0';
  *count = strings;
  if (strings == 0) return NULL;
  const char** out = (const char**)malloc(strings * sizeof *out);
  if (!out) {
    *count = (size_t)-1;
    return NULL;
  }
  for (size_t i = 0; i < size; ++i)
    if (joined[i] == '\0') {
      out[next++] = joined + start;
      start = i + 1;
    }
  return out;
}
%}

%inline %{
/* adapter may be NULL (the base model alone). NULL on failure. */
sp_context* spb_context_create(sp_model* model, sp_adapter* adapter, const sp_context_params* params) {
  sp_context* context = NULL;
  sp_context_create(&context, model, adapter, params);
  return context;
}

/* Begins a generation. params' pointer fields are ignored above; stop ids come as an array and stop
 * strings as one byte array of NUL-terminated UTF-8 strings ("a\0b\0"). */
sp_status spb_context_generate_begin(sp_context* context, const int32_t* input_ids, size_t num_input_ids,
                                     const int32_t* lengths, size_t num_lengths, const int32_t* task_ids,
                                     size_t num_task_ids, const sp_adapter* const* adapters, size_t num_adapters,
                                     const sp_generate_params* params, const int32_t* stop_ids, size_t num_stop_ids,
                                     const char* stop_strings, size_t stop_strings_size) {
  size_t num_strings = 0;
  const char** strings = stop_strings_size ? spb_split_strings(stop_strings, stop_strings_size, &num_strings) : NULL;
  sp_prompts prompts =
      spb_prompts(input_ids, num_input_ids, lengths, num_lengths, task_ids, num_task_ids, adapters, num_adapters);
  sp_generate_params copy = params ? *params : sp_generate_default_params();
  copy.stop_ids = num_stop_ids ? stop_ids : NULL;
  copy.num_stop_ids = num_stop_ids;
  copy.stop_strings = strings;
  copy.num_stop_strings = num_strings; /* NULL strings with a count (no memory): the C call reports it */
  copy.callback = NULL;
  copy.user_data = NULL;
  const sp_status status = sp_context_generate_begin(context, &prompts, &copy);
  free((void*)strings);
  return status;
}

/* The next token event: 1 with ids_out[0..2] = row, token id, stop reason (ids_count >= 3; its
 * text: spb_context_event_text), 0 when every row has stopped, -1 on failure. */
int32_t spb_context_generate_next(sp_context* context, int32_t* ids_out, size_t ids_count) {
  sp_token_event event;
  int32_t has_event = 0;
  if (ids_count < 3) { /* the C call reports the missing event buffer */
    sp_context_generate_next(context, NULL, &has_event);
    return -1;
  }
  if (sp_context_generate_next(context, &event, &has_event) != SP_OK) return -1;
  if (!has_event) return 0;
  ids_out[0] = event.row;
  ids_out[1] = event.token_id;
  ids_out[2] = (int32_t)event.stop_reason;
  return 1;
}

sp_status spb_context_generate_stop(sp_context* context) { return sp_context_generate_stop(context); }

/* Log-likelihood of each continuation after its prompt into out[out_count]. */
sp_status spb_context_score(sp_context* context, const int32_t* input_ids, size_t num_input_ids, const int32_t* lengths,
                            size_t num_lengths, const int32_t* task_ids, size_t num_task_ids,
                            const sp_adapter* const* adapters, size_t num_adapters, const int32_t* continuation_ids,
                            size_t num_continuation_ids, const int32_t* continuation_lengths,
                            size_t num_continuation_lengths, float* out, size_t out_count) {
  sp_prompts prompts =
      spb_prompts(input_ids, num_input_ids, lengths, num_lengths, task_ids, num_task_ids, adapters, num_adapters);
  sp_prompts continuations = spb_prompts(continuation_ids, num_continuation_ids, continuation_lengths,
                                         num_continuation_lengths, NULL, 0, NULL, 0);
  return sp_context_score(context, &prompts, &continuations, out, out_count);
}

sp_status spb_context_prefill(sp_context* context, const int32_t* input_ids, size_t num_input_ids,
                              const int32_t* lengths, size_t num_lengths, const int32_t* task_ids, size_t num_task_ids,
                              const sp_adapter* const* adapters, size_t num_adapters, float* out, size_t out_count) {
  sp_prompts prompts =
      spb_prompts(input_ids, num_input_ids, lengths, num_lengths, task_ids, num_task_ids, adapters, num_adapters);
  return sp_context_prefill(context, &prompts, out, out_count);
}

sp_status spb_context_decode(sp_context* context, const int32_t* input_ids, size_t num_input_ids, float* out,
                             size_t out_count) {
  return sp_context_decode(context, input_ids, num_input_ids, out, out_count);
}

/* logits_inout is read and rewritten in place. */
sp_status spb_logits_process(const sp_generate_params* params, const int32_t* history, size_t history_count,
                             float* logits_inout, size_t logits_count) {
  sp_generate_params copy = params ? *params : sp_generate_default_params();
  copy.stop_ids = NULL;
  copy.num_stop_ids = 0;
  copy.stop_strings = NULL;
  copy.num_stop_strings = 0;
  copy.callback = NULL;
  copy.user_data = NULL;
  return sp_logits_process(&copy, history, history_count, logits_inout, logits_count);
}
%}

%inline %{
/* The text of the latest event (see the tokenizer functions for the size protocol). */
int64_t spb_context_event_text(const sp_context* context, char* text_out, size_t text_count) {
  size_t size = 0;
  const sp_status status = sp_context_event_text(context, text_out, text_count, &size);
  return spb_size_result(status, size);
}

/* The model's end-of-sequence ids (size protocol as above). */
int64_t spb_model_eos_ids(const sp_model* model, int32_t* ids_out, size_t ids_count) {
  size_t count = 0;
  const sp_status status = sp_model_eos_ids(model, ids_out, ids_count, &count);
  return spb_size_result(status, count);
}
%}

/* ---- Trainer states, adapter descriptions, chat templates (issue 11) ---- */
%apply (const char* BYTES, size_t BYTES_COUNT) {
  (const char* user_state, size_t user_state_size),
  (const char* roles, size_t roles_size),
  (const char* contents, size_t contents_size)
};
%apply (char* BYTES_OUT, size_t BYTES_OUT_COUNT) { (char* user_state_out, size_t user_state_count) };
%apply (const int32_t* INPUT, size_t INPUT_COUNT) { (const int32_t* content_sizes, size_t num_content_sizes) };

%inline %{
sp_status spb_trainer_save_state(const sp_trainer* trainer, const char* path, const char* user_state,
                                 size_t user_state_size) {
  return sp_trainer_save_state(trainer, path, user_state_size ? user_state : NULL, user_state_size);
}

/* The saved user state's size (the size protocol of the tokenizer functions: the state is
 * restored only when the buffer held the bytes; too small, nothing is restored and the size
 * comes back), or -1 on failure. */
int64_t spb_trainer_load_state(sp_trainer* trainer, const char* path, char* user_state_out, size_t user_state_count) {
  size_t size = 0;
  const sp_status status =
      sp_trainer_load_state(trainer, path, user_state_count ? user_state_out : NULL, user_state_count, &size);
  return spb_size_result(status, size);
}

/* The JSON description of an adapter folder or file (size protocol as above). */
int64_t spb_adapter_describe(const char* path, char* text_out, size_t text_count) {
  size_t size = 0;
  const sp_status status = sp_adapter_describe(path, text_out, text_count, &size);
  return spb_size_result(status, size);
}

/* A conversation as parallel arrays: the roles one after another, each ended by a NUL ("user\0"),
 * and the contents one after another with their sizes in bytes. Rendered text as above. Arrays
 * that do not agree (another count of roles than of sizes, sizes that do not add up to the
 * contents) reach the C call as a NULL message array, which it refuses. */
int64_t spb_tokenizer_apply_chat_template(const sp_tokenizer* tokenizer, const char* roles, size_t roles_size,
                                          const char* contents, size_t contents_size, const int32_t* content_sizes,
                                          size_t num_content_sizes, int32_t add_generation_prompt, char* text_out,
                                          size_t text_count) {
  size_t count = 0, size = 0, offset = 0;
  const char** role_list = spb_split_strings(roles, roles_size, &count);
  sp_chat_message* messages = NULL;
  int agree = count == num_content_sizes && count != (size_t)-1;
  if (agree && count > 0) messages = (sp_chat_message*)malloc(count * sizeof *messages);
  for (size_t i = 0; agree && messages && i < count; ++i) {
    agree = content_sizes[i] >= 0 && (size_t)content_sizes[i] <= contents_size - offset;
    messages[i].role = role_list[i];
    messages[i].content = contents + offset;
    messages[i].content_size = agree ? (size_t)content_sizes[i] : 0;
    offset += messages[i].content_size;
  }
  agree = agree && offset == contents_size && (messages || count == 0);
  const sp_status status = sp_tokenizer_apply_chat_template(tokenizer, agree ? messages : NULL, agree ? count : 1,
                                                            add_generation_prompt, text_out, text_count, &size);
  free(messages);
  free((void*)role_list);
  return spb_size_result(status, size);
}
%}
