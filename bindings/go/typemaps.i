/*
 * go/typemaps.i - the Go typemaps of softprompt.i. softprompt.i includes this file under SWIGGO
 * before any declaration, so every typemap here applies to what follows.
 *
 * Generated with: swig -go -cgo -intgosize 64 -module softprompt ... softprompt.i
 *
 *   - Arrays: (const int32_t* INPUT, size_t INPUT_COUNT) is a Go []int32 and
 *     (float* OUTPUT, size_t OUTPUT_COUNT) a Go []float32 filled in place, and
 *     (int64_t* OUTPUT, size_t OUTPUT_COUNT) a Go []int64 likewise, (int32_t* OUTPUT, size_t
 *     OUTPUT_COUNT) a []int32 and (char* BYTES_OUT, size_t BYTES_OUT_COUNT) a []byte. The slice's
 *     backing array goes to C as is, in the same cgo call (no copy; cgo's pointer rules allow it
 *     because integer, float and byte memory holds no Go pointers). A nil slice is NULL with count 0.
 *   - Adapter arrays: (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) is a Go []uintptr
 *     of C handles (Swigcptr() values; 0 = NULL), passed the same way: a uintptr is pointer-sized
 *     and is no Go pointer. The hand-written layer holds each adapter (object.acquire) for the call.
 *   - Text: (const char* BYTES, size_t BYTES_COUNT) is a Go string, passed as its bytes and length
 *     (SWIG's own (char *STRING, size_t LENGTH) typemaps: no copy and no NUL terminator, so the
 *     string may hold NUL bytes, and whatever bytes it holds, invalid UTF-8 included, reach the
 *     library unchanged).
 *   - Structs: the parameter, info and train-result structs are converted between C and the
 *     hand-written Go types (ModelOptions, AdapterInfo, TrainResult, ...) in ONE cgo call each.
 *     SWIG's default would be a malloc'd C struct whose every field is another cgo call. The
 *     converters (swig* functions) are in convert.go, where gofmt and the compiler check them.
 *   - Strings: SWIG's own Go string typemaps are used unchanged (UTF-8 in, copied out).
 *
 * Errors are NOT mapped here. SWIG's Go module derives the C-side return type of a wrapper from
 * the C declaration, so a status or NULL handle cannot come back together with its message. The
 * hand-written layer instead calls each fallible function with the goroutine locked to its OS
 * thread and reads sp_last_status/sp_last_error on that same thread (call.go explains why).
 */

/* Into the cgo comment of the generated softprompt.go: the link flag (-L and the rpath come from
 * CGO_LDFLAGS) and the header, so that the imtypes below can name C.sp_* types. */
%insert(cgo_comment_typedefs) %{
#cgo LDFLAGS: -lsoftprompt
#include "softprompt/softprompt.h"
%}

/* ---- Arrays ---- */

%typemap(gotype) (const int32_t* INPUT, size_t INPUT_COUNT) "[]int32"
%typemap(in) (const int32_t* INPUT, size_t INPUT_COUNT)
%{ $1 = ($1_ltype)$input.array;
   $2 = ($2_ltype)$input.len; %}

%typemap(gotype) (float* OUTPUT, size_t OUTPUT_COUNT) "[]float32"
%typemap(in) (float* OUTPUT, size_t OUTPUT_COUNT)
%{ $1 = ($1_ltype)$input.array;
   $2 = ($2_ltype)$input.len; %}

%typemap(gotype) (int64_t* OUTPUT, size_t OUTPUT_COUNT) "[]int64"
%typemap(in) (int64_t* OUTPUT, size_t OUTPUT_COUNT)
%{ $1 = ($1_ltype)$input.array;
   $2 = ($2_ltype)$input.len; %}

%typemap(gotype) (int32_t* OUTPUT, size_t OUTPUT_COUNT) "[]int32"
%typemap(in) (int32_t* OUTPUT, size_t OUTPUT_COUNT)
%{ $1 = ($1_ltype)$input.array;
   $2 = ($2_ltype)$input.len; %}

%typemap(gotype) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) "[]byte"
%typemap(in) (char* BYTES_OUT, size_t BYTES_OUT_COUNT)
%{ $1 = ($1_ltype)$input.array;
   $2 = ($2_ltype)$input.len; %}

%typemap(gotype) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) "[]uintptr"
%typemap(in) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT)
%{ $1 = ($1_ltype)$input.array;
   $2 = ($2_ltype)$input.len; %}

/* ---- Text ---- */

%apply (char *STRING, size_t LENGTH) { (const char* BYTES, size_t BYTES_COUNT) };

/* ---- Info structs returned by value (spb_model_info, spb_adapter_info, spb_tokenizer_info) ---- */

%typemap(gotype) sp_model_info "modelInfoResult"
%typemap(imtype) sp_model_info "C.sp_model_info"
%typemap(out) sp_model_info %{ $result = $1; %}
%typemap(goout) sp_model_info %{ $result = swigModelInfo(&($1)) %}

%typemap(gotype) sp_adapter_info "adapterInfoResult"
%typemap(imtype) sp_adapter_info "C.sp_adapter_info"
%typemap(out) sp_adapter_info %{ $result = $1; %}
%typemap(goout) sp_adapter_info %{ $result = swigAdapterInfo(&($1)) %}

%typemap(gotype) sp_tokenizer_info "tokenizerInfoResult"
%typemap(imtype) sp_tokenizer_info "C.sp_tokenizer_info"
%typemap(out) sp_tokenizer_info %{ $result = $1; %}
%typemap(goout) sp_tokenizer_info %{ $result = swigTokenizerInfo(&($1)) %}

/* ---- Parameter structs: the C defaults out as Go options; Go options in (nil = NULL) ---- */

%define SPGO_PARAMS(CTYPE, GOTYPE, TO_GO, TO_C)
%typemap(gotype) CTYPE "GOTYPE"
%typemap(imtype) CTYPE "C.CTYPE"
%typemap(out) CTYPE %{ $result = $1; %}
%typemap(goout) CTYPE %{ $result = TO_GO(&($1)) %}

%typemap(gotype) const CTYPE* "*GOTYPE"
%typemap(imtype) const CTYPE* "*C.CTYPE"
%typemap(goin) const CTYPE* %{ $result = TO_C($input) %}
%typemap(in) const CTYPE* %{ $1 = ($1_ltype)$input; %}
%enddef

SPGO_PARAMS(sp_model_params, ModelOptions, swigModelOptions, swigModelParams)
SPGO_PARAMS(sp_adapter_params, AdapterOptions, swigAdapterOptions, swigAdapterParams)
SPGO_PARAMS(sp_trainer_params, TrainerOptions, swigTrainerOptions, swigTrainerParams)
SPGO_PARAMS(sp_context_params, ContextOptions, swigContextOptions, swigContextParams)
/* GenerateOptions' slices (StopIDs, StopStrings) go to spb_context_generate_begin as separate
 * arguments; the struct carries the scalar fields only. */
SPGO_PARAMS(sp_generate_params, GenerateOptions, swigGenerateOptions, swigGenerateParams)

/* ---- spb_trainer_step's result, filled into the caller's *TrainResult ---- */

%typemap(gotype) sp_train_result* result "*TrainResult"
%typemap(imtype) sp_train_result* result "*C.sp_train_result"
%typemap(goin) sp_train_result* result %{ $result = new(C.sp_train_result) %}
%typemap(in) sp_train_result* result %{ $1 = $input; %}
%typemap(goargout) sp_train_result* result %{ swigTrainResult($1, $input) %}
