package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.Context;
import dev.softprompt.ContextOptions;
import dev.softprompt.GenerateOptions;
import dev.softprompt.Generation;
import dev.softprompt.LogitsMode;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.ModelInfo;
import dev.softprompt.PromptInit;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.TaskType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Encoder-decoder models through Java, on the tiny T5 (v1: relu, tied and scaled output) of the
 * t5_reference fixture (tests/reference/t5_reference.py): the model information, the base model's
 * decoder logits and loss on a batch with a decoder side, greedy generation from the encoder's
 * prompts, a SEQ_2_SEQ_LM prompt-tuning adapter against PEFT, and the refusals the decoder side
 * brings.
 */
public class Seq2SeqTest {
  // t5_reference.py's constants: 3 rows of 22 encoder tokens (real lengths 22, 13, 3), 5 decoder
  // targets per row, 6 generated tokens; encoder_reference.py's SEED and NUM_VIRTUAL_TOKENS; T5's
  // pad (= decoder start) and eos ids.
  private static final int ROWS = 3;
  private static final int SEQ = 22;
  private static final int TARGETS = 5;
  private static final int NEW_TOKENS = 6;
  private static final int NUM_VIRTUAL_TOKENS = 4;
  private static final long SEED = 11;
  private static final int PAD_ID = 0;
  private static final int EOS_ID = 1;
  private static final int D_FF = 48; // models/t5/config.json's d_ff (not in sp_model_info)

  private static Path reference;
  private static Model t5;
  private static Batch batch;

  @BeforeClass
  public static void openT5() throws IOException {
    reference = TestSupport.t5ReferenceFolder();
    t5 = Model.open(reference.resolve("models/t5").toString());
    Path data = reference.resolve("t5");
    batch = Batch.builder(ROWS, SEQ).inputIds(TestSupport.readInts(data.resolve("input_ids.i32")))
        .attentionMask(TestSupport.readInts(data.resolve("attention_mask.i32"))).decoderSeqLen(TARGETS)
        .labels(TestSupport.readInts(data.resolve("labels.i32"))).build();
  }

  @AfterClass
  public static void closeT5() {
    t5.close();
  }

  @Test
  public void t5InfoSaysEncoderDecoder() {
    ModelInfo info = t5.info();
    assertEquals("t5", info.modelType());
    assertTrue(info.isEncoderDecoder());
    assertTrue(info.hasLmHead());
    assertEquals(2, info.numLayers());
    assertEquals(2, info.numDecoderLayers());
    assertEquals(PAD_ID, info.decoderStartTokenId());
    assertEquals(96, info.vocabSize());
    assertEquals(32, info.hiddenSize());
  }

  @Test
  public void decoderOnlyModelsReportNoDecoderSide() {
    try (Model llama = TestSupport.openModel()) {
      ModelInfo info = llama.info();
      assertFalse(info.isEncoderDecoder());
      assertEquals(0, info.numDecoderLayers());
      assertEquals(-1, info.decoderStartTokenId());
    }
  }

  @Test
  public void baseLogitsAndLossAreTransformers() throws IOException {
    assertEquals((long) ROWS * TARGETS * t5.info().vocabSize(), t5.logitsCount(batch, LogitsMode.ALL));
    float[] logits = t5.logits(batch, LogitsMode.ALL);
    float[] expected = TestSupport.readFloats(reference.resolve("t5/base_logits.f32"));
    double forward = t5ForwardLength(0);
    TestSupport.assertWithinToleranceRule("base logits", expected, logits, forward);

    float[] loss = TestSupport.readFloats(reference.resolve("t5/base_loss.f32"));
    TestSupport.assertWithinToleranceRule("base loss", loss, new float[] {t5.evalLoss(batch).meanLoss()},
        lossLength(forward));
  }

  /**
   * LAST is each row's last decoder position (the output layer over fewer rows may round
   * differently: the tolerance rule); explicit decoder inputs equal to the shifted labels give the
   * same logits.
   */
  @Test
  public void lastLogitsAndExplicitDecoderInputsAgreeWithAll() throws IOException {
    int vocab = (int) t5.info().vocabSize();
    float[] all = t5.logits(batch, LogitsMode.ALL);
    float[] last = t5.logits(batch, LogitsMode.LAST);
    assertEquals(ROWS * vocab, last.length);
    float[] lastOfAll = new float[ROWS * vocab];
    for (int row = 0; row < ROWS; ++row) {
      System.arraycopy(all, (row * TARGETS + TARGETS - 1) * vocab, lastOfAll, row * vocab, vocab);
    }
    TestSupport.assertWithinToleranceRule("LAST logits", lastOfAll, last, t5ForwardLength(0));

    int[] decoderInputs = TestSupport.readInts(reference.resolve("t5/decoder_input_ids.i32"));
    Batch explicit = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).attentionMask(batch.attentionMask())
        .decoderSeqLen(TARGETS).decoderInputIds(decoderInputs).build();
    assertArrayEquals(all, t5.logits(explicit, LogitsMode.ALL), 0f);

    // Other decoder inputs give other logits: the array reaches the library.
    decoderInputs[1] = decoderInputs[1] == 5 ? 6 : 5;
    Batch changed = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).attentionMask(batch.attentionMask())
        .decoderSeqLen(TARGETS).decoderInputIds(decoderInputs).build();
    assertFalse(Arrays.equals(all, t5.logits(changed, LogitsMode.ALL)));
  }

  @Test
  public void greedyGenerationIsTransformers() throws IOException {
    assertGeneratesAsReference(null, reference.resolve("t5/base_generated.i32"));
  }

  /**
   * A SEQ_2_SEQ_LM prompt-tuning adapter: PEFT's 2n starting rows for the same seed, its logits and
   * loss, and its greedy generation.
   */
  @Test
  public void promptTuningAdapterStartsAndScoresAsPeft() throws IOException {
    AdapterOptions options = new AdapterOptions().method(Method.PROMPT_TUNING).init(PromptInit.RANDOM)
        .numVirtualTokens(NUM_VIRTUAL_TOKENS).seed(SEED).taskType(TaskType.SEQ_2_SEQ_LM);
    try (Adapter adapter = Adapter.create(t5, options)) {
      assertEquals(TaskType.SEQ_2_SEQ_LM, adapter.info().taskType());
      Path folder = reference.resolve("t5/prompt");
      float[] table = adapter.parameter("embedding.weight");
      assertEquals(2 * NUM_VIRTUAL_TOKENS * 32, table.length);
      assertArrayEquals(TestSupport.readFloats(folder.resolve("init__embedding.weight.f32")), table, 0f);

      // The first n of the 2n rows go in front of the encoder's input.
      double forward = t5ForwardLength(NUM_VIRTUAL_TOKENS);
      TestSupport.assertWithinToleranceRule("prompt logits", TestSupport.readFloats(folder.resolve("logits.f32")),
          adapter.logits(batch, LogitsMode.ALL), forward);
      TestSupport.assertWithinToleranceRule("prompt loss", TestSupport.readFloats(folder.resolve("loss.f32")),
          new float[] {adapter.evalLoss(batch).meanLoss()}, lossLength(forward));

      // Generation reads the first n rows into the encoder too: PEFT's generate.
      assertGeneratesAsReference(adapter, folder.resolve("generated.i32"));
    }
  }

  @Test
  public void refusalsMapToTheirStatuses() {
    // A decoder side on a decoder-only model.
    try (Model llama = TestSupport.openModel()) {
      int[] ids = new int[2 * 4];
      Arrays.fill(ids, 5);
      Batch withDecoderLength = Batch.builder(2, 4).inputIds(ids).decoderSeqLen(3).build();
      SoftPromptException e =
          assertThrows(SoftPromptException.class, () -> llama.logits(withDecoderLength, LogitsMode.ALL));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage(), e.nativeMessage().contains("decoder"));
      Batch withDecoderInputs = Batch.builder(2, 4).inputIds(ids).decoderInputIds(1, 2, 3, 4, 5, 6).build();
      assertEquals(Status.INVALID_ARGUMENT,
          assertThrows(SoftPromptException.class, () -> llama.evalLoss(withDecoderInputs)).status());
    }

    // Decoder inputs whose count is not batchSize * decoderSeqLen.
    Batch shortInputs = Batch.builder(ROWS, SEQ).inputIds(batch.inputIds()).decoderSeqLen(TARGETS)
        .decoderInputIds(0, 1, 2).build();
    assertEquals(Status.SHAPE_MISMATCH,
        assertThrows(SoftPromptException.class, () -> t5.logits(shortInputs, LogitsMode.ALL)).status());

    // SEQ_2_SEQ_LM is the only task T5 takes (the default, CAUSAL_LM, included), and only T5 takes it.
    AdapterOptions seqCls = new AdapterOptions().numVirtualTokens(NUM_VIRTUAL_TOKENS).seed(SEED)
        .taskType(TaskType.SEQ_CLS).numLabels(2);
    assertEquals(Status.UNSUPPORTED, assertThrows(SoftPromptException.class, () -> Adapter.create(t5, seqCls)).status());
    AdapterOptions causalLm = new AdapterOptions().numVirtualTokens(NUM_VIRTUAL_TOKENS).seed(SEED);
    assertEquals(Status.UNSUPPORTED,
        assertThrows(SoftPromptException.class, () -> Adapter.create(t5, causalLm)).status());
    try (Model llama = TestSupport.openModel()) {
      AdapterOptions seq2seq = new AdapterOptions().numVirtualTokens(NUM_VIRTUAL_TOKENS).seed(SEED)
          .taskType(TaskType.SEQ_2_SEQ_LM);
      assertEquals(Status.UNSUPPORTED,
          assertThrows(SoftPromptException.class, () -> Adapter.create(llama, seq2seq)).status());
    }

    // Scoring continuations is for decoder-only models.
    try (Context context = Context.create(t5, null, new ContextOptions().maxLength(32))) {
      assertEquals(Status.UNSUPPORTED, assertThrows(SoftPromptException.class,
          () -> context.score(new int[][] {{5, 6, 7}}, new int[][] {{8, 9}})).status());
    }
  }

  /**
   * Greedy generation of NEW_TOKENS tokens from the batch's rows (their real tokens, as the
   * encoder's prompts) equals the reference's ids up to and including a first eos.
   */
  private static void assertGeneratesAsReference(Adapter adapter, Path expectedFile) throws IOException {
    int[] expected = TestSupport.readInts(expectedFile);
    try (Context context = Context.create(t5, adapter, new ContextOptions().maxBatchSize(ROWS).maxLength(32))) {
      Generation generation = context.generate(realTokens(batch), new GenerateOptions().maxNewTokens(NEW_TOKENS));
      for (int row = 0; row < ROWS; ++row) {
        int[] wanted = untilEos(Arrays.copyOfRange(expected, row * NEW_TOKENS, (row + 1) * NEW_TOKENS));
        assertArrayEquals(expectedFile + " row " + row, wanted, generation.ids(row));
      }
    }
  }

  /**
   * The reduction length tests/c/test_seq2seq_conformance.c states for T5 under the tolerance rule:
   * twice the decoder-only forward length over every position of the call (the encoder's input, a
   * prompt method's 2n virtual tokens, the decoder's positions), for two stacks whose attention (self
   * and cross) reads at most that many keys.
   */
  private static double t5ForwardLength(int virtualTokens) {
    ModelInfo info = t5.info();
    return 2.0 * TestSupport.forwardLength(info.numLayers(), info.hiddenSize(), info.numAttentionHeads(),
        info.headDim(), D_FF, SEQ + TARGETS + 2 * virtualTokens, 0);
  }

  /** A mean cross-entropy over the logits: the log-sum-exp over the vocabulary, then the mean. */
  private static double lossLength(double forward) {
    return forward + t5.info().vocabSize() + ROWS * TARGETS;
  }

  /** Each row's real tokens (attention mask 1): the prompts as a user gives them, unpadded. */
  private static int[][] realTokens(Batch padded) {
    int[] ids = padded.inputIds();
    int[] mask = padded.attentionMask();
    int[][] rows = new int[padded.batchSize()][];
    for (int row = 0; row < rows.length; ++row) {
      final int first = row * padded.seqLen();
      rows[row] = java.util.stream.IntStream.range(first, first + padded.seqLen()).filter(i -> mask[i] == 1)
          .map(i -> ids[i]).toArray();
    }
    return rows;
  }

  /** ids up to and including the first eos (the row stops there), or all of them. */
  private static int[] untilEos(int[] ids) {
    for (int i = 0; i < ids.length; ++i) {
      if (ids[i] == EOS_ID) {
        return Arrays.copyOf(ids, i + 1);
      }
    }
    return ids;
  }
}
