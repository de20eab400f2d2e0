package dev.softprompt;

/**
 * Prompts of different lengths as the binding layer takes them (sp_prompts): every prompt's ids
 * one after another, their lengths, optional task ids and optional adapters. Java checks only what
 * cannot cross to C (nulls); the library checks the rest (an empty prompt, ids outside the
 * vocabulary, arrays that are not one per prompt).
 */
final class Prompts {
  final int[] ids;
  final int[] lengths;
  final int[] taskIds; // null: not given
  final Adapter[] adapters; // null: the context's adapter for every row

  private Prompts(int[] ids, int[] lengths, int[] taskIds, Adapter[] adapters) {
    this.ids = ids;
    this.lengths = lengths;
    this.taskIds = taskIds;
    this.adapters = adapters;
  }

  static Prompts of(int[][] prompts, int[] taskIds) {
    return of(prompts, taskIds, null);
  }

  static Prompts of(int[][] prompts, int[] taskIds, Adapter[] adapters) {
    Checks.notNull(prompts, "prompts");
    long total = 0;
    for (int[] prompt : prompts) {
      total += Checks.notNull(prompt, "a prompt").length;
    }
    int[] ids = new int[Checks.arrayLength(total, "the prompts' ids", "ids")];
    int[] lengths = new int[prompts.length];
    int at = 0;
    for (int i = 0; i < prompts.length; ++i) {
      System.arraycopy(prompts[i], 0, ids, at, prompts[i].length);
      at += prompts[i].length;
      lengths[i] = prompts[i].length;
    }
    return new Prompts(ids, lengths, taskIds == null ? null : taskIds.clone(),
        adapters == null ? null : adapters.clone());
  }

  /** The ids of texts, each encoded by tokenizer as tokenizers encodes by default (or without special tokens). */
  static int[][] encode(Tokenizer tokenizer, String[] texts, boolean addSpecialTokens) {
    Checks.notNull(texts, "texts");
    int[][] ids = new int[texts.length][];
    for (int i = 0; i < texts.length; ++i) {
      ids[i] = tokenizer.encode(Checks.notNull(texts[i], "a text"), addSpecialTokens);
    }
    return ids;
  }

  int count() {
    return lengths.length;
  }
}
