package dev.softprompt;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The token events of one generation, pulled one at a time ({@link Context#iterator}). A token is
 * computed only when it is asked for, so an iterator left unread costs nothing more; close it (or
 * use try-with-resources) to end the generation early: the rows still running then end with
 * {@link StopReason#CALLBACK}, and {@link #generation()} says what was generated so far.
 *
 * <p>Not thread-safe (as any iterator). A later generate, iterator, stream, prefill, decode or reset
 * call on the same context ends this generation: the next {@link #hasNext()} then throws
 * ConcurrentModificationException. After the context is closed it throws IllegalStateException.
 */
public final class TokenIterator implements Iterator<TokenEvent>, AutoCloseable {
  private final Context context;
  private final long generation;
  private final int[][] ids;
  private final int[] counts;
  private final StopReason[] stopReasons;
  private final StringBuilder[] texts;
  private TokenEvent pending;
  private boolean finished;

  TokenIterator(Context context, long generation, int rows) {
    this.context = context;
    this.generation = generation;
    this.ids = new int[rows][];
    this.counts = new int[rows];
    this.stopReasons = new StopReason[rows];
    this.texts = new StringBuilder[rows];
    for (int row = 0; row < rows; ++row) {
      ids[row] = new int[8];
      stopReasons[row] = StopReason.NONE;
      texts[row] = new StringBuilder();
    }
  }

  @Override
  public boolean hasNext() {
    if (pending == null && !finished) {
      pending = context.nextEvent(generation);
      if (pending == null) {
        finished = true;
      } else {
        record(pending);
      }
    }
    return pending != null;
  }

  @Override
  public TokenEvent next() {
    if (!hasNext()) {
      throw new NoSuchElementException("softprompt: every row of this generation has stopped");
    }
    TokenEvent event = pending;
    pending = null;
    return event;
  }

  /**
   * Ends the generation if it is still running (sp_context_generate_stop): the rows still running
   * end with {@link StopReason#CALLBACK}. Idempotent; never throws, also after the context was
   * closed or a later call ended this generation.
   */
  @Override
  public void close() {
    pending = null;
    if (finished) {
      return;
    }
    finished = true;
    context.stopGeneration(generation);
    for (int row = 0; row < stopReasons.length; ++row) {
      if (stopReasons[row] == StopReason.NONE) {
        stopReasons[row] = StopReason.CALLBACK;
      }
    }
  }

  /** Every row's tokens, stop reason and text so far (all of it once hasNext() returned false or after close). */
  public Generation generation() {
    int rows = ids.length;
    int[][] rowIds = new int[rows][];
    String[] rowTexts = new String[rows];
    for (int row = 0; row < rows; ++row) {
      rowIds[row] = Arrays.copyOf(ids[row], counts[row]);
      rowTexts[row] = texts[row].toString();
    }
    return new Generation(rowIds, stopReasons.clone(), rowTexts);
  }

  private void record(TokenEvent event) {
    int row = event.row();
    if (counts[row] == ids[row].length) {
      ids[row] = Arrays.copyOf(ids[row], ids[row].length * 2);
    }
    ids[row][counts[row]++] = event.tokenId();
    texts[row].append(event.text());
    stopReasons[row] = event.stopReason();
  }
}
