package dev.softprompt;

import java.util.Arrays;

/** What a generation produced, per row (prompt): its tokens, why it stopped and its text. */
public final class Generation {
  private final int[][] ids;
  private final StopReason[] stopReasons;
  private final String[] texts;

  Generation(int[][] ids, StopReason[] stopReasons, String[] texts) {
    this.ids = ids;
    this.stopReasons = stopReasons;
    this.texts = texts;
  }

  /** The number of rows (the call's prompts). */
  public int rows() {
    return ids.length;
  }

  /** Row row's generated ids (the prompt left out; a stopping end-of-sequence id included), a copy. */
  public int[] ids(int row) {
    return ids[row].clone();
  }

  /** Why row row stopped ({@link StopReason#NONE}: still running, in a snapshot of an open iterator). */
  public StopReason stopReason(int row) {
    return stopReasons[row];
  }

  /** Row row's text: its events' texts joined (empty when the model folder has no tokenizer). */
  public String text(int row) {
    return texts[row];
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("Generation{");
    for (int row = 0; row < ids.length; ++row) {
      s.append(row == 0 ? "" : ", ").append(Arrays.toString(ids[row])).append(' ').append(stopReasons[row]);
    }
    return s.append('}').toString();
  }
}
