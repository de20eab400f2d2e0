/*
 * java/typemaps.i - the Java side of the conventions softprompt.i relies on. Included by
 * bindings/softprompt.i under SWIGJAVA, before any declaration it wraps (typemaps apply only to
 * declarations that come after them).
 *
 * SWIG runs in C mode (no -c++), so JCALLn(...) expands to (*jenv)->Fn(jenv, ...). Those macros
 * are expanded only inside { } typemap bodies; code in %{ %} blocks calls (*jenv)-> directly.
 *
 * The generated classes (package dev.softprompt.internal) are not the public API: the
 * hand-written classes in dev.softprompt wrap them.
 */

/* Enums become proper Java enums (swigValue() / swigToEnum()) instead of SWIG's default
 * "typesafe enum" classes, so the public enums can name their C constants directly. */
%include <enums.swg>

/* ---- Integers -------------------------------------------------------------------------------
 * stdint.i types int64_t as long on 64-bit targets and SWIG maps C long to a Java int, which would
 * truncate num_trainable_parameters and the like; make both 64-bit types a Java long. uint64_t
 * (the adapter seed) is a long too, not a BigInteger: the bits are passed unchanged, so a seed
 * above 2^63 is written as the negative long with the same bits. size_t is already a Java long. */
%apply long long { int64_t };
%apply long long { uint64_t };

/* A zero-length Java array arrives as a non-NULL pointer to one of these and a count of 0, without
 * asking the JVM for its elements: Get<Type>ArrayElements may return NULL for an empty array,
 * which would be indistinguishable from an allocation failure. */
%{
static int32_t spj_no_ints[1];
static float spj_no_floats[1];
static int64_t spj_no_longs[1];
static char spj_no_bytes[1];
%}

/* ---- int32 input arrays: (const int32_t* INPUT, size_t INPUT_COUNT) -> int[] -----------------
 * One JNI call fetches the whole array (no per-element calls); JNI_ABORT on release because the
 * library never writes into its inputs, so nothing needs copying back. null means "not given":
 * pointer NULL, count 0. If the JVM cannot provide the elements, an OutOfMemoryError is pending
 * and the wrapper returns at once (the Java caller sees that error). */
%typemap(jni) (const int32_t* INPUT, size_t INPUT_COUNT) "jintArray"
%typemap(jtype) (const int32_t* INPUT, size_t INPUT_COUNT) "int[]"
%typemap(jstype) (const int32_t* INPUT, size_t INPUT_COUNT) "int[]"
%typemap(javain) (const int32_t* INPUT, size_t INPUT_COUNT) "$javainput"
%typemap(in) (const int32_t* INPUT, size_t INPUT_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    $1 = spj_no_ints;
    if ($2 > 0) {
      $1 = (int32_t*)JCALL2(GetIntArrayElements, jenv, $input, NULL);
      if (!$1) return $null;
    }
  }
}
%typemap(freearg) (const int32_t* INPUT, size_t INPUT_COUNT) {
  if ($1 && $1 != spj_no_ints) JCALL3(ReleaseIntArrayElements, jenv, $input, (jint*)$1, JNI_ABORT);
}

/* ---- float output arrays: (float* OUTPUT, size_t OUTPUT_COUNT) -> float[] filled in place -----
 * Mode 0 on release copies the results back into the Java array (when the JVM handed out a copy)
 * and frees the copy. null means "no buffer": pointer NULL, count 0. */
%typemap(jni) (float* OUTPUT, size_t OUTPUT_COUNT) "jfloatArray"
%typemap(jtype) (float* OUTPUT, size_t OUTPUT_COUNT) "float[]"
%typemap(jstype) (float* OUTPUT, size_t OUTPUT_COUNT) "float[]"
%typemap(javain) (float* OUTPUT, size_t OUTPUT_COUNT) "$javainput"
%typemap(in) (float* OUTPUT, size_t OUTPUT_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    $1 = spj_no_floats;
    if ($2 > 0) {
      $1 = (float*)JCALL2(GetFloatArrayElements, jenv, $input, NULL);
      if (!$1) return $null;
    }
  }
}
%typemap(freearg) (float* OUTPUT, size_t OUTPUT_COUNT) {
  if ($1 && $1 != spj_no_floats) JCALL3(ReleaseFloatArrayElements, jenv, $input, (jfloat*)$1, 0);
}

/* ---- int64 output arrays: (int64_t* OUTPUT, size_t OUTPUT_COUNT) -> long[] filled in place ----
 * The same rules as the float arrays above; a jlong is a signed 64-bit integer, like int64_t. */
%typemap(jni) (int64_t* OUTPUT, size_t OUTPUT_COUNT) "jlongArray"
%typemap(jtype) (int64_t* OUTPUT, size_t OUTPUT_COUNT) "long[]"
%typemap(jstype) (int64_t* OUTPUT, size_t OUTPUT_COUNT) "long[]"
%typemap(javain) (int64_t* OUTPUT, size_t OUTPUT_COUNT) "$javainput"
%typemap(in) (int64_t* OUTPUT, size_t OUTPUT_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    $1 = spj_no_longs;
    if ($2 > 0) {
      $1 = (int64_t*)JCALL2(GetLongArrayElements, jenv, $input, NULL);
      if (!$1) return $null;
    }
  }
}
%typemap(freearg) (int64_t* OUTPUT, size_t OUTPUT_COUNT) {
  if ($1 && $1 != spj_no_longs) JCALL3(ReleaseLongArrayElements, jenv, $input, (jlong*)$1, 0);
}

/* ---- int32 output arrays: (int32_t* OUTPUT, size_t OUTPUT_COUNT) -> int[] filled in place ----
 * The same rules as the float arrays above (token ids out of the tokenizer). */
%typemap(jni) (int32_t* OUTPUT, size_t OUTPUT_COUNT) "jintArray"
%typemap(jtype) (int32_t* OUTPUT, size_t OUTPUT_COUNT) "int[]"
%typemap(jstype) (int32_t* OUTPUT, size_t OUTPUT_COUNT) "int[]"
%typemap(javain) (int32_t* OUTPUT, size_t OUTPUT_COUNT) "$javainput"
%typemap(in) (int32_t* OUTPUT, size_t OUTPUT_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    $1 = spj_no_ints;
    if ($2 > 0) {
      $1 = (int32_t*)JCALL2(GetIntArrayElements, jenv, $input, NULL);
      if (!$1) return $null;
    }
  }
}
%typemap(freearg) (int32_t* OUTPUT, size_t OUTPUT_COUNT) {
  if ($1 && $1 != spj_no_ints) JCALL3(ReleaseIntArrayElements, jenv, $input, (jint*)$1, 0);
}

/* ---- Bytes in: (const char* BYTES, size_t BYTES_COUNT) <- byte[] -----------------------------
 * Text with its size (it may hold NUL bytes), already encoded by the public class (Tokenizer
 * turns a String into UTF-8 there). One JNI call fetches the bytes; JNI_ABORT on release, as for
 * the int inputs. null is NULL with size 0. */
%typemap(jni) (const char* BYTES, size_t BYTES_COUNT) "jbyteArray"
%typemap(jtype) (const char* BYTES, size_t BYTES_COUNT) "byte[]"
%typemap(jstype) (const char* BYTES, size_t BYTES_COUNT) "byte[]"
%typemap(javain) (const char* BYTES, size_t BYTES_COUNT) "$javainput"
%typemap(in) (const char* BYTES, size_t BYTES_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    $1 = spj_no_bytes;
    if ($2 > 0) {
      $1 = (char*)JCALL2(GetByteArrayElements, jenv, $input, NULL);
      if (!$1) return $null;
    }
  }
}
%typemap(freearg) (const char* BYTES, size_t BYTES_COUNT) {
  if ($1 && $1 != spj_no_bytes) JCALL3(ReleaseByteArrayElements, jenv, $input, (jbyte*)$1, JNI_ABORT);
}

/* ---- Bytes out: (char* BYTES_OUT, size_t BYTES_OUT_COUNT) -> byte[] filled in place ----------
 * The same rules as the float arrays above; the public class decodes the UTF-8. */
%typemap(jni) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) "jbyteArray"
%typemap(jtype) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) "byte[]"
%typemap(jstype) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) "byte[]"
%typemap(javain) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) "$javainput"
%typemap(in) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    $1 = spj_no_bytes;
    if ($2 > 0) {
      $1 = (char*)JCALL2(GetByteArrayElements, jenv, $input, NULL);
      if (!$1) return $null;
    }
  }
}
%typemap(freearg) (char* BYTES_OUT, size_t BYTES_OUT_COUNT) {
  if ($1 && $1 != spj_no_bytes) JCALL3(ReleaseByteArrayElements, jenv, $input, (jbyte*)$1, 0);
}

/* ---- Adapter arrays: (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) <- sp_adapter[] ----
 * One adapter handle per row (a batch's row adapters, prompts' adapters); a null entry is NULL.
 * The proxies' pointers travel as one long[] (SoftPromptNative.pointers, which reads them where
 * getCPtr is visible) and become a C array of pointers here, freed after the call. The public
 * classes hold each adapter (NativeHandle.acquire) for the call. null is NULL with count 0. */
%typemap(jni) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) "jlongArray"
%typemap(jtype) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) "long[]"
%typemap(jstype) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) "sp_adapter[]"
%typemap(javain) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) "$module.pointers($javainput)"
%typemap(in) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) {
  $1 = NULL;
  $2 = 0;
  if ($input) {
    $2 = (size_t)JCALL1(GetArrayLength, jenv, $input);
    if ($2 > 0) {
      sp_adapter** handles = (sp_adapter**)malloc($2 * sizeof *handles);
      jlong* values = NULL;
      if (!handles) {
        SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "softprompt: no memory for the adapter handles");
        return $null;
      }
      values = JCALL2(GetLongArrayElements, jenv, $input, NULL);
      if (!values) {
        free((void*)handles);
        return $null;
      }
      for (size_t i = 0; i < $2; ++i) handles[i] = (sp_adapter*)(intptr_t)values[i];
      JCALL3(ReleaseLongArrayElements, jenv, $input, values, JNI_ABORT);
      $1 = ($1_ltype)handles;
    }
  }
}
%typemap(freearg) (const sp_adapter* const* ADAPTERS, size_t ADAPTERS_COUNT) {
  free((void*)$1);
}

/* ---- Strings in: const char* <- String as UTF-8 ----------------------------------------------
 * SWIG's default uses GetStringUTFChars, which yields *modified* UTF-8: a character outside the
 * BMP (e.g. an emoji in a file name) becomes two 3-byte surrogates, so the file is created under
 * a different name than the one asked for. Instead Java encodes the String as real UTF-8 plus a
 * NUL terminator (SoftPromptNative.utf8z) and C receives those bytes unchanged. null stays NULL. */
%typemap(jni) const char* "jbyteArray"
%typemap(jtype) const char* "byte[]"
%typemap(jstype) const char* "String"
%typemap(javain) const char* "$module.utf8z($javainput)"
%typemap(in) const char* {
  $1 = NULL;
  if ($input) { /* never empty: utf8z appends the NUL */
    $1 = (char*)JCALL2(GetByteArrayElements, jenv, $input, NULL);
    if (!$1) return $null;
  }
}
%typemap(freearg) const char* {
  if ($1) JCALL3(ReleaseByteArrayElements, jenv, $input, (jbyte*)$1, JNI_ABORT);
}

/* ---- Strings out: const char* -> String decoded from UTF-8 ------------------------------------
 * NewStringUTF would read the bytes as modified UTF-8 (and treats invalid sequences as a fatal
 * error under -Xcheck:jni); the bytes travel as a byte[] and Java decodes them (SoftPromptNative.utf8).
 * NULL becomes null. */
%typemap(out) const char* {
  $result = NULL;
  if ($1) {
    const jsize length = (jsize)strlen($1);
    $result = JCALL1(NewByteArray, jenv, length);
    if ($result) JCALL4(SetByteArrayRegion, jenv, $result, 0, length, (const jbyte*)$1);
  }
}
%typemap(javaout) const char* {
    return $module.utf8($jnicall);
  }

/* sp_model_info.model_type (char[32]): read-only, decoded like the strings above; the bytes end
 * at the first NUL or at the end of the array. */
%immutable sp_model_info::model_type;
%typemap(jni) char [ANY] "jbyteArray"
%typemap(jtype) char [ANY] "byte[]"
%typemap(jstype) char [ANY] "String"
%typemap(out) char [ANY] {
  const char* end = (const char*)memchr($1, 0, $1_dim0);
  const jsize length = (jsize)(end ? (size_t)(end - $1) : (size_t)$1_dim0);
  $result = JCALL1(NewByteArray, jenv, length);
  if ($result) JCALL4(SetByteArrayRegion, jenv, $result, 0, length, (const jbyte*)$1);
}
%typemap(javaout) char [ANY] {
    return $module.utf8($jnicall);
  }

%pragma(java) modulecode=%{
  /** The UTF-8 bytes of s followed by a NUL terminator, or null for null. */
  static byte[] utf8z(String s) {
    if (s == null) return null;
    byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return java.util.Arrays.copyOf(bytes, bytes.length + 1);
  }

  /** The String that UTF-8 bytes encode, or null for null. */
  static String utf8(byte[] bytes) {
    return bytes == null ? null : new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The native pointers of adapter proxies (0 for a null entry), or null for null. */
  static long[] pointers(sp_adapter[] adapters) {
    if (adapters == null) return null;
    long[] pointers = new long[adapters.length];
    for (int i = 0; i < adapters.length; ++i) pointers[i] = sp_adapter.getCPtr(adapters[i]);
    return pointers;
  }
%}

/* ---- Proxy classes ----------------------------------------------------------------------------
 * SWIG 4.1 gives every proxy a finalize(), deprecated for removal since Java 18 (and a -Xlint
 * warning). The public classes free their native objects in close(), so drop it everywhere. */
%typemap(javafinalize) SWIGTYPE ""

/* The JNI library is loaded the first time any generated class touches a native method (see
 * src/dev/softprompt/internal/NativeLoader.java for where it is looked for). */
%pragma(java) jniclasscode=%{
  static {
    NativeLoader.load();
  }
%}
