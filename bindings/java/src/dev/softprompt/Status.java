package dev.softprompt;

import dev.softprompt.internal.sp_status;

/** Result of a library call: every status but {@link #OK} is thrown as a {@link SoftPromptException}. */
public enum Status {
  OK(sp_status.SP_OK),
  /** A null where a value is needed, a value out of range, inconsistent sizes. */
  INVALID_ARGUMENT(sp_status.SP_ERR_INVALID_ARGUMENT),
  /** A handle that is not a live object of the expected kind. */
  INVALID_HANDLE(sp_status.SP_ERR_INVALID_HANDLE),
  /** A missing file, folder or named tensor. */
  NOT_FOUND(sp_status.SP_ERR_NOT_FOUND),
  /** Reading or writing a file failed. */
  IO(sp_status.SP_ERR_IO),
  /** A file exists but is malformed (bad JSON, truncated, corrupt). */
  FORMAT(sp_status.SP_ERR_FORMAT),
  /** Valid but not implemented: a model type, task type, method. */
  UNSUPPORTED(sp_status.SP_ERR_UNSUPPORTED),
  /** Sizes that do not fit: a weight, an adapter for another model. */
  SHAPE_MISMATCH(sp_status.SP_ERR_SHAPE_MISMATCH),
  /** A token id outside the vocabulary, too many positions. */
  OUT_OF_RANGE(sp_status.SP_ERR_OUT_OF_RANGE),
  /** An output buffer smaller than the result. */
  BUFFER_TOO_SMALL(sp_status.SP_ERR_BUFFER_TOO_SMALL),
  /** The requested device (e.g. CUDA) is not available. */
  DEVICE(sp_status.SP_ERR_DEVICE),
  /** The tensor library reported an error. */
  BACKEND(sp_status.SP_ERR_BACKEND),
  /** An allocation failed. */
  OUT_OF_MEMORY(sp_status.SP_ERR_OUT_OF_MEMORY),
  /** A bug in softprompt; please report it with the message. */
  INTERNAL(sp_status.SP_ERR_INTERNAL),
  /** An adapter file trained on another base model. */
  MODEL_MISMATCH(sp_status.SP_ERR_MODEL_MISMATCH);

  final sp_status c;

  Status(sp_status c) {
    this.c = c;
  }

  /** The stable numeric value of the C enum sp_status. */
  public int code() {
    return c.swigValue();
  }

  /** The C name, e.g. "SP_ERR_NOT_FOUND". */
  public String cName() {
    return c.name();
  }

  static Status of(sp_status c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "status");
  }
}
