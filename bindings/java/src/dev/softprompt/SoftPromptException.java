package dev.softprompt;

/**
 * A library call failed: carries the C status and the library's message, unchanged.
 * {@link #getMessage()} is "SP_ERR_...: message".
 */
public class SoftPromptException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status status;
  private final String nativeMessage;

  public SoftPromptException(Status status, String nativeMessage) {
    super(status.cName() + ": " + nativeMessage);
    this.status = status;
    this.nativeMessage = nativeMessage;
  }

  /** The status the C call returned (never {@link Status#OK}). */
  public Status status() {
    return status;
  }

  /** The message of sp_last_error() for the failed call, exactly as the library wrote it. */
  public String nativeMessage() {
    return nativeMessage;
  }
}
