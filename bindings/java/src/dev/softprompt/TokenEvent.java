package dev.softprompt;

/**
 * One generated token, as streamed: which prompt's row it belongs to, its id, the text it adds to
 * the row, and whether it is the row's last token.
 */
public final class TokenEvent {
  private final int row;
  private final int tokenId;
  private final String text;
  private final StopReason stopReason;

  TokenEvent(int row, int tokenId, String text, StopReason stopReason) {
    this.row = row;
    this.tokenId = tokenId;
    this.text = text;
    this.stopReason = stopReason;
  }

  /** The prompt's index in the call's prompts. */
  public int row() {
    return row;
  }

  /** The id generated. */
  public int tokenId() {
    return tokenId;
  }

  /**
   * The text this token completes: the row's decoded text grows by exactly this. Never part of a
   * character (the library holds back bytes until they form whole characters, and they come with
   * a later token), so it is often empty; empty too when the model folder has no tokenizer.
   */
  public String text() {
    return text;
  }

  /** {@link StopReason#NONE} while the row goes on; otherwise this is the row's last token. */
  public StopReason stopReason() {
    return stopReason;
  }

  /** Whether this is the row's last token. */
  public boolean isLast() {
    return stopReason != StopReason.NONE;
  }

  @Override
  public String toString() {
    return "TokenEvent{row=" + row + ", tokenId=" + tokenId + ", text=\"" + text + "\", stopReason=" + stopReason
        + "}";
  }
}
