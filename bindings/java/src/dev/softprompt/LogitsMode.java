package dev.softprompt;

import dev.softprompt.internal.sp_logits_mode;

/**
 * Which logits a forward pass returns. For a batch with a decoder side (encoder-decoder models) the
 * positions are the decoder's: ALL gives batchSize * decoderSeqLen * vocabSize values and LAST each
 * row's last decoder position (column decoderSeqLen - 1; decoder rows carry no mask).
 */
public enum LogitsMode {
  /**
   * batchSize * vocabSize values: for each row, the logits at its last position whose attention
   * mask is 1 (the next-token distribution).
   */
  LAST(sp_logits_mode.SP_LOGITS_LAST),
  /**
   * batchSize * seqLen * vocabSize values: the logits at every position of the caller's tokens
   * (virtual-token positions of prompt methods are not included).
   */
  ALL(sp_logits_mode.SP_LOGITS_ALL);

  final sp_logits_mode c;

  LogitsMode(sp_logits_mode c) {
    this.c = c;
  }
}
