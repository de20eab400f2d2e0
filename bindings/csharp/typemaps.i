/*
 * csharp/typemaps.i - C#-specific typemaps for bindings/softprompt.i (included before any
 * declaration, because SWIG applies a typemap only to declarations that follow it).
 *
 * The SWIG output is an internal P/Invoke layer (namespace SoftPrompt.Interop, every generated
 * type internal). The public API is hand-written in src/ on top of it. The typemaps make that
 * layer cheap and safe:
 *   - handles      sp_model* / sp_adapter* / sp_trainer* / sp_tokenizer* / sp_context* are SafeHandle
 *                  subclasses. A returned handle is wrapped by the P/Invoke marshaller itself (no
 *                  leak window); a handle argument is AddRef'd for the duration of the call, so a
 *                  handle disposed on another thread is freed only after the call returns, and a
 *                  disposed handle raises ObjectDisposedException instead of reaching C.
 *   - structs      parameter, info and result structs cross as blittable C# structs (one call,
 *                  no SWIG proxy object with a P/Invoke per field).
 *   - arrays       (pointer, count) pairs become int[] / float[] / long[] / byte[] (text with its
 *                  size, as UTF-8 the public class encodes or decodes); the array is pinned with
 *                  `fixed` and passed with its length in one struct: one call, no copy.
 *   - adapters     an array of adapter handles (a batch's row adapters, prompts' adapters) is an
 *                  IntPtr[] of the handles' pointers, pinned like the arrays above. The public classes
 *                  AddRef every handle first (Interop.HeldHandles, before the wrapper AddRef's its own
 *                  handle argument, so a disposed adapter throws before anything is held).
 *   - strings      arguments are encoded to NUL-terminated UTF-8 bytes here, and results are
 *                  decoded as UTF-8, because Mono's default string marshalling is not UTF-8 on
 *                  every platform.
 *   - enums        the C enums map to the hand-written public enums (same numeric values, which
 *                  softprompt.h promises never to change).
 */

/* int64_t must be C# long and uint64_t ulong whatever SWIGWORDSIZE64 says (with it, stdint.i
 * makes them C `long`, which SWIG's C# module maps to a 32-bit int). */
%apply long long { int64_t };
%apply unsigned long long { uint64_t };

/* Every generated type is internal: the hand-written classes are the public surface. */
%pragma(csharp) moduleclassmodifiers="internal class"
%pragma(csharp) imclassclassmodifiers="internal class"
%typemap(csclassmodifiers) SWIGTYPE, SWIGTYPE *, SWIGTYPE &, SWIGTYPE [] "internal class"
%typemap(csclassmodifiers) enum SWIGTYPE "internal enum"
/* `fixed` (the array typemaps) needs an unsafe context in every method that pins an array. */
%csmethodmodifiers "public unsafe";

/* The structs and enums below have hand-written C# twins, so SWIG generates no class for them. */
%ignore sp_model;
%ignore sp_adapter;
%ignore sp_trainer;
%ignore sp_tokenizer;
%ignore sp_model_params;
%ignore sp_adapter_params;
%ignore sp_trainer_params;
%ignore sp_model_info;
%ignore sp_adapter_info;
%ignore sp_train_result;
%ignore sp_tokenizer_info;
%ignore sp_status;
%ignore sp_device_kind;
%ignore sp_dtype;
%ignore sp_logits_mode;
%ignore sp_method;
%ignore sp_prompt_init;
%ignore sp_encoder_type;
%ignore sp_task_type;
%ignore sp_class_output;
%ignore sp_context;
%ignore sp_context_params;
%ignore sp_generate_params;
%ignore sp_stop_reason;

%{
/* One (pointer, count) pair passed by value: how a pinned C# array reaches the C wrapper. */
typedef struct spcs_span {
  void* data;
  size_t count;
} spcs_span;
%}

/* ---- Handles ---------------------------------------------------------------------------- */

%define SPCS_HANDLE(CTYPE, CSHANDLE)
%typemap(ctype) CTYPE *, const CTYPE * "void *"
%typemap(imtype, out="CSHANDLE") CTYPE *, const CTYPE * "global::System.IntPtr"
%typemap(cstype) CTYPE *, const CTYPE * "CSHANDLE"
%typemap(in) CTYPE *, const CTYPE * %{ $1 = ($1_ltype)$input; %}
%typemap(out) CTYPE *, const CTYPE * %{ $result = (void *)$1; %}
%typemap(csin,
         pre="    bool swigAdded_$csinput = false;\n    $csinput.DangerousAddRef(ref swigAdded_$csinput);",
         post="      if (swigAdded_$csinput) $csinput.DangerousRelease();")
         CTYPE *, const CTYPE * "$csinput.DangerousGetHandle()"
%typemap(csout, excode=SWIGEXCODE) CTYPE *, const CTYPE * {
    CSHANDLE handle = $imcall;$excode
    return handle;
  }
%enddef

SPCS_HANDLE(sp_model, SoftPrompt.Interop.ModelHandle)
SPCS_HANDLE(sp_adapter, SoftPrompt.Interop.AdapterHandle)
SPCS_HANDLE(sp_trainer, SoftPrompt.Interop.TrainerHandle)
SPCS_HANDLE(sp_tokenizer, SoftPrompt.Interop.TokenizerHandle)
SPCS_HANDLE(sp_context, SoftPrompt.Interop.ContextHandle)

/* Only the SafeHandles free, through the raw IntPtr entry points (NativePINVOKE.sp_*_free). The
 * handle-typed wrappers SWIG also generates would AddRef a handle and free it under the
 * SafeHandle's feet (a double free at Dispose), so they are private and never called. */
%csmethodmodifiers sp_model_free "private unsafe";
%csmethodmodifiers sp_adapter_free "private unsafe";
%csmethodmodifiers sp_trainer_free "private unsafe";
%csmethodmodifiers sp_tokenizer_free "private unsafe";
%csmethodmodifiers sp_context_free "private unsafe";

/* ---- Structs: by value as results, by reference as arguments ----------------------------- */

%define SPCS_STRUCT(CTYPE, CSTYPE)
%typemap(ctype) CTYPE "CTYPE"
%typemap(imtype) CTYPE "CSTYPE"
%typemap(cstype) CTYPE "CSTYPE"
%typemap(out) CTYPE %{ $result = $1; %}
%typemap(csout, excode=SWIGEXCODE) CTYPE {
    CSTYPE value = $imcall;$excode
    return value;
  }
%typemap(ctype) CTYPE *, const CTYPE * "CTYPE *"
%typemap(imtype) CTYPE *, const CTYPE * "ref CSTYPE"
%typemap(cstype) CTYPE *, const CTYPE * "ref CSTYPE"
%typemap(in) CTYPE *, const CTYPE * %{ $1 = ($1_ltype)$input; %}
%typemap(csin) CTYPE *, const CTYPE * "ref $csinput"
%enddef

SPCS_STRUCT(sp_model_params, SoftPrompt.Interop.NativeModelParams)
SPCS_STRUCT(sp_adapter_params, SoftPrompt.Interop.NativeAdapterParams)
SPCS_STRUCT(sp_trainer_params, SoftPrompt.Interop.NativeTrainerParams)
SPCS_STRUCT(sp_model_info, SoftPrompt.Interop.NativeModelInfo)
SPCS_STRUCT(sp_adapter_info, SoftPrompt.Interop.NativeAdapterInfo)
SPCS_STRUCT(sp_train_result, SoftPrompt.Interop.NativeTrainResult)
SPCS_STRUCT(sp_tokenizer_info, SoftPrompt.Interop.NativeTokenizerInfo)
SPCS_STRUCT(sp_context_params, SoftPrompt.Interop.NativeContextParams)
SPCS_STRUCT(sp_generate_params, SoftPrompt.Interop.NativeGenerateParams)

/* ---- Enums: the public C# enums, passed as their int value -------------------------------- */

%define SPCS_ENUM(CTYPE, CSTYPE)
%typemap(imtype) CTYPE "CSTYPE"
%typemap(cstype) CTYPE "CSTYPE"
%typemap(csin) CTYPE "$csinput"
%typemap(csout, excode=SWIGEXCODE) CTYPE {
    CSTYPE value = $imcall;$excode
    return value;
  }
%enddef

SPCS_ENUM(sp_status, SoftPrompt.Status)
SPCS_ENUM(sp_logits_mode, SoftPrompt.LogitsMode)
SPCS_ENUM(sp_device_kind, SoftPrompt.Device)
SPCS_ENUM(sp_class_output, SoftPrompt.ClassOutput)

/* ---- Arrays: (pointer, count) pairs ---------------------------------------------------------- */

%define SPCS_ARRAY(CPAIR, CSELEMENT)
%typemap(ctype) CPAIR "spcs_span"
%typemap(imtype) CPAIR "SoftPrompt.Interop.NativeSpan"
%typemap(cstype) CPAIR "CSELEMENT[]"
%typemap(in) CPAIR %{
  $1 = ($1_ltype)$input.data;
  $2 = $input.count;
%}
/* null and empty arrays both pin as a NULL pointer with count 0 (the C side's "not given"). */
%typemap(csin,
         pre="    fixed (CSELEMENT* swigPin_$csinput = $csinput) {",
         terminator="    }")
         CPAIR "new SoftPrompt.Interop.NativeSpan(swigPin_$csinput, $csinput == null ? 0 : $csinput.Length)"
%enddef

SPCS_ARRAY(%arg((const int32_t* INPUT, size_t INPUT_COUNT)), int)
SPCS_ARRAY(%arg((float* OUTPUT, size_t OUTPUT_COUNT)), float)
SPCS_ARRAY(%arg((int64_t* OUTPUT, size_t OUTPUT_COUNT)), long)
SPCS_ARRAY(%arg((int32_t* OUTPUT, size_t OUTPUT_COUNT)), int)
SPCS_ARRAY(%arg((const char* BYTES, size_t BYTES_COUNT)), byte)
SPCS_ARRAY(%arg((char* BYTES_OUT, size_t BYTES_OUT_COUNT)), byte)
/* Adapter handles' pointers (IntPtr.Zero: NULL), from Interop.HeldHandles.Pointers. */
SPCS_ARRAY(%arg((const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT)), global::System.IntPtr)

/* ---- Strings ------------------------------------------------------------------------------- */

/* Arguments: NUL-terminated UTF-8 bytes (null stays NULL); the blittable byte[] is pinned by the
 * marshaller, not copied. */
%typemap(ctype) char *, const char * "char *"
%typemap(imtype, out="global::System.IntPtr") char *, const char * "byte[]"
%typemap(cstype) char *, const char * "string"
%typemap(in) char *, const char * %{ $1 = ($1_ltype)$input; %}
%typemap(csin) char *, const char * "SoftPrompt.Interop.Utf8.Encode($csinput)"
/* Results: the library owns them; copy and decode before the next call can invalidate them. */
%typemap(out) char *, const char * %{ $result = (char *)$1; %}
%typemap(csout, excode=SWIGEXCODE) char *, const char * {
    string value = SoftPrompt.Interop.Utf8.Decode($imcall);$excode
    return value;
  }
