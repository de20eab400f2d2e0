package dev.softprompt;

import java.nio.charset.StandardCharsets;

/** Text between Java's UTF-16 strings and the library's UTF-8 bytes (for the Tokenizer). */
final class Utf8 {
  /** What a lone surrogate becomes: U+FFFD REPLACEMENT CHARACTER. */
  static final char REPLACEMENT = '\uFFFD';

  private Utf8() {}

  /**
   * The UTF-8 bytes of text, with every lone surrogate (a high surrogate not followed by a low one,
   * or a low one not preceded by a high one) replaced by U+FFFD: a lone surrogate has no UTF-8
   * form. String.getBytes alone would write '?' there, a different character from the one the
   * library (and `tokenizers`) put in place of invalid UTF-8 when decoding.
   */
  static byte[] encode(String text) {
    int length = text.length();
    for (int i = 0; i < length; ++i) {
      char c = text.charAt(i);
      if (!Character.isSurrogate(c)) {
        continue;
      }
      if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
        ++i; // a pair: one character outside the BMP
        continue;
      }
      return withoutLoneSurrogates(text, i).getBytes(StandardCharsets.UTF_8);
    }
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** text with its lone surrogates replaced, the first of them being at index first. */
  private static String withoutLoneSurrogates(String text, int first) {
    StringBuilder result = new StringBuilder(text.length());
    result.append(text, 0, first);
    int length = text.length();
    for (int i = first; i < length; ++i) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
        result.append(c).append(text.charAt(++i));
      } else {
        result.append(Character.isSurrogate(c) ? REPLACEMENT : c);
      }
    }
    return result.toString();
  }

  /** The first size bytes of bytes, which the library guarantees to be valid UTF-8. */
  static String decode(byte[] bytes, int size) {
    return new String(bytes, 0, size, StandardCharsets.UTF_8);
  }
}
