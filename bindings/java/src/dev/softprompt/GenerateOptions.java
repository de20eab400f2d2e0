package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_generate_params;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * How to choose tokens and when to stop (every field of sp_generate_params). A new instance holds
 * the C library's defaults: greedy, 32 new tokens, stop at the model's end-of-sequence ids.
 *
 * <p>Sampling follows transformers' generate: greedy (argmax, the lowest id on ties) unless
 * doSample; the repetition penalty applies in both; with doSample, temperature, topK, topP and
 * minP apply in that order, then a token is drawn. The library checks the ranges (a value out of
 * range throws {@link SoftPromptException} with INVALID_ARGUMENT naming the field).
 */
public final class GenerateOptions {
  private int maxNewTokens;
  private boolean doSample;
  private float temperature;
  private int topK;
  private float topP;
  private float minP;
  private float repetitionPenalty;
  private long seed;
  private boolean useModelEos;
  private int[] stopIds = new int[0];
  private List<String> stopStrings = Collections.emptyList();
  private boolean skipSpecialTokens;

  public GenerateOptions() {
    sp_generate_params defaults = SoftPromptNative.sp_generate_default_params();
    try {
      maxNewTokens = defaults.getMax_new_tokens();
      doSample = defaults.getDo_sample() != 0;
      temperature = defaults.getTemperature();
      topK = defaults.getTop_k();
      topP = defaults.getTop_p();
      minP = defaults.getMin_p();
      repetitionPenalty = defaults.getRepetition_penalty();
      seed = defaults.getSeed();
      useModelEos = defaults.getUse_model_eos() != 0;
      skipSpecialTokens = defaults.getSkip_special_tokens() != 0;
    } finally {
      defaults.delete();
    }
  }

  /** Tokens to generate per row at most, >= 1; default 32. */
  public int maxNewTokens() {
    return maxNewTokens;
  }

  public GenerateOptions maxNewTokens(int maxNewTokens) {
    this.maxNewTokens = maxNewTokens;
    return this;
  }

  /** false (default): greedy; true: sample with temperature, topK, topP, minP and the seed. */
  public boolean doSample() {
    return doSample;
  }

  public GenerateOptions doSample(boolean doSample) {
    this.doSample = doSample;
    return this;
  }

  /** > 0; default 1 (off). Sampling only. */
  public float temperature() {
    return temperature;
  }

  public GenerateOptions temperature(float temperature) {
    this.temperature = temperature;
    return this;
  }

  /** Keep the k most likely tokens (ties with the k-th kept); 0 = off; default 50. Sampling only. */
  public int topK() {
    return topK;
  }

  public GenerateOptions topK(int topK) {
    this.topK = topK;
    return this;
  }

  /** Keep the smallest set of most likely tokens whose probability exceeds topP, in (0, 1]; default 1 (off). */
  public float topP() {
    return topP;
  }

  public GenerateOptions topP(float topP) {
    this.topP = topP;
    return this;
  }

  /** Drop tokens less likely than minP times the most likely, in [0, 1]; default 0 (off). */
  public float minP() {
    return minP;
  }

  public GenerateOptions minP(float minP) {
    this.minP = minP;
    return this;
  }

  /** > 0; logits of tokens already in the row are divided by it (multiplied when negative); default 1 (off). */
  public float repetitionPenalty() {
    return repetitionPenalty;
  }

  public GenerateOptions repetitionPenalty(float repetitionPenalty) {
    this.repetitionPenalty = repetitionPenalty;
    return this;
  }

  /**
   * Sampling seed, an unsigned 64-bit value in C (pass the long with the same bits): the same seed
   * and inputs give the same tokens on any thread. Default 0.
   */
  public long seed() {
    return seed;
  }

  public GenerateOptions seed(long seed) {
    this.seed = seed;
    return this;
  }

  /** true (default): stop a row at the model's end-of-sequence ids ({@link Model#eosIds()}); false: only at stopIds. */
  public boolean useModelEos() {
    return useModelEos;
  }

  public GenerateOptions useModelEos(boolean useModelEos) {
    this.useModelEos = useModelEos;
    return this;
  }

  /** More end-of-sequence ids (a copy). */
  public int[] stopIds() {
    return stopIds.clone();
  }

  public GenerateOptions stopIds(int... stopIds) {
    this.stopIds = Checks.notNull(stopIds, "stopIds").clone();
    return this;
  }

  /**
   * Strings that stop a row once its generated text (special tokens left out) contains one;
   * non-empty and without U+0000; they need the model's tokenizer.
   */
  public List<String> stopStrings() {
    return stopStrings;
  }

  public GenerateOptions stopStrings(String... stopStrings) {
    Checks.notNull(stopStrings, "stopStrings");
    for (String s : stopStrings) {
      // The strings cross as one byte array of NUL-terminated strings: a NUL inside one would
      // silently split it in two.
      if (Checks.notNull(s, "a stop string").indexOf('\0') >= 0) {
        throw new IllegalArgumentException(
            "softprompt: a stop string holds U+0000: \"" + s.replace("\0", "\\0") + "\"");
      }
    }
    this.stopStrings = Collections.unmodifiableList(Arrays.asList(stopStrings.clone()));
    return this;
  }

  /** true (default): special tokens add no text to events; false: their text too. */
  public boolean skipSpecialTokens() {
    return skipSpecialTokens;
  }

  public GenerateOptions skipSpecialTokens(boolean skipSpecialTokens) {
    this.skipSpecialTokens = skipSpecialTokens;
    return this;
  }

  /** A native copy without the arrays (struct_size set by the library); the caller deletes it. */
  sp_generate_params toNative() {
    sp_generate_params params = SoftPromptNative.sp_generate_default_params();
    params.setMax_new_tokens(maxNewTokens);
    params.setDo_sample(doSample ? 1 : 0);
    params.setTemperature(temperature);
    params.setTop_k(topK);
    params.setTop_p(topP);
    params.setMin_p(minP);
    params.setRepetition_penalty(repetitionPenalty);
    params.setSeed(seed);
    params.setUse_model_eos(useModelEos ? 1 : 0);
    params.setSkip_special_tokens(skipSpecialTokens ? 1 : 0);
    return params;
  }

  /** The stop strings as the binding layer takes them: UTF-8, each followed by a NUL ("a\0b\0"). */
  byte[] stopStringBytes() {
    ByteArrayOutputStream joined = new ByteArrayOutputStream();
    for (String s : stopStrings) {
      byte[] bytes = Utf8.encode(s);
      joined.write(bytes, 0, bytes.length);
      joined.write(0);
    }
    return joined.toByteArray();
  }

  @Override
  public String toString() {
    return "GenerateOptions{maxNewTokens=" + maxNewTokens + ", doSample=" + doSample + ", temperature=" + temperature
        + ", topK=" + topK + ", topP=" + topP + ", minP=" + minP + ", repetitionPenalty=" + repetitionPenalty
        + ", seed=" + seed + ", useModelEos=" + useModelEos + ", stopIds=" + Arrays.toString(stopIds)
        + ", stopStrings=" + stopStrings + ", skipSpecialTokens=" + skipSpecialTokens + "}";
  }
}
