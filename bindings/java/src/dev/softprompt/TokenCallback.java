package dev.softprompt;

/**
 * Receives each generated token of {@link Context#generate(int[][], GenerateOptions,
 * TokenCallback)}, on the calling thread, as it comes (row by row within a step).
 */
@FunctionalInterface
public interface TokenCallback {
  /**
   * @return true to go on; false stops every row at once (those still running end with {@link
   *     StopReason#CALLBACK}). This event's token is part of the result either way.
   */
  boolean onToken(TokenEvent event);
}
