package dev.softprompt;

/**
 * The size-first protocol of the spb_* calls that fill a byte buffer and return the full size (or
 * -1 on failure): the call runs with a first buffer and, when that was too small, once more with
 * one of the size it reported.
 */
final class SizedOutput {
  private SizedOutput() {}

  /** One spb_* call that writes into out and returns the full size, or -1. */
  interface Call {
    long apply(byte[] out);
  }

  /**
   * The bytes call writes, first into a buffer of guess bytes. With nulTerminated the library
   * writes a NUL after the bytes, so they fit only when their size is below the buffer's length.
   */
  static byte[] read(long guess, boolean nulTerminated, String what, Call call) {
    int reserve = nulTerminated ? 1 : 0;
    byte[] out = new byte[(int) Math.min(Math.max(guess, reserve), Integer.MAX_VALUE - 8)];
    long size;
    while ((size = call.apply(out)) > out.length - reserve) {
      out = new byte[Checks.arrayLength(size + reserve, what, "bytes")];
    }
    if (size < 0) {
      throw Errors.last(); // the call just made, on this thread
    }
    return size == out.length ? out : java.util.Arrays.copyOf(out, (int) size);
  }

  /** The UTF-8 text such a call writes (NUL-terminated by the library). */
  static String readText(long guess, String what, Call call) {
    byte[] bytes = read(guess, true, what, call);
    return Utf8.decode(bytes, bytes.length);
  }
}
