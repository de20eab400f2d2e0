/*
 * softprompt.h - the public C interface of softprompt.
 *
 * softprompt trains and serves soft prompts (PEFT's prompt-learning adapters) for frozen,
 * pretrained transformer language models. This header is the whole public surface: C99, usable
 * from C++ unchanged, and the only thing the Java, C# and Go bindings are generated from.
 *
 * Objects
 *   sp_model    A frozen base model loaded from a Hugging Face model folder. Immutable once
 *               created: any number of threads may use one model at the same time.
 *   sp_adapter  A soft prompt of one method on one model. Several adapters may share a model.
 *               An adapter holds mutable state: calls on one adapter are serialised internally,
 *               so sharing an adapter between threads is safe but not parallel.
 *   sp_trainer  Optimiser state (AdamW, schedule, accumulation) for one adapter.
 *   sp_tokenizer  Text to token ids and back (a tokenizer.json). Immutable; shareable.
 *   sp_context  Generation and scoring: a model, an optional adapter's snapshot, a key/value
 *               cache and sampling. One call at a time per context; many contexts per model.
 *
 * Conventions
 *   - Every fallible function returns an sp_status. SP_OK (0) means success; on any other value,
 *     sp_last_error() returns a message naming the problem, and every object involved is left
 *     exactly as it was before the call (still valid and usable).
 *   - Created objects come back through an out-parameter that is the first argument. *out is set
 *     to NULL on failure.
 *   - Each object is released with its own *_free function, which accepts NULL. An object keeps
 *     what it depends on alive: an adapter keeps its model, a trainer keeps its adapter. Freeing
 *     in any order is therefore safe.
 *   - Handles are checked: passing a freed or foreign pointer where a handle is expected returns
 *     SP_ERR_INVALID_HANDLE instead of crashing (as long as the memory was not reused for a new
 *     handle of the same kind). A call holds a reference to every object it uses until it returns:
 *     freeing an object while another thread is inside a call on it is safe (the free releases the
 *     caller's reference; the object goes when the running call ends, and later calls with the
 *     freed handle return SP_ERR_INVALID_HANDLE).
 *   - Strings passed in are UTF-8 and NUL-terminated; the library copies what it keeps. Strings
 *     returned are owned by the library (see each function for how long they stay valid).
 *   - Parameter structs start with `struct_size`. Get one from its sp_*_default_params()
 *     function, change the fields you need and pass its address; later versions append fields,
 *     and the library reads only the first struct_size bytes, so code compiled against an older
 *     header keeps working. A struct larger than this library knows (built against a newer header)
 *     is accepted only if every byte beyond the known fields is zero: a field the library cannot
 *     honour is refused with SP_ERR_INVALID_ARGUMENT, never silently ignored.
 *   - Result structs (sp_model_info, sp_adapter_info, sp_train_result) also start with
 *     `struct_size`: get one from its *_init() function. The library writes at most struct_size
 *     bytes, so a caller built against an older header receives the fields it knows.
 *   - Token ids, attention masks and labels are int32 arrays in row-major (batch, seq_len) order.
 *     Logits are float32 arrays written into caller-owned buffers.
 *   - No C++ exception, abort or assertion ever crosses this interface.
 */
#ifndef SOFTPROMPT_H
#define SOFTPROMPT_H

#include <stddef.h>
#include <stdint.h>

#if defined(SWIG)
#define SP_API
#elif defined(_WIN32)
#if defined(SP_BUILDING_LIBRARY)
#define SP_API __declspec(dllexport)
#else
#define SP_API __declspec(dllimport)
#endif
#else
#define SP_API __attribute__((visibility("default")))
#endif

/* Every prototype is noexcept under C++: the definitions catch everything. */
#if defined(__cplusplus) && !defined(SWIG)
#define SP_NOEXCEPT noexcept
#else
#define SP_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Versions, statuses and errors
 * --------------------------------------------------------------------------------------------- */

/* Library version "MAJOR.MINOR.PATCH". Static string; never free it. */
SP_API const char* sp_version(void) SP_NOEXCEPT;

/* Result of every fallible call. The numeric values are stable and will never change. */
typedef enum sp_status {
  SP_OK = 0,
  SP_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a value out of range, inconsistent sizes */
  SP_ERR_INVALID_HANDLE = 2,   /* a handle that is not a live object of the expected kind */
  SP_ERR_NOT_FOUND = 3,        /* a missing file, folder or named tensor */
  SP_ERR_IO = 4,               /* reading or writing a file failed */
  SP_ERR_FORMAT = 5,           /* a file exists but is malformed (bad JSON, truncated, corrupt) */
  SP_ERR_UNSUPPORTED = 6,      /* valid but not implemented: a model_type, task type, method */
  SP_ERR_SHAPE_MISMATCH = 7,   /* sizes that do not fit: a weight, an adapter for another model */
  SP_ERR_OUT_OF_RANGE = 8,     /* a token id outside the vocabulary, too many positions */
  SP_ERR_BUFFER_TOO_SMALL = 9, /* an output buffer smaller than the result */
  SP_ERR_DEVICE = 10,          /* the requested device (e.g. CUDA) is not available */
  SP_ERR_BACKEND = 11,         /* the tensor library reported an error */
  SP_ERR_OUT_OF_MEMORY = 12,   /* an allocation failed */
  SP_ERR_INTERNAL = 13,        /* a bug in softprompt; please report it with the message */
  SP_ERR_MODEL_MISMATCH = 14   /* an adapter file trained on another base model */
} sp_status;

/* Stable name of a status, e.g. "SP_ERR_NOT_FOUND". Static string; unknown values give
 * "SP_ERR_UNKNOWN". */
SP_API const char* sp_status_string(sp_status status) SP_NOEXCEPT;

/* Message describing the last failure of a status-returning call made by this thread ("" if that
 * call succeeded).
 * Never NULL. The pointer stays valid until this thread's next call into the library; copy the
 * text if you need it longer. */
SP_API const char* sp_last_error(void) SP_NOEXCEPT;

/* Status of the last status-returning call made by this thread (SP_OK if it succeeded). Lets
 * bindings that wrap handle-returning helpers learn the status after the fact. */
SP_API sp_status sp_last_status(void) SP_NOEXCEPT;

/* Number of CUDA devices usable by this build (0 for CPU-only builds or machines without a GPU). */
SP_API int32_t sp_cuda_device_count(void) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Threads
 * --------------------------------------------------------------------------------------------- */

/* Sets how many CPU threads the tensor library (LibTorch) uses inside one call: the intra-op
 * parallelism of a forward pass, a training step, a generation step. The setting is process-wide:
 * it applies to every model, adapter, trainer and context, and to calls made from any thread.
 * It takes effect at the next call that computes (OpenMP keeps a thread count per calling thread,
 * so softprompt applies the setting in the calling thread at the start of every call that computes,
 * model loading included; threads created before the setting get it too).
 *   num_threads  1 .. 1024; 0 restores the default: LibTorch's own count before any setting
 *                (OMP_NUM_THREADS when it is set, else LibTorch's choice, usually the number of
 *                physical cores).
 * Advice: the default suits one call at a time. Several calls running in parallel each start that
 * many threads, and once the threads outnumber the cores every call slows down many times over;
 * a service running N calls in parallel on C cores sets about C / N (at least 1).
 * Errors: SP_ERR_INVALID_ARGUMENT for a negative value or one above 1024 (the message names the
 * value); the setting is unchanged then. */
SP_API sp_status sp_set_num_threads(int32_t num_threads) SP_NOEXCEPT;

/* The thread count the next call that computes will use: the value of sp_set_num_threads, or the
 * default (see there) when none is set or after 0.
 *   out  receives the count (>= 1).
 * Errors: SP_ERR_INVALID_ARGUMENT for a NULL out. */
SP_API sp_status sp_get_num_threads(int32_t* out) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Models
 * --------------------------------------------------------------------------------------------- */

typedef struct sp_model sp_model;

typedef enum sp_device_kind { SP_DEVICE_CPU = 0, SP_DEVICE_CUDA = 1 } sp_device_kind;

/* Element type of the frozen weights and of the forward pass. Trainable prompt parameters are
 * always float32 master copies, cast to this type where they enter the model. */
typedef enum sp_dtype { SP_DTYPE_FLOAT32 = 0, SP_DTYPE_BFLOAT16 = 1, SP_DTYPE_FLOAT16 = 2 } sp_dtype;

typedef struct sp_model_params {
  size_t struct_size;    /* sizeof(sp_model_params); set by sp_model_default_params */
  sp_device_kind device; /* default SP_DEVICE_CPU */
  int32_t device_index;  /* CUDA device ordinal; default 0; ignored on CPU */
  sp_dtype dtype;        /* default SP_DTYPE_FLOAT32 */
  /* Appended in 0.3. */
  int32_t allow_tf32; /* CUDA float32 models only. 0 (default): matrix products and the
                         P-tuning LSTM compute in float32 (LibTorch otherwise lets cuDNN use
                         TF32, whose 10-bit mantissa changes results at the 1e-3 level).
                         1: allow TF32 in cuBLAS and cuDNN for speed. Other values are
                         refused (SP_ERR_INVALID_ARGUMENT). TF32 is a process-wide LibTorch
                         switch: softprompt sets it from the model at each CUDA call, so
                         models with different settings should not run concurrently. */
} sp_model_params;

SP_API sp_model_params sp_model_default_params(void) SP_NOEXCEPT;

/* Loads a Hugging Face model folder (config.json plus model.safetensors, or the shards named by
 * model.safetensors.index.json) or a GGUF file (llama.cpp's format, versions 2 and 3; told apart by
 * its magic number). Supported model_type values: the decoders "llama", "mistral", "qwen2" and
 * "gpt2", the encoders "bert" and "roberta" (hidden states and classification: see
 * sp_task_type; a "bert."/"roberta." name prefix and a masked-LM head in the file are accepted), and
 * the encoder-decoder "t5" (v1 and v1.1/Flan: feed_forward_proj relu, gelu, gated-gelu or gated-silu;
 * the output layer is lm_head.weight where the file has one, else the tied embedding, scaled by
 * d_model^-0.5 when config.json says scale_decoder_outputs or, without that key, unless
 * tie_word_embeddings is false, as transformers 5 does; SEQ_2_SEQ_LM, see sp_batch's decoder side).
 * RoPE types default, linear, dynamic (frequencies computed from each call's own length;
 * transformers keeps grown frequencies between calls), yarn and llama3, in either config layout
 * (rope_scaling or rope_parameters). A sliding window (mistral; qwen2 with use_sliding_window) is
 * honoured by refusing, with SP_ERR_UNSUPPORTED, any call that attends over more positions than
 * the window (virtual tokens and prefixes included); llama ignores window keys, as transformers
 * does. Every config key that changes the computation is either implemented or refused. Every
 * size in config.json is bounded and checked against the weight files before anything is
 * allocated. The weights are frozen: nothing ever changes them.
 * A GGUF file is read as transformers reads one (from_pretrained(..., gguf_file=...)): the
 * architectures "llama" (a file named "mistral" is read as mistral), "qwen2" and "gpt2"; the config
 * from the metadata; every tensor dequantized at load (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
 * Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, exactly as the `gguf` Python package) and converted to params->dtype,
 * so memory is that of the unquantized model; llama's q/k rows un-permuted. A tensor type softprompt
 * does not dequantize, a tensor with no place in the family's checkpoint (rope_freqs.weight, experts)
 * and RoPE scaling metadata are refused with SP_ERR_UNSUPPORTED naming them. The file's tokenizer
 * (tokenizer.ggml.*) and chat template come with the model (sp_model_tokenizer).
 *   out          receives the new model; free it with sp_model_free.
 *   model_folder path of the folder or the .gguf file; copied.
 *   params       NULL for defaults.
 * Errors: SP_ERR_NOT_FOUND (folder or files missing), SP_ERR_FORMAT (bad config.json or
 * safetensors, missing weight, impossible values such as a non-positive epsilon or rope_theta,
 * sizes beyond plausible bounds: the message names the key and the bound), SP_ERR_UNSUPPORTED
 * (model_type or feature), SP_ERR_SHAPE_MISMATCH (a weight whose shape contradicts config.json),
 * SP_ERR_DEVICE. */
SP_API sp_status sp_model_create(sp_model** out, const char* model_folder, const sp_model_params* params) SP_NOEXCEPT;

/* Releases the caller's reference. Adapters created on the model keep it alive until they are
 * freed too. NULL is ignored. */
SP_API void sp_model_free(sp_model* model) SP_NOEXCEPT;

/* Sizes of a loaded model. */
typedef struct sp_model_info {
  size_t struct_size; /* sizeof(sp_model_info); set by sp_model_info_init */
  int64_t vocab_size;
  int64_t hidden_size;
  int64_t num_layers;
  int64_t num_attention_heads;
  int64_t num_key_value_heads;
  int64_t head_dim;
  int64_t max_position_embeddings; /* positions a call may have; models with relative positions (T5)
                                      have no table and report 2^31 */
  char model_type[32];             /* NUL-terminated, e.g. "llama" */
  /* Appended in 0.5. */
  int64_t type_vocab_size; /* token types (segments) the model embeds (BERT, RoBERTa); 0 for none */
  int32_t has_lm_head;     /* 1: a decoder (or an encoder-decoder model) with an output layer over the
                              vocabulary (logits, loss, generation); 0: an encoder (hidden states and
                              classification only) */
  /* Encoder-decoder models (T5): 1, and their batches have a decoder side (sp_batch.decoder_seq_len);
     num_layers is then the encoder's. 0 for every other model. */
  int32_t is_encoder_decoder;
  int64_t num_decoder_layers;     /* the decoder's layers; 0 without one */
  int64_t decoder_start_token_id; /* the id the decoder starts from (T5: the pad id); -1 without one */
} sp_model_info;

/* An sp_model_info with struct_size set and everything else zero. */
SP_API sp_model_info sp_model_info_init(void) SP_NOEXCEPT;

/* Fills *info (up to info->struct_size bytes; start from sp_model_info_init()). */
SP_API sp_status sp_model_get_info(const sp_model* model, sp_model_info* info) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Memory
 * --------------------------------------------------------------------------------------------- */

/* What a device holds for this process: for sizing batches, and for measuring what a training
 * step or a generation costs (reset the peak, run it, read the peak). Appended in 0.4. */
typedef struct sp_memory_stats {
  size_t struct_size;      /* sizeof(sp_memory_stats); set by sp_memory_stats_init */
  uint64_t current_bytes;  /* CUDA: bytes in live tensors on the device (LibTorch's caching
                              allocator). CPU: the process's resident set size (everything the
                              process holds in RAM, not only softprompt's tensors) */
  uint64_t peak_bytes;     /* the largest current_bytes since the process started or since the
                              latest sp_memory_reset_peak for that device */
  uint64_t reserved_bytes; /* CUDA: bytes the allocator holds from the driver, in use or cached for
                              reuse (>= current_bytes; what other processes cannot use). CPU:
                              current_bytes */
} sp_memory_stats;

/* An sp_memory_stats with struct_size set and everything else zero. */
SP_API sp_memory_stats sp_memory_stats_init(void) SP_NOEXCEPT;

/* Fills *out (up to out->struct_size bytes; start from sp_memory_stats_init()) for `device`.
 *   device_index  the CUDA device ordinal; ignored for SP_DEVICE_CPU.
 * The CPU figures are process-wide and read from /proc (Linux).
 * Errors: SP_ERR_INVALID_ARGUMENT (NULL out, unknown device kind), SP_ERR_DEVICE (a CUDA device that
 * does not exist, or a build or machine without CUDA), SP_ERR_UNSUPPORTED (no /proc). */
SP_API sp_status sp_memory_get_stats(sp_device_kind device, int32_t device_index, sp_memory_stats* out) SP_NOEXCEPT;

/* Starts the device's peak_bytes over from its current_bytes. On the CPU this resets the
 * process's peak resident size (Linux's /proc/self/clear_refs), which other code reading VmHWM
 * also sees. Errors: as sp_memory_get_stats (SP_ERR_UNSUPPORTED where the kernel cannot reset it). */
SP_API sp_status sp_memory_reset_peak(sp_device_kind device, int32_t device_index) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Tokenizers
 *
 * Text to token ids and back, in-process, with the same ids as Hugging Face `tokenizers` for the
 * same tokenizer.json: BPE (byte-level as GPT-2, LLaMA-3, Qwen2; SentencePiece-style with
 * byte_fallback as LLaMA-2 and Mistral), WordPiece (BERT) and Unigram (T5), with the normalizers,
 * pre-tokenizers, post-processors, decoders and added tokens those files use. A component the
 * library does not know is refused with SP_ERR_UNSUPPORTED naming it, never skipped.
 *
 * A tokenizer is immutable: any number of threads may use one tokenizer at the same time.
 *
 * Text is UTF-8 given with its size in bytes (it may contain NUL bytes). Text that is not valid
 * UTF-8 (a stray or missing continuation byte, an overlong form, an encoded surrogate, a value
 * above U+10FFFF) is refused with SP_ERR_INVALID_ARGUMENT, and the message gives the byte offset
 * of the first invalid byte; nothing is replaced silently. Decoded text is always valid UTF-8:
 * where the decoded bytes are not (a byte-level token sequence cut inside a character), each
 * invalid part becomes U+FFFD, as `tokenizers` does.
 *
 * Outputs go to caller buffers. Each output function takes the buffer's capacity and reports the
 * full size of the result through *count or *size. When the buffer is too small (a NULL buffer
 * with capacity 0 included), it returns SP_ERR_BUFFER_TOO_SMALL, sets the size, and writes
 * nothing: call once to learn the size, allocate, call again.
 *
 * Memory: encoding needs a few tens of bytes per input byte at its peak (a 4 MB text without
 * spaces for a SentencePiece-style BPE: about 250 MB); split very long texts.
 *
 * The tokenizer.json settings "truncation" and "padding" are not applied: encode returns every
 * id of the text (as transformers' tokenizers do unless a call asks for truncation); the caller
 * decides lengths.
 * --------------------------------------------------------------------------------------------- */

typedef struct sp_tokenizer sp_tokenizer;

/* Opens a tokenizer from a tokenizer.json file, from a folder that holds one, or from a GGUF file's
 * metadata. In a folder, the special tokens (bos, eos, pad, unk) are read from tokenizer_config.json,
 * special_tokens_map.json, generation_config.json and config.json, in that order of precedence, where
 * present, and the chat template from chat_template.jinja or tokenizer_config.json. A GGUF file's
 * tokenizer is the one transformers builds from the same file (AutoTokenizer.from_pretrained(...,
 * gguf_file=...)), with the same ids: tokenizer.ggml.model "gpt2" (byte-level BPE, the pre-tokenizer
 * that tokenizer.ggml.pre names) or "llama" (SentencePiece-style BPE with byte fallback; merges
 * recovered from the scores when the file has none); control tokens special, user-defined tokens
 * added; transformers' default special tokens included (a Llama-3 file gets "<|endoftext|>" one id
 * past its vocabulary, as there). Other tokenizer models are refused with SP_ERR_UNSUPPORTED.
 *   out   receives the new tokenizer; free it with sp_tokenizer_free.
 *   path  a tokenizer.json file, a folder or a .gguf file; copied.
 * Errors: SP_ERR_NOT_FOUND (no such file, or a folder without tokenizer.json), SP_ERR_FORMAT
 * (malformed JSON or a malformed component, named), SP_ERR_UNSUPPORTED (an unknown component
 * type or option, named), SP_ERR_IO. */
SP_API sp_status sp_tokenizer_load(sp_tokenizer** out, const char* path) SP_NOEXCEPT;

/* The tokenizer of a model whose folder holds tokenizer.json, or of a GGUF model (read when the model
 * was loaded).
 * The new handle is the caller's, to free with sp_tokenizer_free; it does not keep the model
 * alive and stays usable after the model is freed.
 * Errors: SP_ERR_NOT_FOUND when the model's folder had no tokenizer.json (or the GGUF file no
 * tokenizer metadata); the reason it could not be read otherwise. */
SP_API sp_status sp_model_tokenizer(sp_tokenizer** out, const sp_model* model) SP_NOEXCEPT;

/* Releases the tokenizer. NULL is ignored. */
SP_API void sp_tokenizer_free(sp_tokenizer* tokenizer) SP_NOEXCEPT;

/* Encodes text to ids.
 *   text, text_size     UTF-8 bytes (text may be NULL when text_size is 0); borrowed.
 *   add_special_tokens  1: the post-processor's special tokens are added (e.g. BERT's [CLS] and
 *                       [SEP], LLaMA's <s>), as `tokenizers` encode(text) does by default;
 *                       0: the ids of the text alone. Other values: SP_ERR_INVALID_ARGUMENT.
 *   ids, capacity       the output buffer and its length in ids.
 *   count               receives the number of ids of the result.
 * Errors: SP_ERR_INVALID_ARGUMENT (invalid UTF-8, with its byte offset), SP_ERR_BUFFER_TOO_SMALL
 * (*count set), SP_ERR_FORMAT (the text needs the model's unknown token and the file names one its
 * vocabulary lacks: `tokenizers` accepts such a file and fails the same way, on such text only). */
SP_API sp_status sp_tokenizer_encode(const sp_tokenizer* tokenizer, const char* text, size_t text_size,
                                     int32_t add_special_tokens, int32_t* ids, size_t capacity,
                                     size_t* count) SP_NOEXCEPT;

/* Decodes ids to UTF-8 text, through the tokenizer's decoder (as `tokenizers` decode does).
 *   ids, count           the ids (ids may be NULL when count is 0); borrowed.
 *   skip_special_tokens  1: special tokens (added tokens marked special) are left out; 0: kept.
 *   text, capacity       the output buffer and its size in bytes. The result is followed by a NUL
 *                        byte, so capacity must be at least *size + 1.
 *   size                 receives the size of the text in bytes, without the NUL.
 * Errors: SP_ERR_OUT_OF_RANGE (an id the vocabulary does not have, with its position),
 * SP_ERR_BUFFER_TOO_SMALL (*size set). */
SP_API sp_status sp_tokenizer_decode(const sp_tokenizer* tokenizer, const int32_t* ids, size_t count,
                                     int32_t skip_special_tokens, char* text, size_t capacity,
                                     size_t* size) SP_NOEXCEPT;

/* The vocabulary string of one id (e.g. "Ġworld" in a byte-level vocabulary, "##ing" in
 * WordPiece, an added token's content), NUL-terminated like sp_tokenizer_decode's text.
 * Errors: SP_ERR_OUT_OF_RANGE, SP_ERR_BUFFER_TOO_SMALL (*size set). */
SP_API sp_status sp_tokenizer_id_to_token(const sp_tokenizer* tokenizer, int32_t id, char* text, size_t capacity,
                                          size_t* size) SP_NOEXCEPT;

/* The id of a vocabulary string (an added token's content included), given with its size.
 * Errors: SP_ERR_NOT_FOUND when the vocabulary has no such token. */
SP_API sp_status sp_tokenizer_token_to_id(const sp_tokenizer* tokenizer, const char* token, size_t token_size,
                                          int32_t* id) SP_NOEXCEPT;

typedef struct sp_tokenizer_info {
  size_t struct_size; /* sizeof(sp_tokenizer_info); set by sp_tokenizer_info_init */
  int64_t vocab_size; /* ids run from 0 to vocab_size - 1, added tokens included (as `tokenizers`
                         get_vocab_size(with_added_tokens=True)); some ids below it may be unused */
  int32_t bos_id;     /* -1 when the tokenizer has none */
  int32_t eos_id;     /* the first one when generation_config.json lists several; -1 when none */
  int32_t pad_id;     /* -1 when none */
  int32_t unk_id;     /* -1 when none */
} sp_tokenizer_info;

/* An sp_tokenizer_info with struct_size set, the ids -1 and everything else zero. */
SP_API sp_tokenizer_info sp_tokenizer_info_init(void) SP_NOEXCEPT;

/* Fills *info (up to info->struct_size bytes; start from sp_tokenizer_info_init()). */
SP_API sp_status sp_tokenizer_get_info(const sp_tokenizer* tokenizer, sp_tokenizer_info* info) SP_NOEXCEPT;

/* One message of a conversation, for sp_tokenizer_apply_chat_template. Borrowed for the call. */
typedef struct sp_chat_message {
  const char* role;    /* NUL-terminated, e.g. "system", "user", "assistant" */
  const char* content; /* UTF-8, content_size bytes (may be NULL when content_size is 0) */
  size_t content_size;
} sp_chat_message;

/* Renders a conversation with the tokenizer's chat template (a folder's tokenizer_config.json
 * "chat_template", a GGUF file's tokenizer.chat_template) as the template's Jinja code would render
 * it; encode the result with add_special_tokens = 0, as transformers' apply_chat_template(tokenize=True)
 * does. Templates are recognised by family, not interpreted: the ChatML family
 * ("<|im_start|>" role "\n" content "<|im_end|>\n" per message, SmolLM2, Qwen2), including the
 * default system message the template inserts when the conversation does not start with one.
 *   add_generation_prompt  1: the text ends with the assistant's opening ("<|im_start|>assistant\n");
 *                          0: it ends after the last message. Other values: SP_ERR_INVALID_ARGUMENT.
 *   text, capacity, size   the output, as sp_tokenizer_decode's (NUL-terminated).
 * Errors: SP_ERR_NOT_FOUND (the tokenizer has no chat template), SP_ERR_UNSUPPORTED (a template of
 * another family: its first characters are quoted), SP_ERR_INVALID_ARGUMENT (invalid UTF-8, a NULL
 * role), SP_ERR_BUFFER_TOO_SMALL (*size set). */
SP_API sp_status sp_tokenizer_apply_chat_template(const sp_tokenizer* tokenizer, const sp_chat_message* messages,
                                                  size_t count, int32_t add_generation_prompt, char* text,
                                                  size_t capacity, size_t* size) SP_NOEXCEPT;

/* An adapter: a soft prompt trained or loaded for one model (see "Adapters" below). Declared here
 * because batches and prompts may name one per row. */
typedef struct sp_adapter sp_adapter;

/* ------------------------------------------------------------------------------------------------
 * Batches and forward passes
 * --------------------------------------------------------------------------------------------- */

/* A batch of token sequences, all of length seq_len (pad to it). Arrays are borrowed for the
 * duration of the call only. Each array comes with its element count, which must equal
 * batch_size * seq_len, so that a wrong-length array is reported instead of read past its end. */
typedef struct sp_batch {
  size_t struct_size;       /* sizeof(sp_batch) */
  int32_t batch_size;       /* > 0 */
  int32_t seq_len;          /* > 0 */
  const int32_t* input_ids; /* ids in [0, vocab_size) */
  size_t num_input_ids;
  const int32_t* attention_mask; /* 1 = real token, 0 = padding; NULL = all 1 */
  size_t num_attention_mask;
  const int32_t* labels; /* targets in [0, vocab_size) or -100 (ignored);
                            NULL = input_ids with padded positions ignored */
  size_t num_labels;
  /* Appended in 0.2. */
  const int32_t* task_ids; /* one task per row, in [0, num_tasks): required by multitask prompt
                              tuning adapters, ignored by every other method and by the base model */
  size_t num_task_ids;     /* must equal batch_size when task_ids is given */
  /* Appended in 0.5: encoders and classification. */
  const int32_t* token_type_ids; /* segment of each token, in [0, type_vocab_size) (BERT, RoBERTa:
                                    sp_model_info.type_vocab_size); NULL = all 0. Refused for models
                                    without token types. */
  size_t num_token_type_ids;     /* batch_size * seq_len when token_type_ids is given */
  const int32_t* row_labels;     /* SP_TASK_SEQ_CLS: each row's class, in [0, num_labels) */
  size_t num_row_labels;         /* batch_size when row_labels is given */
  /* Appended in 0.5: encoder-decoder models (sp_model_info.is_encoder_decoder), whose batches have two
     sides. input_ids and attention_mask (batch_size * seq_len) are the encoder's input; the decoder's
     rows hold decoder_seq_len positions: labels, when given, are the decoder's targets (batch_size *
     decoder_seq_len, -100 ignored; position i predicts target i) and the decoder reads
     decoder_input_ids, or, when that is NULL, the labels shifted right behind decoder_start_token_id
     (-100 read as the pad id), as transformers does. Logits and losses need one of the two. Decoder
     rows have no padding mask: pad them at the end (causal attention keeps padding from changing
     the positions before it) and give their targets -100. Refused (SP_ERR_INVALID_ARGUMENT) for
     other models. */
  int32_t decoder_seq_len;          /* > 0 when labels or decoder_input_ids are given; else 0 */
  const int32_t* decoder_input_ids; /* ids in [0, vocab_size), or NULL */
  size_t num_decoder_input_ids;     /* batch_size * decoder_seq_len when decoder_input_ids is given */
  /* Appended in 0.6: mixed-adapter batches (sp_model_logits, sp_model_eval_loss,
     sp_model_hidden_states). Row r runs with row_adapters[r]'s soft prompt, or with none when that
     entry is NULL: any mix of methods and virtual-token counts, in one forward pass (each row's
     compiled prompt as its own key/value prefix, masked and positioned per row; see "Serving many
     adapters"). Each row's result is that row's result alone with its adapter (sp_adapter_logits,
     sp_adapter_eval_loss, sp_adapter_hidden_states, the same padding), to float32 round-off; the mean
     loss is over every row's targets. Decoder-only models without dynamic RoPE only
     (SP_ERR_UNSUPPORTED otherwise: split the batch by adapter). Every adapter must belong to the
     call's model (SP_ERR_INVALID_ARGUMENT) and be a CAUSAL_LM adapter (SP_ERR_UNSUPPORTED); a freed
     handle is SP_ERR_INVALID_HANDLE; task_ids apply to the rows whose adapter is multitask prompt
     tuning (required there). The handles are borrowed for the call; freeing one on another thread
     meanwhile is safe. The sp_adapter_* calls and sp_trainer_step refuse a batch that sets
     row_adapters (SP_ERR_INVALID_ARGUMENT). */
  const sp_adapter* const* row_adapters; /* batch_size entries, or NULL (no soft prompt in any row) */
  size_t num_row_adapters;               /* batch_size when row_adapters is given */
} sp_batch;

/* An sp_batch with struct_size set and everything else zero/NULL. */
SP_API sp_batch sp_batch_init(void) SP_NOEXCEPT;

typedef enum sp_logits_mode {
  /* batch_size * vocab_size values: for each row, the logits at its last position whose attention
   * mask is 1 (the next-token distribution); encoder-decoder models: at the decoder's last position. */
  SP_LOGITS_LAST = 0,
  /* batch_size * seq_len * vocab_size values: the logits at every position of the caller's
   * tokens. Virtual-token positions of prompt methods are not included. Encoder-decoder models:
   * batch_size * decoder_seq_len * vocab_size, the decoder's positions. */
  SP_LOGITS_ALL = 1
} sp_logits_mode;

/* Number of floats a logits call returns for a batch of batch_size x seq_len on a model with
 * vocab_size tokens (sp_model_info.vocab_size, or sp_adapter_info.vocab_size for an adapter's
 * model): batch_size * vocab_size for SP_LOGITS_LAST, batch_size * seq_len * vocab_size for
 * SP_LOGITS_ALL. Use it to size the `out` buffer of sp_model_logits and sp_adapter_logits; for an
 * encoder-decoder model's batch pass its decoder_seq_len as seq_len.
 * Errors: SP_ERR_INVALID_ARGUMENT (NULL count, non-positive sizes, unknown mode),
 * SP_ERR_OUT_OF_RANGE (a count that does not fit in size_t). */
SP_API sp_status sp_logits_count(int64_t vocab_size, int32_t batch_size, int32_t seq_len, sp_logits_mode mode,
                                 size_t* count) SP_NOEXCEPT;

/* Logits of the base model alone (no soft prompt).
 *   out        caller-owned buffer of out_count floats; must hold the whole result.
 * Errors: SP_ERR_INVALID_ARGUMENT (NULLs, non-positive batch_size or seq_len, mask values other
 * than 0/1; a decoder side on a model without one, or an encoder-decoder call with neither labels
 * nor decoder_input_ids), SP_ERR_SHAPE_MISMATCH (an array whose count is not batch_size * seq_len,
 * or batch_size * decoder_seq_len for the decoder side, or task ids not batch_size),
 * SP_ERR_OUT_OF_RANGE (ids, labels, task ids), SP_ERR_BUFFER_TOO_SMALL,
 * SP_ERR_UNSUPPORTED (the model's sliding window applies to the call; an encoder, which has no
 * language-modelling head: logits, losses and generation need a decoder). */
SP_API sp_status sp_model_logits(const sp_model* model, const sp_batch* batch, sp_logits_mode mode, float* out,
                                 size_t out_count) SP_NOEXCEPT;

/* Mean causal-LM loss of the base model alone, and optionally each row's log-likelihood (the sum
 * of log-probabilities of its targets) into row_log_likelihood[batch_size] (may be NULL). Position
 * i predicts label i + 1; labels of -100 are skipped. Encoder-decoder models: the sequence-to-sequence
 * loss of the decoder's targets (labels, required), decoder position i predicting label i.
 * Changes nothing. Errors: as sp_model_logits. */
SP_API sp_status sp_model_eval_loss(const sp_model* model, const sp_batch* batch, float* mean_loss,
                                    float* row_log_likelihood) SP_NOEXCEPT;

/* Final hidden states of the base model alone, float32, batch_size * seq_len * hidden_size values
 * (transformers' last_hidden_state; token_type_ids are used where the model has token types).
 * Encoder-decoder models: the encoder's (T5EncoderModel's last_hidden_state); the decoder side of
 * the batch is not read. Errors: as sp_model_logits. */
SP_API sp_status sp_model_hidden_states(const sp_model* model, const sp_batch* batch, float* out,
                                        size_t out_count) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Adapters
 * --------------------------------------------------------------------------------------------- */

/* The soft-prompt methods, as PEFT defines them for causal language models. */
typedef enum sp_method {
  SP_METHOD_PROMPT_TUNING = 0,          /* a table of virtual-token embeddings prepended to the input */
  SP_METHOD_PREFIX_TUNING = 1,          /* keys and values prepended in every attention layer */
  SP_METHOD_P_TUNING = 2,               /* a table passed through an MLP or LSTM encoder, then prepended */
  SP_METHOD_MULTITASK_PROMPT_TUNING = 3 /* a shared table times a per-task low-rank matrix (needs task ids) */
} sp_method;

/* How a prompt table starts (PEFT's PromptTuningInit and MultitaskPromptTuningInit). Prefix tuning
 * and P-tuning accept only SP_INIT_RANDOM. */
typedef enum sp_prompt_init {
  SP_INIT_RANDOM = 0,               /* N(0, 1) */
  SP_INIT_SAMPLE_VOCAB = 1,         /* prompt tuning: embeddings of ids drawn uniformly from the vocabulary */
  SP_INIT_TEXT = 2,                 /* prompt tuning, MPT: embeddings of init_token_ids or init_text */
  SP_INIT_AVERAGE_SOURCE_TASKS = 3, /* MPT: source table, task factors averaged over the source tasks */
  SP_INIT_EXACT_SOURCE_TASK = 4,    /* MPT: source table and the factors of source_task */
  SP_INIT_ONLY_SOURCE_SHARED = 5    /* MPT: source table; factors random */
} sp_prompt_init;

/* What an adapter is trained for (PEFT's task_type). The methods are the same for every task; the
 * task decides what the model's output is, the loss, and which calls apply:
 *   CAUSAL_LM           decoders: next-token logits, causal-LM loss, generation and scoring.
 *   SEQ_CLS             one class per row: a classification head (transformers' *ForSequenceClassification
 *                       head for the family, PEFT's modules_to_save) over the pooled final hidden state,
 *                       trained with the prompt. Pooling: BERT, the pooler over position 0; RoBERTa, position 0;
 *                       decoders, each row's last real token (its last attention-mask 1: unlike PEFT, which
 *                       takes the last column whatever the padding, so right-padded rows differ there).
 *                       For prompt methods on encoders position 0 is the first virtual token, as in PEFT.
 *                       Loss: cross-entropy over batch->row_labels. Outputs: sp_adapter_classify.
 *   TOKEN_CLS           one class per token: a head over every position's final hidden state. Labels:
 *                       batch->labels (class ids, -100 = ignored), for the caller's tokens only (PEFT needs
 *                       n extra leading labels for prompt methods; here virtual positions have none).
 *   SEQ_2_SEQ_LM        encoder-decoder models (T5), and the only task offered for them: logits over the
 *                       decoder's positions, the loss of its targets (sp_batch's decoder side), generation.
 *                       As in PEFT (num_transformer_submodules = 2), prompt tables hold 2n rows: prompt
 *                       tuning and P-tuning insert the first n in front of the encoder's input (the other n
 *                       are trained by nothing but weight decay; P-tuning's LSTM still reads them); MPT
 *                       also puts the second n in front of the decoder's input while training and
 *                       evaluating, not while generating (PEFT's own mismatch); prefix tuning gives only the
 *                       decoder's self-attention a prefix, decoder layer l taking slot (2l) mod num_layers.
 *   FEATURE_EXTRACTION  final hidden states (sp_adapter_hidden_states); no head, no loss, so no training.
 *                       As in PEFT, token_type_ids are not used. */
typedef enum sp_task_type {
  SP_TASK_CAUSAL_LM = 0,
  SP_TASK_SEQ_CLS = 1,
  SP_TASK_TOKEN_CLS = 2,
  SP_TASK_SEQ_2_SEQ_LM = 3,
  SP_TASK_FEATURE_EXTRACTION = 4
} sp_task_type;

/* P-tuning's prompt encoder (PEFT's encoder_reparameterization_type). */
typedef enum sp_encoder_type { SP_ENCODER_MLP = 0, SP_ENCODER_LSTM = 1 } sp_encoder_type;

/* An adapter's settings. num_virtual_tokens, seed and init apply to every method (init must be
 * SP_INIT_RANDOM for prefix tuning and P-tuning); each other field belongs to the methods named
 * beside it, and a method ignores (and does not check) the fields of the others. Enum fields must
 * hold enum values, and an array pointer may be NULL only with a zero count. */
typedef struct sp_adapter_params {
  size_t struct_size;         /* sizeof(sp_adapter_params) */
  sp_method method;           /* default SP_METHOD_PROMPT_TUNING */
  int32_t num_virtual_tokens; /* > 0; default 20 */
  sp_prompt_init init;        /* default SP_INIT_RANDOM */
  /* SP_INIT_TEXT starts from the embeddings of these ids (cut or repeated to num_virtual_tokens,
   * as PEFT does): init_token_ids when given, otherwise the ids of init_text, encoded as PEFT
   * encodes prompt_tuning_init_text (tokenizer(init_text)["input_ids"]: special tokens included)
   * with the tokenizer that tokenizer_name_or_path names when it is a local file or folder, else
   * with the model's own (its folder's tokenizer.json; SP_ERR_NOT_FOUND when it has none). */
  const int32_t* init_token_ids; /* borrowed during the call */
  size_t num_init_token_ids;
  const char* init_text;              /* UTF-8; recorded in adapter_config.json */
  const char* tokenizer_name_or_path; /* recorded in adapter_config.json (default: the model folder) */
  uint64_t seed;                      /* random draws; same seed as torch.manual_seed gives PEFT's values.
                                         As in PyTorch's CPU generator, only the low 32 bits matter. */
  /* Appended in 0.2: prefix tuning and P-tuning. */
  int32_t encoder_hidden_size;  /* width of the reparameterisation network; 0 = token_dim (default) */
  int32_t prefix_projection;    /* prefix tuning: 1 = produce the prefix with an MLP; default 0 */
  int32_t prefix_zero_init;     /* prefix tuning: 1 = PEFT's init_weights "zero"; default 0 */
  sp_encoder_type encoder_type; /* P-tuning: default SP_ENCODER_MLP */
  int32_t encoder_num_layers;   /* P-tuning LSTM layers (>= 1); default 2; ignored by the MLP */
  float encoder_dropout;        /* P-tuning LSTM dropout between layers, in [0, 1); default 0 */
  /* Appended in 0.2: multitask prompt tuning. */
  int32_t num_tasks;          /* >= 1; default 1 */
  int32_t num_ranks;          /* rank of each task's factorisation, >= 1; default 1 */
  const char* source_adapter; /* SOURCE inits: a PEFT MPT adapter folder or its adapter_model.safetensors;
                                 recorded in adapter_config.json as the absolute path of that file */
  int32_t source_task;        /* SP_INIT_EXACT_SOURCE_TASK: the source task to copy; default 0 */
  /* Appended in 0.5: the task. */
  sp_task_type task_type; /* default SP_TASK_CAUSAL_LM (the only one for which a zeroed tail is valid);
                             SP_TASK_SEQ_2_SEQ_LM, and only it, on encoder-decoder models (T5): its
                             prompt tables then hold 2 * num_virtual_tokens rows (PEFT's
                             num_transformer_submodules = 2) */
  int32_t num_labels;     /* SP_TASK_SEQ_CLS and SP_TASK_TOKEN_CLS: the head's classes, in [2, 2^20];
                             default 2; ignored by the other tasks. The head starts as transformers
                             initialises a missing head after torch.manual_seed(seed): each weight
                             N(0, initializer_range) in module order, biases 0; then the prompt's draws
                             follow from the same generator, so a seed reproduces PEFT's values. */
} sp_adapter_params;

SP_API sp_adapter_params sp_adapter_default_params(void) SP_NOEXCEPT;

/* Creates a trainable adapter on `model` (which it keeps alive). With the same seed as
 * torch.manual_seed, every method starts from exactly the values PEFT starts from.
 * Errors: SP_ERR_INVALID_ARGUMENT (zero tokens, negative sizes, TEXT without ids, an init mode the
 * method lacks, unknown enum values, SOURCE inits without source_adapter or with num_tasks != 1),
 * SP_ERR_OUT_OF_RANGE (init ids outside the vocabulary, source_task past the source's tasks),
 * SP_ERR_NOT_FOUND / SP_ERR_FORMAT / SP_ERR_SHAPE_MISMATCH (the MPT source adapter),
 * SP_ERR_OUT_OF_MEMORY (trainable tensors larger than this machine's physical memory). Sizes are
 * bounded: num_virtual_tokens, num_tasks and encoder_hidden_size <= 2^20, num_ranks <= 2^16,
 * encoder_num_layers <= 256. */
SP_API sp_status sp_adapter_create(sp_adapter** out, sp_model* model, const sp_adapter_params* params) SP_NOEXCEPT;

/* Releases the adapter (trainers created on it keep it alive until freed). NULL is ignored. */
SP_API void sp_adapter_free(sp_adapter* adapter) SP_NOEXCEPT;

/* Writes the adapter in PEFT's folder layout (adapter_config.json + adapter_model.safetensors).
 * The folder is replaced as a unit: the new folder is built as a hidden sibling
 * (.<name>.tmp-<pid>-<hex>), flushed, and swapped in with one atomic rename (renameat2
 * RENAME_EXCHANGE), so a load finds the old adapter or the new one, never a mix, whenever the
 * writer is killed. Other files in the folder (a README.md, tokenizer files) are kept. Needs write
 * permission on the parent folder. Saves into one parent folder take turns (an exclusive flock
 * on it). The next save removes temporaries left by killed writers (never those of a writer that
 * still runs). Where the filesystem lacks RENAME_EXCHANGE, a load during the save may briefly find
 * no folder (SP_ERR_NOT_FOUND), and the next save restores the previous folder if the writer died
 * then. A folder that cannot be replaced by a rename (a mount point, or a parent that may not be
 * written) is saved file by file instead, each file atomically: there a load during the save may
 * find a mix. PEFT loads the folder with PeftModel.from_pretrained on the matching transformers
 * model. */
SP_API sp_status sp_adapter_save(const sp_adapter* adapter, const char* folder) SP_NOEXCEPT;

/* Loads a PEFT-layout adapter folder (written by PEFT or by sp_adapter_save) onto `model`.
 * The loaded adapter is trainable. PEFT stores P-tuning and projected prefixes as their encoder
 * outputs only, so those come back as plain tables (trained directly, without the encoder).
 * Every size in adapter_config.json is bounded (as for sp_adapter_create) and checked against the
 * tensors the weights file declares before anything is allocated. A load concurrent with a save
 * of the same folder reads one save whole.
 * Errors: SP_ERR_NOT_FOUND, SP_ERR_FORMAT (malformed files, wrong JSON types, sizes beyond the
 * bounds or disagreeing with the declared tensors: the message names the key),
 * SP_ERR_UNSUPPORTED (another method, or a task type softprompt lacks: QUESTION_ANS; a task the model
 * cannot take, e.g. CAUSAL_LM on an encoder), SP_ERR_SHAPE_MISMATCH (an adapter made for
 * another model size), SP_ERR_OUT_OF_MEMORY. */
SP_API sp_status sp_adapter_load(sp_adapter** out, sp_model* model, const char* folder) SP_NOEXCEPT;

/* Writes the adapter as one file in softprompt's own format (documented in
 * core/adapters/single_file_format.md): magic number, format version, the method's configuration,
 * every trainable tensor (encoders included, so training resumes exactly), zlib compression, a
 * CRC-32 over the whole file and a record of the base model (family, hidden size, layer count,
 * vocabulary size, embedding fingerprint). Written to a temporary file beside it
 * (<name>.tmp-<pid>-<hex>), flushed and renamed: a crash mid-save leaves the previous file intact,
 * and the next save removes temporaries of writers that no longer run. */
SP_API sp_status sp_adapter_save_file(const sp_adapter* adapter, const char* path) SP_NOEXCEPT;

/* Loads a file written by sp_adapter_save_file onto `model`. The payload is inflated as a stream,
 * bounded by its declared and checked tensor shapes: a hostile file costs no more memory than a
 * legitimate one of its claims. Errors: SP_ERR_NOT_FOUND,
 * SP_ERR_FORMAT (empty, truncated, corrupted, ill-typed records: the message names the check or
 * key that failed),
 * SP_ERR_UNSUPPORTED (a newer format version), SP_ERR_MODEL_MISMATCH (trained on another base
 * model; the message names what differs). */
SP_API sp_status sp_adapter_load_file(sp_adapter** out, sp_model* model, const char* path) SP_NOEXCEPT;

/* What an adapter is. */
typedef struct sp_adapter_info {
  size_t struct_size; /* sizeof(sp_adapter_info); set by sp_adapter_info_init */
  sp_method method;
  int32_t num_virtual_tokens;
  int32_t num_tasks;                /* multitask prompt tuning; 0 for the other methods */
  int32_t num_parameter_tensors;    /* trainable tensors; names via sp_adapter_parameter_name */
  int64_t num_trainable_parameters; /* float32 values over all trainable tensors */
  /* Appended in 0.3. */
  int64_t vocab_size; /* the vocabulary of the adapter's model: logits buffers hold
                         batch_size (* seq_len) * vocab_size floats */
  /* Appended in 0.5. */
  sp_task_type task_type;
  int32_t num_labels;  /* SEQ_CLS and TOKEN_CLS; 0 for the other tasks */
  int64_t hidden_size; /* the model's: sp_adapter_hidden_states returns batch_size * seq_len * hidden_size floats */
  /* Appended in 0.6. */
  uint64_t version; /* counts changes to the adapter's values (1 after create or load, +1 per trainer
                       step that updates them, per trainer state loaded): a call uses the compiled
                       prompt of the version current when it began (see "Serving many adapters") */
} sp_adapter_info;

/* An sp_adapter_info with struct_size set and everything else zero. */
SP_API sp_adapter_info sp_adapter_info_init(void) SP_NOEXCEPT;

/* Fills *info (up to info->struct_size bytes; start from sp_adapter_info_init()). */
SP_API sp_status sp_adapter_get_info(const sp_adapter* adapter, sp_adapter_info* info) SP_NOEXCEPT;

/* Describes an adapter without loading any model: a PEFT adapter folder, a file written by
 * sp_adapter_save_file or a trainer state written by sp_trainer_save_state. Writes a JSON object:
 *   "format"           "peft-folder", "single-file" or "trainer-state"
 *   "method"           PEFT's peft_type ("PROMPT_TUNING", "PREFIX_TUNING", "P_TUNING",
 *                      "MULTITASK_PROMPT_TUNING")
 *   "peft_config"      the adapter_config.json object as PEFT writes it
 *   "tensors"          [{"name", "shape": [...], "dtype": "F32"}...] as stored (a folder's PEFT
 *                      keys; a file's trainable tensors, encoders included)
 *   "parameter_count"  values over those tensors
 *   "encoded_only", "seed", "base_model"  softprompt's files only: whether only encoder outputs are
 *                      held, the seed of its random draws, and the base-model record
 *                      (core/adapters/single_file_format.md)
 *   "trainer"          trainer states only: {"params": the sp_trainer_params fields, "updates_done",
 *                      "micro_steps", "parameter_steps", "random_state", "user_state_size"}
 * The file is checked as loading checks it, except what needs a model (sizes against the model's,
 * the base-model comparison): a damaged file is refused, never described.
 *   json, capacity, size  the output, as sp_tokenizer_decode's text (NUL-terminated; *size is the
 *                         text's length without the NUL, also on SP_ERR_BUFFER_TOO_SMALL).
 * Errors: SP_ERR_NOT_FOUND, SP_ERR_FORMAT (malformed, truncated, corrupt, or not an adapter at all),
 * SP_ERR_UNSUPPORTED (a newer format version, another method or task type),
 * SP_ERR_BUFFER_TOO_SMALL. */
SP_API sp_status sp_adapter_describe(const char* path, char* json, size_t capacity, size_t* size) SP_NOEXCEPT;

/* Name of trainable tensor `index` (0 <= index < num_parameter_tensors), as PEFT names it in
 * memory: "embedding.weight", "transform.0.weight", "lstm_head.weight_ih_l0", "prefix_task_cols", ...
 * *name points into the adapter and stays valid until the adapter is freed. */
SP_API sp_status sp_adapter_parameter_name(const sp_adapter* adapter, int32_t index, const char** name) SP_NOEXCEPT;

/* Number of float32 values in the adapter's trainable tensor `name` ("embedding.weight" is the
 * prompt table of every method). Errors: SP_ERR_NOT_FOUND for unknown names. */
SP_API sp_status sp_adapter_parameter_size(const sp_adapter* adapter, const char* name, size_t* count) SP_NOEXCEPT;

/* The most dimensions a trainable tensor has (MPT's task factors have 3). */
#define SP_MAX_PARAMETER_DIMS 8

/* Shape of the adapter's trainable tensor `name`, in PEFT's layout (e.g. "lstm_head.weight_ih_l0"
 * is (4 * hidden, input) with PyTorch's i, f, g, o gate blocks; "prefix_task_cols" is
 * (num_tasks, num_virtual_tokens, num_ranks)). Writes the rank to *num_dims and the sizes to
 * dims[0 .. rank); dims must hold max_dims values (SP_MAX_PARAMETER_DIMS always suffices).
 * Errors: SP_ERR_NOT_FOUND for unknown names, SP_ERR_BUFFER_TOO_SMALL when max_dims < rank
 * (*num_dims is set to the rank even then). */
SP_API sp_status sp_adapter_parameter_shape(const sp_adapter* adapter, const char* name, int64_t* dims, size_t max_dims,
                                            size_t* num_dims) SP_NOEXCEPT;

/* Copies the current values of trainable tensor `name` (row-major) into out[count]; count must
 * equal sp_adapter_parameter_size. */
SP_API sp_status sp_adapter_get_parameter(const sp_adapter* adapter, const char* name, float* out,
                                          size_t count) SP_NOEXCEPT;

/* Logits with the adapter's soft prompt; see sp_model_logits for modes and buffers. CAUSAL_LM and
 * SEQ_2_SEQ_LM adapters only (SP_ERR_UNSUPPORTED otherwise: sp_adapter_classify,
 * sp_adapter_hidden_states). */
SP_API sp_status sp_adapter_logits(const sp_adapter* adapter, const sp_batch* batch, sp_logits_mode mode, float* out,
                                   size_t out_count) SP_NOEXCEPT;

/* Mean loss and per-row log-likelihood with the adapter's soft prompt; see sp_model_eval_loss.
 * Multitask prompt tuning adapters need batch->task_ids here, in sp_adapter_logits and in sp_trainer_step.
 * For prompt methods the last virtual token predicts the first real token, so that token is a
 * target too (as in PEFT). The loss is the adapter's task's: CAUSAL_LM as above; SEQ_CLS the
 * cross-entropy of batch->row_labels (required; a row's log-likelihood is log p(its label)); TOKEN_CLS
 * the cross-entropy of batch->labels (required; -100 ignored) over the caller's tokens;
 * SEQ_2_SEQ_LM the decoder's targets (batch->labels, required: see sp_batch's decoder side);
 * FEATURE_EXTRACTION has none (SP_ERR_UNSUPPORTED). Changes nothing. */
SP_API sp_status sp_adapter_eval_loss(const sp_adapter* adapter, const sp_batch* batch, float* mean_loss,
                                      float* row_log_likelihood) SP_NOEXCEPT;

/* What sp_adapter_classify writes. */
typedef enum sp_class_output {
  SP_CLASS_LOGITS = 0,       /* the head's raw scores */
  SP_CLASS_PROBABILITIES = 1 /* their softmax over the classes */
} sp_class_output;

/* Class scores of a SEQ_CLS or TOKEN_CLS adapter (the prompt, the model, the head), float32:
 * SEQ_CLS batch_size * num_labels values (row-major), TOKEN_CLS batch_size * seq_len * num_labels (the
 * caller's positions; padded positions are computed too and carry no meaning). Labels in the batch are
 * not read. Changes nothing.
 *   out   caller-owned, out_count floats; must hold the whole result.
 * Errors: as sp_adapter_logits, and SP_ERR_UNSUPPORTED for an adapter of another task. */
SP_API sp_status sp_adapter_classify(const sp_adapter* adapter, const sp_batch* batch, sp_class_output what, float* out,
                                     size_t out_count) SP_NOEXCEPT;

/* Final hidden states with the adapter's prompt at the caller's positions, float32, batch_size *
 * seq_len * hidden_size values (sp_adapter_info.hidden_size): after the last norm for decoders, the last
 * block's output for encoders (transformers' last_hidden_state). Prompt methods' virtual positions are
 * left out. Any task type but SEQ_2_SEQ_LM (SP_ERR_UNSUPPORTED; the base model gives its encoder's).
 * Changes nothing. Errors: as sp_adapter_logits. */
SP_API sp_status sp_adapter_hidden_states(const sp_adapter* adapter, const sp_batch* batch, float* out,
                                          size_t out_count) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Training
 * --------------------------------------------------------------------------------------------- */

typedef struct sp_trainer sp_trainer;

typedef struct sp_trainer_params {
  size_t struct_size;         /* sizeof(sp_trainer_params) */
  double learning_rate;       /* peak rate, finite and >= 0; default 3e-2 (soft prompts like large rates) */
  double beta1;               /* default 0.9 */
  double beta2;               /* default 0.999 */
  double eps;                 /* default 1e-8 */
  double weight_decay;        /* decoupled (AdamW); default 0.01, as torch.optim.AdamW */
  double max_grad_norm;       /* clip the total gradient norm to this; 0 = off (default) */
  int32_t warmup_steps;       /* linear warm-up from 0 over this many updates; default 0 */
  int32_t total_steps;        /* linear decay to 0 at this update; 0 = constant rate (default) */
  int32_t accumulation_steps; /* micro-batches per optimizer update; default 1 */
} sp_trainer_params;

SP_API sp_trainer_params sp_trainer_default_params(void) SP_NOEXCEPT;

/* Creates optimizer state for `adapter` (which it keeps alive). The schedule matches
 * transformers' get_linear_schedule_with_warmup. */
SP_API sp_status sp_trainer_create(sp_trainer** out, sp_adapter* adapter, const sp_trainer_params* params) SP_NOEXCEPT;

/* Releases the trainer. NULL is ignored. */
SP_API void sp_trainer_free(sp_trainer* trainer) SP_NOEXCEPT;

/* What one sp_trainer_step did. */
typedef struct sp_train_result {
  size_t struct_size;   /* sizeof(sp_train_result); set by sp_train_result_init */
  float loss;           /* mean loss of this micro-batch */
  int32_t updated;      /* 1 if this call applied an optimizer update, else 0 */
  float grad_norm;      /* total gradient norm before clipping (when updated) */
  float learning_rate;  /* rate used by that update (when updated) */
  int64_t updates_done; /* optimizer updates so far */
} sp_train_result;

/* An sp_train_result with struct_size set and everything else zero. */
SP_API sp_train_result sp_train_result_init(void) SP_NOEXCEPT;

/* One training step: forward with the soft prompt, the task's loss (CAUSAL_LM: shifted causal-LM
 * cross-entropy, labels of -100 and virtual positions ignored; SEQ_CLS and TOKEN_CLS: as
 * sp_adapter_eval_loss), backward into the adapter's trainable tensors only (the soft prompt, and the
 * classification head), and - every accumulation_steps calls - clipping and an AdamW update. The
 * model is never changed.
 *   result   may be NULL; otherwise start from sp_train_result_init().
 * Errors: as sp_adapter_eval_loss, plus SP_ERR_INVALID_ARGUMENT for a batch without any target. On
 * error nothing changes (no partial update). */
SP_API sp_status sp_trainer_step(sp_trainer* trainer, const sp_batch* batch, sp_train_result* result) SP_NOEXCEPT;

/* Copies the gradient of trainable tensor `name` that the latest optimizer update used into
 * out[count], before clipping. With accumulation_steps > 1 it is the MEAN of the micro-batches'
 * gradients (each micro-batch's mean loss is divided by accumulation_steps before its backward
 * pass), which is what transformers' Trainer computes too (it divides each micro-batch's loss by
 * gradient_accumulation_steps, or by the token count of the whole accumulated batch); grad_norm in
 * sp_train_result is this gradient's norm. SP_ERR_NOT_FOUND before the first update or for unknown
 * names. */
SP_API sp_status sp_trainer_get_gradient(const sp_trainer* trainer, const char* name, float* out,
                                         size_t count) SP_NOEXCEPT;

/* Saves everything training needs to resume exactly, atomically, in one file (temporary + rename):
 * the adapter's trainable tensors and configuration with the base-model record (as
 * sp_adapter_save_file writes them), AdamW's first and second moments, the update and micro-batch
 * counters, the gradients accumulated since the last update, the trainer parameters (the learning-rate
 * schedule included) and `user_state`: bytes the caller wants back when it resumes (its data order's
 * random state and position, say); NULL with size 0 for none (at most 1 GiB).
 * Errors: SP_ERR_IO (the file cannot be written; an existing file is left as it was). */
SP_API sp_status sp_trainer_save_state(const sp_trainer* trainer, const char* path, const void* user_state,
                                       size_t user_state_size) SP_NOEXCEPT;

/* Restores a file written by sp_trainer_save_state into `trainer`, whose adapter must be of the same
 * method and sizes on the same base model: the adapter's tensors are overwritten, the optimizer state,
 * counters and accumulated gradients replaced, and the trainer parameters replaced by the saved ones.
 * The next sp_trainer_step then computes exactly what the saving trainer's next step would have (bit
 * for bit on the same machine and device). Contexts created earlier keep their snapshot.
 *   user_state, capacity  the caller's buffer for the saved user bytes (NULL with 0 when none
 *                         are expected); user_state_size receives their size (may be NULL when
 *                         the caller does not need it).
 * Settings that are not sizes (P-tuning's dropout rate, the adapter's seed) are not compared: the
 * saved random state continues. sp_trainer_get_gradient reports SP_ERR_NOT_FOUND again until the next
 * update (the saved gradients were the saving trainer's).
 * Errors: SP_ERR_NOT_FOUND, SP_ERR_FORMAT (truncated, corrupt, not a trainer state), SP_ERR_UNSUPPORTED
 * (a newer format version), SP_ERR_MODEL_MISMATCH (another base model), SP_ERR_SHAPE_MISMATCH (another
 * method or other sizes), SP_ERR_BUFFER_TOO_SMALL (*user_state_size set). On any error nothing is
 * restored: the trainer and its adapter are as they were. */
SP_API sp_status sp_trainer_load_state(sp_trainer* trainer, const char* path, void* user_state, size_t capacity,
                                       size_t* user_state_size) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Contexts: generation and scoring
 *
 * A context is where text comes out: it runs a model with an optional adapter token by token,
 * with its own key/value cache (allocated once, when the context is created), in the style of
 * llama.cpp's model/context split. Any number of contexts may run on one model in parallel
 * threads; one context serves one call at a time (calls on one context from several threads are
 * serialised).
 *
 * The adapter's contribution (its virtual tokens, its prefix keys and values, P-tuning's encoder
 * output) is computed once, when the context is created, and the context keeps that snapshot:
 * generation takes no adapter lock per token. Training the adapter afterwards does not change
 * existing contexts; a context created after a training step sees the new values.
 *
 * A context keeps its model alive (and its adapter snapshot): freeing the model or adapter handle
 * while a context exists is safe, and the context goes on working until it is freed itself.
 *
 * Positions are per row: a prompt is placed exactly as it would be alone (the virtual tokens or
 * the prefix first, then the prompt's tokens at the positions that follow), so that a row of a
 * batch gets the same tokens as the same prompt alone, whatever the other rows' lengths. (PEFT's
 * own batched generation with prompt tuning, P-tuning or MPT counts the left padding as positions
 * and therefore gives padded rows other results; its per-prompt results are what softprompt
 * reproduces. Prefix tuning and the base model agree with PEFT batched or not.)
 * --------------------------------------------------------------------------------------------- */

typedef struct sp_context sp_context;

typedef struct sp_context_params {
  size_t struct_size;     /* sizeof(sp_context_params); set by sp_context_default_params */
  int32_t max_batch_size; /* rows one call may hold, 1 .. 4096; default 1. Scoring takes any number of
                             rows and runs them max_batch_size at a time. */
  int32_t max_length;     /* tokens per row the cache holds: prompt plus generated tokens, 1 .. 2^20;
                             default 512. The adapter's virtual tokens or prefix come on top. A
                             model with learned positions (gpt2) must have room for them all.
                             Encoder-decoder models: the same bound on prompt plus generated tokens,
                             though the prompt goes to the encoder and only the decoder's start token
                             and generated tokens take cache room. */
  /* Appended in 0.6. */
  int32_t recompute_prompts; /* 0 (default): prompt methods' virtual tokens enter as their compiled
                                keys and values (computed once per adapter version, see "Serving many
                                adapters"); 1: run them again in every prefill (the same logits,
                                slower: for measuring what compiling saves) */
} sp_context_params;

SP_API sp_context_params sp_context_default_params(void) SP_NOEXCEPT;

/* Creates a context on `model`, with `adapter`'s soft prompt or with none (adapter NULL). The
 * adapter must belong to the model. The cache takes
 *   2 * num_layers * max_batch_size * num_key_value_heads * (num_virtual_tokens + max_length) *
 *   head_dim
 * values of the model's dtype (plus a byte per row and position), allocated here; on the CPU a cache
 * larger than the machine's physical memory is refused before anything is allocated.
 * Errors: SP_ERR_INVALID_ARGUMENT (an adapter of another model, sizes out of their ranges),
 * SP_ERR_OUT_OF_RANGE (max_length beyond a model's learned positions), SP_ERR_OUT_OF_MEMORY,
 * SP_ERR_UNSUPPORTED (an encoder model, or an adapter whose task is not CAUSAL_LM or SEQ_2_SEQ_LM).
 * Encoder-decoder models (T5) generate as transformers' generate does: the prompts (right-padded, so
 * that each row's relative positions are its own) run through the encoder once, the decoder starts
 * from decoder_start_token_id (behind prefix tuning's prefix) and appends to its cache; the start
 * token is not part of the output. num_layers above is then the decoder's. */
SP_API sp_status sp_context_create(sp_context** out, sp_model* model, sp_adapter* adapter,
                                   const sp_context_params* params) SP_NOEXCEPT;

/* Releases the context and its cache. NULL is ignored. */
SP_API void sp_context_free(sp_context* context) SP_NOEXCEPT;

/* Forgets the cache's contents and ends any generation in progress (sp_context_generate_next then
 * reports none). The cache stays allocated. */
SP_API sp_status sp_context_reset(sp_context* context) SP_NOEXCEPT;

/* Prompts of different lengths, one after another in `ids` (no padding). Arrays are borrowed for
 * the duration of the call; each comes with its element count. */
typedef struct sp_prompts {
  size_t struct_size;      /* sizeof(sp_prompts); set by sp_prompts_init */
  int32_t count;           /* number of prompts, > 0 */
  const int32_t* ids;      /* every prompt's ids, in [0, vocab_size) */
  size_t num_ids;          /* must equal the sum of lengths */
  const int32_t* lengths;  /* count lengths, each >= 1 */
  size_t num_lengths;      /* must equal count */
  const int32_t* task_ids; /* one task per prompt: required by multitask prompt tuning adapters,
                              ignored otherwise (NULL allowed then) */
  size_t num_task_ids;     /* must equal count when task_ids is given */
  /* Appended in 0.6: one adapter per prompt, replacing the context's adapter for that row (a NULL
     entry: the base model), any mix of methods and virtual-token counts in one batch; NULL = the
     context's adapter for every row. Each adapter must belong to the context's model
     (SP_ERR_INVALID_ARGUMENT) and have the task type a context accepts (SP_ERR_UNSUPPORTED); a freed
     handle is SP_ERR_INVALID_HANDLE; task_ids apply to the rows whose adapter is multitask prompt
     tuning. The call takes each adapter's compiled prompt when it begins and keeps it to its end:
     freeing the handle or training the adapter meanwhile changes nothing for it. The cache grows
     once to the largest virtual-token count a call needs (refused like sp_context_create's sizes).
     Encoder-decoder and dynamic-RoPE models take rows of one adapter per call (SP_ERR_UNSUPPORTED
     for a mix). Continuations (sp_context_score) take their prompt's adapter; their own adapters
     and task_ids are ignored. */
  const sp_adapter* const* adapters; /* count entries, or NULL */
  size_t num_adapters;               /* must equal count when adapters is given */
} sp_prompts;

/* An sp_prompts with struct_size set and everything else zero/NULL. */
SP_API sp_prompts sp_prompts_init(void) SP_NOEXCEPT;

/* Why a row stopped. */
typedef enum sp_stop_reason {
  SP_STOP_NONE = 0,       /* still running (in a token event) */
  SP_STOP_MAX_TOKENS = 1, /* max_new_tokens generated */
  SP_STOP_EOS = 2,        /* an end-of-sequence id (the model's or stop_ids); it is the row's last token */
  SP_STOP_STRING = 3,     /* the row's text came to contain a stop string; the token completing it is
                             the row's last token */
  SP_STOP_CALLBACK = 4    /* the callback asked to stop (or the caller stopped pulling events) */
} sp_stop_reason;

/* One generated token, as streamed. */
typedef struct sp_token_event {
  int32_t row;      /* the prompt's index in sp_prompts */
  int32_t token_id; /* the id generated */
  /* The UTF-8 text this token completes: the row's decoded text grows by exactly these bytes. Never
   * part of a character: bytes that do not yet form whole characters are held back and come with
   * a later token (with the row's last token, an unfinished character is given as U+FFFD, as
   * sp_tokenizer_decode gives it). Often empty. NUL-terminated. Owned by the context; valid until
   * the next call on it. Empty when the model folder has no tokenizer. */
  const char* text;
  size_t text_size;
  sp_stop_reason stop_reason; /* SP_STOP_NONE while the row goes on; else this is its last token */
} sp_token_event;

/* Called once per generated token, on the thread that called sp_context_generate. Return 0 to go on,
 * anything else to stop every row at once (their stop reason becomes SP_STOP_CALLBACK). A call it
 * makes into the same context is refused (SP_ERR_INVALID_ARGUMENT); other contexts may be used. */
typedef int32_t (*sp_token_callback)(const sp_token_event* event, void* user_data);

/* How to choose tokens and when to stop. Sampling follows transformers' generate: greedy (argmax,
 * the lowest id on ties) unless do_sample; the repetition penalty applies in both; with do_sample,
 * temperature, top_k, top_p and min_p apply in that order (transformers' order and definitions,
 * with at least one token always kept), then a token is drawn from the softmax. */
typedef struct sp_generate_params {
  size_t struct_size;       /* sizeof(sp_generate_params); set by sp_generate_default_params */
  int32_t max_new_tokens;   /* >= 1; default 32 */
  int32_t do_sample;        /* 0 = greedy (default), 1 = sample */
  float temperature;        /* > 0; default 1 (off) */
  int32_t top_k;            /* keep the k most likely tokens (ties with the k-th kept); 0 = off; default 50
                               (transformers' default) */
  float top_p;              /* keep the smallest set of most likely tokens whose probability exceeds
                               top_p, in (0, 1]; default 1 (off) */
  float min_p;              /* drop tokens less likely than min_p times the most likely, in [0, 1];
                               default 0 (off) */
  float repetition_penalty; /* > 0; tokens already in the row (prompt and generated) have their logit
                               divided by it when positive, multiplied when negative; default 1 (off) */
  uint64_t seed;            /* sampling: the same seed and inputs give the same tokens on any thread
                               (each row draws from its own generator, seeded from seed and its row
                               index); default 0 */
  int32_t use_model_eos;    /* 1 (default): stop a row at the model's end-of-sequence ids
                               (sp_model_eos_ids); 0: only at stop_ids */
  const int32_t* stop_ids;  /* more end-of-sequence ids; borrowed during the call */
  size_t num_stop_ids;
  const char* const* stop_strings; /* UTF-8, non-empty; a row stops once its generated text (as
                                      streamed: see skip_special_tokens) contains one, at the token
                                      that completes it; borrowed during the call; needs the model's
                                      tokenizer */
  size_t num_stop_strings;
  int32_t skip_special_tokens; /* 1 (default): special tokens add no text to events; 0: their text too */
  sp_token_callback callback;  /* NULL = no streaming */
  void* user_data;             /* passed to the callback as is */
} sp_generate_params;

SP_API sp_generate_params sp_generate_default_params(void) SP_NOEXCEPT;

/* Where sp_context_generate puts its results (caller-owned arrays). */
typedef struct sp_generation {
  size_t struct_size;           /* sizeof(sp_generation); set by sp_generation_init */
  int32_t* ids;                 /* row r's tokens start at ids[r * max_new_tokens]; may be NULL (capacity 0) */
  size_t ids_capacity;          /* >= count * max_new_tokens when ids is given */
  int32_t* counts;              /* per row, tokens generated (a stopping EOS included); may be NULL */
  sp_stop_reason* stop_reasons; /* per row; may be NULL */
  size_t rows_capacity;         /* entries of counts and stop_reasons; >= count when either is given */
} sp_generation;

/* An sp_generation with struct_size set and everything else zero/NULL. */
SP_API sp_generation sp_generation_init(void) SP_NOEXCEPT;

/* Generates up to max_new_tokens tokens after each prompt, all rows in one batch, streaming each
 * token to params->callback as it comes (row by row within a step), and writes every row's tokens
 * to *result (may be NULL). The prompts are not part of the output. Every call starts from the
 * prompts alone: nothing of an earlier call is reused.
 * Errors: SP_ERR_INVALID_ARGUMENT (NULLs, an empty prompt, parameters out of range, stop strings
 * without a tokenizer: the message names the field), SP_ERR_SHAPE_MISMATCH (array counts that
 * disagree: num_ids and the lengths' sum, num_lengths or num_task_ids and count, prompts and
 * continuations), SP_ERR_OUT_OF_RANGE (ids
 * or task ids outside their range, more prompts than max_batch_size, a prompt plus max_new_tokens
 * longer than max_length), SP_ERR_BUFFER_TOO_SMALL (result arrays, checked before anything runs),
 * SP_ERR_UNSUPPORTED (the model's sliding window would apply). A callback that stops is not an
 * error (SP_OK). */
SP_API sp_status sp_context_generate(sp_context* context, const sp_prompts* prompts, const sp_generate_params* params,
                                     sp_generation* result) SP_NOEXCEPT;

/* The same generation, pulled one event at a time instead of pushed to a callback (what the Java,
 * C# and Go bindings use for their iterators): begin checks everything and runs the prompts
 * (params->callback and user_data are ignored; stop_ids and stop_strings are copied), then each
 * next call returns one token event. Errors of begin: as sp_context_generate. */
SP_API sp_status sp_context_generate_begin(sp_context* context, const sp_prompts* prompts,
                                           const sp_generate_params* params) SP_NOEXCEPT;

/* Sets *has_event to 1 and fills *event (its text stays valid until the next call on the context),
 * or sets *has_event to 0 when every row has stopped. Errors: SP_ERR_INVALID_ARGUMENT when no
 * generation was begun (or the context was reset). */
SP_API sp_status sp_context_generate_next(sp_context* context, sp_token_event* event, int32_t* has_event) SP_NOEXCEPT;

/* Stops the generation in progress: the rows still running end with SP_STOP_CALLBACK, and the next
 * sp_context_generate_next reports no event. Not an error when none is running. */
SP_API sp_status sp_context_generate_stop(sp_context* context) SP_NOEXCEPT;

/* Copies the text of the event the latest sp_context_generate_next returned into text[capacity]
 * (followed by a NUL; *size without it): for callers that cannot keep the event's pointer.
 * Errors: SP_ERR_BUFFER_TOO_SMALL (*size set), SP_ERR_INVALID_ARGUMENT when there is no event. */
SP_API sp_status sp_context_event_text(const sp_context* context, char* text, size_t capacity,
                                       size_t* size) SP_NOEXCEPT;

/* The log-likelihood of each continuation after its prompt: the sum over the continuation's tokens
 * of log p(token | the prompt, the continuation's earlier tokens, the soft prompt), in nats.
 * Multiple choice: give the question once per answer and compare; classification: give the label
 * words as continuations. Each pair is computed as if alone (per-row positions), in batches of
 * max_batch_size rows; the cache is not used and keeps its contents.
 *   continuations  as many as prompts (its task_ids are ignored; the prompt's task applies);
 *   log_likelihoods  count floats; count must be at least prompts->count.
 * Errors: as sp_context_generate (each prompt plus its continuation must fit in max_length);
 * SP_ERR_UNSUPPORTED on encoder-decoder models (score a target there with sp_adapter_eval_loss). */
SP_API sp_status sp_context_score(sp_context* context, const sp_prompts* prompts, const sp_prompts* continuations,
                                  float* log_likelihoods, size_t count) SP_NOEXCEPT;

/* Low level: runs the prompts into the cache (replacing its contents) and writes each row's
 * next-token logits, prompts->count * vocab_size floats, into logits[logits_count]. For custom
 * decoding (beam search, constraints) together with sp_context_decode.
 * Errors: as sp_context_generate, and SP_ERR_BUFFER_TOO_SMALL. */
SP_API sp_status sp_context_prefill(sp_context* context, const sp_prompts* prompts, float* logits,
                                    size_t logits_count) SP_NOEXCEPT;

/* Low level: appends one token per row (ids[count], count = the rows of the latest prefill) to the
 * cache and writes the next-token logits, count * vocab_size floats. Errors: SP_ERR_INVALID_ARGUMENT
 * (no prefill since creation or reset, a count other than its rows), SP_ERR_OUT_OF_RANGE (ids, or a
 * row that would pass max_length), SP_ERR_BUFFER_TOO_SMALL. */
SP_API sp_status sp_context_decode(sp_context* context, const int32_t* ids, size_t count, float* logits,
                                   size_t logits_count) SP_NOEXCEPT;

/* Applies params' logits processors, as sp_context_generate applies them, to one row of logits in
 * place: the repetition penalty (over the ids in history), then, when do_sample is 1, temperature,
 * top_k, top_p and min_p (removed tokens become -infinity). For callers that sample themselves,
 * and to compare with transformers' processors.
 *   history, history_count  the row's tokens so far (may be NULL when the count is 0);
 *   logits, vocab_size      the row's logits.
 * Errors: SP_ERR_INVALID_ARGUMENT (NULLs, parameters out of range), SP_ERR_OUT_OF_RANGE (history
 * ids outside [0, vocab_size)). */
SP_API sp_status sp_logits_process(const sp_generate_params* params, const int32_t* history, size_t history_count,
                                   float* logits, size_t vocab_size) SP_NOEXCEPT;

/* The ids that end generation for this model: generation_config.json's eos_token_id (one id or a
 * list) in the model folder, else config.json's, else the tokenizer's eos token; ids outside the
 * vocabulary are left out. Writes up to capacity ids and the full number to *count.
 * Errors: SP_ERR_BUFFER_TOO_SMALL (*count set). */
SP_API sp_status sp_model_eos_ids(const sp_model* model, int32_t* ids, size_t capacity, size_t* count) SP_NOEXCEPT;

/* ------------------------------------------------------------------------------------------------
 * Serving many adapters
 *
 * One model, many customers' soft prompts, one batch. Every row of a batch may name its own
 * adapter: sp_batch.row_adapters for sp_model_logits, sp_model_eval_loss and sp_model_hidden_states,
 * sp_prompts.adapters for sp_context_generate (and _begin), sp_context_prefill and sp_context_score.
 * Any mix of the four methods and of virtual-token counts shares one forward pass on a decoder-only
 * model: each row's soft prompt enters as a key/value prefix of its own length (rows with shorter or
 * no prefixes have the unused slots masked), and its tokens sit at the positions they would have
 * alone. Each row's logits, losses, scores and tokens are those of the row run alone with its
 * adapter, to float32 round-off.
 *
 * Compiled prompts. On a decoder-only model a soft prompt at the front does not depend on the
 * request: prompt tuning's, P-tuning's and multitask prompt tuning's virtual tokens attend only to
 * each other, so their per-layer keys and values (and the last one's output, which predicts the
 * first token) are computed once per adapter version and kept with the adapter; prefix tuning's
 * prefix already is such keys and values. Every later call reuses them. A trainer step or a loaded
 * trainer state makes a new version (sp_adapter_info.version); the next call compiles it again,
 * while calls already running keep the version they began with. (Dynamic RoPE models, whose
 * frequencies depend on the call's length, run the virtual tokens in every call instead.)
 *
 * Hot swap. Handles are checked per object, without a process-wide lock: loading an adapter,
 * freeing one, or training one while other threads serve requests with it is safe, and a request
 * in flight finishes with the adapter version it started with. To replace an adapter, load the new
 * version, route new requests to it, then free the old handle.
 * --------------------------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------------------------------
 * Names before 0.4
 *
 * Public functions are named sp_<object>_<verb>. These older names still work, each forwarding to
 * its replacement, and will be removed in 0.5.
 * --------------------------------------------------------------------------------------------- */

/* Deprecated: sp_adapter_load. */
SP_API sp_status sp_load_adapter(sp_adapter** out, sp_model* model, const char* folder) SP_NOEXCEPT;
/* Deprecated: sp_adapter_load_file. */
SP_API sp_status sp_load_adapter_file(sp_adapter** out, sp_model* model, const char* path) SP_NOEXCEPT;
/* Deprecated: sp_adapter_save. */
SP_API sp_status sp_save_adapter(const sp_adapter* adapter, const char* folder) SP_NOEXCEPT;
/* Deprecated: sp_adapter_save_file. */
SP_API sp_status sp_save_adapter_file(const sp_adapter* adapter, const char* path) SP_NOEXCEPT;
/* Deprecated: sp_adapter_logits. */
SP_API sp_status sp_logits(const sp_adapter* adapter, const sp_batch* batch, sp_logits_mode mode, float* out,
                           size_t out_count) SP_NOEXCEPT;
/* Deprecated: sp_adapter_eval_loss. */
SP_API sp_status sp_eval_loss(const sp_adapter* adapter, const sp_batch* batch, float* mean_loss,
                              float* row_log_likelihood) SP_NOEXCEPT;
/* Deprecated: sp_trainer_step. */
SP_API sp_status sp_train_step(sp_trainer* trainer, const sp_batch* batch, sp_train_result* result) SP_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* SOFTPROMPT_H */
