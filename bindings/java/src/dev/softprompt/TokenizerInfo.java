package dev.softprompt;

/** Vocabulary size and special ids of a {@link Tokenizer} (sp_tokenizer_info); -1 = none. */
public final class TokenizerInfo {
  private final long vocabSize;
  private final int bosId;
  private final int eosId;
  private final int padId;
  private final int unkId;

  TokenizerInfo(long vocabSize, int bosId, int eosId, int padId, int unkId) {
    this.vocabSize = vocabSize;
    this.bosId = bosId;
    this.eosId = eosId;
    this.padId = padId;
    this.unkId = unkId;
  }

  /** Ids run from 0 to vocabSize - 1, added tokens included (some ids below it may be unused). */
  public long vocabSize() {
    return vocabSize;
  }

  /** The beginning-of-sequence id, or -1. */
  public int bosId() {
    return bosId;
  }

  /** The end-of-sequence id (the first one where the model lists several), or -1. */
  public int eosId() {
    return eosId;
  }

  /** The padding id, or -1. */
  public int padId() {
    return padId;
  }

  /** The unknown-token id, or -1. */
  public int unkId() {
    return unkId;
  }

  @Override
  public String toString() {
    return "TokenizerInfo{vocabSize=" + vocabSize + ", bosId=" + bosId + ", eosId=" + eosId + ", padId=" + padId
        + ", unkId=" + unkId + "}";
  }
}
