package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_status;

/**
 * Turns C failures into exceptions. The C library keeps the last status and message per OS thread;
 * a Java thread is one OS thread for its whole life, so reading them in a second JNI call right
 * after the failed one (on the same thread, with no library call in between) gives that call's.
 */
final class Errors {
  private Errors() {}

  /** Throws unless a status-returning call succeeded. */
  static void check(sp_status status) {
    if (status != sp_status.SP_OK) {
      throw new SoftPromptException(Status.of(status), SoftPromptNative.sp_last_error());
    }
  }

  /** The failure of the last call on this thread, for calls that signal it by NULL or -1. */
  static SoftPromptException last() {
    sp_status status = SoftPromptNative.sp_last_status();
    if (status == sp_status.SP_OK) {
      // The spb_* layer returned a failure value for a call that the library reports as a success:
      // a bug in the binding layer, not something the caller did.
      return new SoftPromptException(Status.INTERNAL, "the binding layer reported a failure without a status");
    }
    return new SoftPromptException(Status.of(status), SoftPromptNative.sp_last_error());
  }
}
