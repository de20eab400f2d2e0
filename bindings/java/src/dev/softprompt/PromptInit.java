package dev.softprompt;

import dev.softprompt.internal.sp_prompt_init;

/**
 * How a prompt table starts (PEFT's PromptTuningInit and MultitaskPromptTuningInit). Prefix tuning
 * and P-tuning accept only {@link #RANDOM}.
 */
public enum PromptInit {
  /** N(0, 1). */
  RANDOM(sp_prompt_init.SP_INIT_RANDOM),
  /** Prompt tuning: embeddings of ids drawn uniformly from the vocabulary. */
  SAMPLE_VOCAB(sp_prompt_init.SP_INIT_SAMPLE_VOCAB),
  /** Prompt tuning, MPT: embeddings of {@link AdapterOptions#initTokenIds}, cut or repeated. */
  TEXT(sp_prompt_init.SP_INIT_TEXT),
  /** MPT: the source table, task factors averaged over the source tasks. */
  AVERAGE_SOURCE_TASKS(sp_prompt_init.SP_INIT_AVERAGE_SOURCE_TASKS),
  /** MPT: the source table and the factors of {@link AdapterOptions#sourceTask}. */
  EXACT_SOURCE_TASK(sp_prompt_init.SP_INIT_EXACT_SOURCE_TASK),
  /** MPT: the source table; factors random. */
  ONLY_SOURCE_SHARED(sp_prompt_init.SP_INIT_ONLY_SOURCE_SHARED);

  final sp_prompt_init c;

  PromptInit(sp_prompt_init c) {
    this.c = c;
  }

  static PromptInit of(sp_prompt_init c) {
    return NativeEnums.of(values(), constant -> constant.c, c, "prompt init");
  }
}
