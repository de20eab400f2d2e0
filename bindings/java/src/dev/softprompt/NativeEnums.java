package dev.softprompt;

import java.util.function.Function;

/** The one reverse lookup from a SWIG-generated C enum value to the Java enum that wraps it. */
final class NativeEnums {
  private NativeEnums() {}

  /**
   * The constant of {@code constants} whose C value is {@code c}. Every C value has a Java
   * counterpart; a miss means the header gained a value this binding does not know yet.
   */
  static <E extends Enum<E>, C> E of(E[] constants, Function<E, C> cValue, C c, String what) {
    for (E constant : constants) {
      if (cValue.apply(constant) == c) {
        return constant;
      }
    }
    throw new IllegalStateException("softprompt: " + what + " " + c + " has no Java counterpart");
  }
}
