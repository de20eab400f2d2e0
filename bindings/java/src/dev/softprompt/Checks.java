package dev.softprompt;

/** Argument checks that only Java needs (the library checks everything it receives itself). */
final class Checks {
  private Checks() {}

  /** Enum and batch arguments cannot travel as NULL to C: reject null before any native call. */
  static <T> T notNull(T value, String name) {
    if (value == null) {
      throw new NullPointerException("softprompt: " + name + " must not be null");
    }
    return value;
  }

  /** Java arrays hold at most Integer.MAX_VALUE - 8 elements (a JVM limit, not a library one). */
  static int arrayLength(long count, String what) {
    return arrayLength(count, what, "floats");
  }

  /** As above, for arrays of other elements (unit names them in the message: "ids", "bytes"). */
  static int arrayLength(long count, String what, String unit) {
    if (count > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("softprompt: " + what + " would need " + count
          + " " + unit + ", more than a Java array holds");
    }
    return (int) count; // never negative: the library's sizes and counts are not
  }
}
