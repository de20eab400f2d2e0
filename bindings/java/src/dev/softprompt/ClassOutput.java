package dev.softprompt;

import dev.softprompt.internal.sp_class_output;

/** What {@link Adapter#classify} returns. */
public enum ClassOutput {
  /** The classification head's raw scores. */
  LOGITS(sp_class_output.SP_CLASS_LOGITS),
  /** Their softmax over the classes. */
  PROBABILITIES(sp_class_output.SP_CLASS_PROBABILITIES);

  final sp_class_output c;

  ClassOutput(sp_class_output c) {
    this.c = c;
  }
}
