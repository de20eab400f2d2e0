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
import dev.softprompt.Evaluation;
import dev.softprompt.GenerateOptions;
import dev.softprompt.Generation;
import dev.softprompt.LogitsMode;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.ModelInfo;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;

/**
 * Serving many adapters through Java (issue 14): batches whose rows name their own adapters
 * ({@link Batch.Builder#rowAdapters}) and prompts that do (the Adapter[] overloads of Context) give
 * each row what it gets alone with its adapter; adapter versions; the errors of the new arrays; and
 * close() still freeing at once. Expected values come from the same library called row by row
 * (Adapter.logits, Model.logits, a context created with the row's adapter), compared with the
 * suites' tolerance rule (tests/c/tolerance_rule.h): the mixed batch sums in another order (other
 * padding, per-row key/value prefixes), never other values.
 */
public class MixedAdaptersTest {
  /** The tiny llama's intermediate_size (make_tiny_model's default; not in sp_model_info). */
  private static final int INTERMEDIATE_SIZE = 128;
  private static final int MAX_VIRTUAL_TOKENS = 6;

  private static Model model;
  private static Adapter promptTuning;
  private static Adapter prefixTuning;

  @BeforeClass
  public static void open() {
    model = TestSupport.openModel();
    promptTuning = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(3));
    prefixTuning = Adapter.create(model,
        new AdapterOptions().method(Method.PREFIX_TUNING).numVirtualTokens(MAX_VIRTUAL_TOKENS).seed(4));
  }

  @AfterClass
  public static void close() {
    prefixTuning.close();
    promptTuning.close();
    model.close();
  }

  /** n ids in [3, 253) from the LCG of the other tests. */
  private static int[] ids(int seed, int n) {
    int[] ids = new int[n];
    int state = seed;
    for (int i = 0; i < n; ++i) {
      state = state * 1103515245 + 12345;
      ids[i] = 3 + (int) (Integer.toUnsignedLong(state >>> 10) % 250);
    }
    return ids;
  }

  /** The tolerance rule's reduction length of one forward pass of the model over keys positions. */
  private static double forwardLength(int keys) {
    ModelInfo info = model.info();
    return TestSupport.forwardLength(info.numLayers(), info.hiddenSize(), info.numAttentionHeads(), info.headDim(),
        INTERMEDIATE_SIZE, keys, 0);
  }

  private static float[] aloneLogits(Adapter adapter, Batch row) {
    return adapter == null ? model.logits(row, LogitsMode.ALL) : adapter.logits(row, LogitsMode.ALL);
  }

  private static Evaluation aloneEvaluation(Adapter adapter, Batch row) {
    return adapter == null ? model.evalLoss(row) : adapter.evalLoss(row);
  }

  private static GenerateOptions greedy(int tokens) {
    return new GenerateOptions().maxNewTokens(tokens).useModelEos(false);
  }

  private static void assertStatus(Status status, ThrowingRunnable call) {
    assertEquals(status, assertThrows(SoftPromptException.class, call).status());
  }

  /**
   * One batch mixes a prompt-tuning row, a prefix-tuning row (another virtual-token count), a row
   * without any soft prompt and the prompt-tuning adapter again: every row's logits (at every
   * position) and log-likelihood are those of the row alone.
   */
  @Test
  public void mixedBatchRowsEqualEachRowAlone() {
    int rows = 4;
    int seqLen = 7;
    Adapter[] adapters = {promptTuning, prefixTuning, null, promptTuning};
    int[] inputIds = ids(21, rows * seqLen);
    Batch batch = Batch.builder(rows, seqLen).inputIds(inputIds).rowAdapters(adapters).build();
    int vocab = (int) model.info().vocabSize();
    double forward = forwardLength(seqLen + MAX_VIRTUAL_TOKENS);

    float[] mixed = model.logits(batch, LogitsMode.ALL);
    assertEquals(rows * seqLen * vocab, mixed.length);
    Evaluation evaluation = model.evalLoss(batch);
    for (int r = 0; r < rows; ++r) {
      Batch row = Batch.of(1, seqLen, Arrays.copyOfRange(inputIds, r * seqLen, (r + 1) * seqLen));
      TestSupport.assertWithinToleranceRule("logits of row " + r, aloneLogits(adapters[r], row),
          Arrays.copyOfRange(mixed, r * seqLen * vocab, (r + 1) * seqLen * vocab), forward);
      TestSupport.assertWithinToleranceRule("log-likelihood of row " + r,
          aloneEvaluation(adapters[r], row).rowLogLikelihoods(),
          new float[] {evaluation.rowLogLikelihoods()[r]}, forward + vocab + seqLen + 1);
    }
    float[] base = aloneLogits(null, Batch.of(1, seqLen, Arrays.copyOfRange(inputIds, 0, seqLen)));
    assertFalse("row 0 has the base model's logits: its adapter was not applied",
        Arrays.equals(base, Arrays.copyOfRange(mixed, 0, seqLen * vocab)));
  }

  /**
   * Prompts with their own adapters on a context created with another one: a prefix-tuning row, a
   * row of the base model (null entry) and a row of the context's own adapter generate, greedily,
   * the tokens each prompt generates alone on a context of its adapter; prefill and score agree
   * with those contexts too.
   */
  @Test
  public void promptAdaptersGenerateWhatEachPromptGeneratesAlone() {
    Adapter[] adapters = {prefixTuning, null, promptTuning};
    int[][] prompts = {ids(5, 3), ids(6, 6), ids(7, 9)};
    int[][] continuations = {ids(8, 2), ids(9, 3), ids(10, 4)};
    int vocab = (int) model.info().vocabSize();
    try (Context context =
             Context.create(model, promptTuning, new ContextOptions().maxBatchSize(3).maxLength(64))) {
      Generation generation = context.generate(prompts, null, adapters, greedy(10), null);
      float[] logits = context.prefill(prompts, null, adapters);
      float[] scores = context.score(prompts, null, adapters, continuations);
      for (int r = 0; r < adapters.length; ++r) {
        try (Context alone = Context.create(model, adapters[r], new ContextOptions().maxLength(64))) {
          int[][] prompt = {prompts[r]};
          assertArrayEquals("row " + r + " generated", alone.generate(prompt, greedy(10)).ids(0), generation.ids(r));
          double forward = forwardLength(prompts[r].length + continuations[r].length + MAX_VIRTUAL_TOKENS);
          TestSupport.assertWithinToleranceRule("prefill logits of row " + r, alone.prefill(prompt),
              Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab), forward);
          TestSupport.assertWithinToleranceRule("score of row " + r,
              alone.score(prompt, new int[][] {continuations[r]}), new float[] {scores[r]},
              forward + vocab + continuations[r].length);
        }
      }
      assertFalse("the three rows generated the same tokens: the test does not tell the adapters apart",
          Arrays.equals(generation.ids(0), generation.ids(2)) && Arrays.equals(generation.ids(1), generation.ids(2)));
    }
  }

  /** An adapter's version is 1 or more once created, and grows with each trainer step that updates it. */
  @Test
  public void adapterVersionGrowsWithTraining() {
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(1));
        Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
      long created = adapter.info().version();
      assertTrue("version " + created + " after create", Long.compareUnsigned(created, 1) >= 0);
      assertTrue("the step updated the adapter", trainer.step(TestSupport.taskBatch()).updated());
      long trained = adapter.info().version();
      assertTrue("version " + trained + " after a step, from " + created, Long.compareUnsigned(trained, created) > 0);
    }
  }

  /**
   * The new arrays fail the library's way: another length than one per row or prompt is
   * SHAPE_MISMATCH, an adapter of another model INVALID_ARGUMENT; a closed adapter is the binding's
   * IllegalStateException, as for every closed object; adapter calls refuse row adapters.
   */
  @Test
  public void mixedAdapterErrors() {
    try (Model other = TestSupport.openModel();
        Adapter foreign = Adapter.create(other, new AdapterOptions().numVirtualTokens(4));
        Context context = Context.create(model, null, new ContextOptions().maxBatchSize(2).maxLength(32))) {
      Adapter closed = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(2));
      closed.close();
      int[] inputIds = ids(3, 2 * 5);
      assertStatus(Status.SHAPE_MISMATCH,
          () -> model.logits(Batch.builder(2, 5).inputIds(inputIds).rowAdapters(promptTuning).build(), LogitsMode.LAST));
      assertStatus(Status.SHAPE_MISMATCH, () -> model.evalLoss(
          Batch.builder(2, 5).inputIds(inputIds).rowAdapters(promptTuning, prefixTuning, null).build()));
      assertStatus(Status.INVALID_ARGUMENT, () -> model.logits(
          Batch.builder(2, 5).inputIds(inputIds).rowAdapters(promptTuning, foreign).build(), LogitsMode.LAST));
      assertStatus(Status.INVALID_ARGUMENT,
          () -> model.hiddenStates(Batch.builder(2, 5).inputIds(inputIds).rowAdapters(foreign, null).build()));
      IllegalStateException closedRow = assertThrows(IllegalStateException.class, () -> model.logits(
          Batch.builder(2, 5).inputIds(inputIds).rowAdapters(closed, prefixTuning).build(), LogitsMode.LAST));
      assertTrue(closedRow.getMessage(), closedRow.getMessage().contains("Adapter is closed"));
      assertStatus(Status.INVALID_ARGUMENT, () -> promptTuning.logits(
          Batch.builder(2, 5).inputIds(inputIds).rowAdapters(prefixTuning, null).build(), LogitsMode.LAST));

      int[][] prompts = {ids(4, 3), ids(5, 4)};
      assertStatus(Status.SHAPE_MISMATCH,
          () -> context.generate(prompts, null, new Adapter[] {prefixTuning}, greedy(2), null));
      assertStatus(Status.SHAPE_MISMATCH,
          () -> context.prefill(prompts, null, new Adapter[] {prefixTuning, null, promptTuning}));
      assertStatus(Status.INVALID_ARGUMENT,
          () -> context.score(prompts, null, new Adapter[] {foreign, null}, new int[][] {{7}, {8}}));
      assertThrows(IllegalStateException.class,
          () -> context.iterator(prompts, null, new Adapter[] {null, closed}, greedy(2)));
      // After the failures, the same calls with valid adapters work.
      model.logits(Batch.builder(2, 5).inputIds(inputIds).rowAdapters(promptTuning, null).build(), LogitsMode.LAST);
      assertEquals(2, context.generate(prompts, null, new Adapter[] {prefixTuning, null}, greedy(2), null).rows());
    }
  }

  /**
   * A mixed call holds its adapters only while it runs: closing one right after frees it (later
   * calls naming it throw IllegalStateException), closing twice does nothing, and closing while
   * other threads make mixed calls with it waits for them (each call succeeds or sees it closed).
   */
  @Test
  public void mixedCallsLeaveAdaptersToClose() throws Exception {
    Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(9));
    Batch batch = Batch.builder(2, 6).inputIds(ids(11, 12)).rowAdapters(adapter, prefixTuning).build();
    int[][] prompts = {ids(12, 3), ids(13, 5)};
    Adapter[] adapters = {prefixTuning, adapter};
    try (Context context = Context.create(model, null, new ContextOptions().maxBatchSize(2).maxLength(32))) {
      model.logits(batch, LogitsMode.LAST);
      context.prefill(prompts, null, adapters);

      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread[] callers = new Thread[4];
      for (int i = 0; i < callers.length; ++i) {
        callers[i] = new Thread(() -> {
          try {
            for (int call = 0; call < 20; ++call) {
              model.logits(batch, LogitsMode.LAST);
            }
          } catch (IllegalStateException closed) {
            // the adapter was closed between two calls
          } catch (Throwable t) {
            failure.compareAndSet(null, t);
          }
        });
        callers[i].start();
      }
      Thread.sleep(5);
      adapter.close();
      adapter.close();
      for (Thread caller : callers) {
        caller.join(30_000);
        assertFalse("a calling thread did not stop", caller.isAlive());
      }
      assertEquals(null, failure.get());
      assertTrue(adapter.isClosed());
      assertThrows(IllegalStateException.class, () -> model.logits(batch, LogitsMode.LAST));
      assertThrows(IllegalStateException.class, () -> context.prefill(prompts, null, adapters));
      assertThrows(IllegalStateException.class, adapter::info);
    }
  }

  /**
   * Cycles of creating a large prefix-tuning adapter, serving it in a mixed batch and in a context
   * call, and closing it do not grow the RSS: the binding releases every adapter it holds for a
   * call, so close() frees it. Each adapter holds 128 virtual tokens (a prefix of 64 KiB: 128 x 2
   * layers x keys and values x 32 floats, and what is compiled from it): the same cycles with the
   * adapters left open grew the RSS by about 25 MiB (measured in Go); the bound, 8 MiB, leaves room
   * for allocator and JIT noise. The JVM's heap is fixed and pre-touched (see MemoryTest), so what grows is native.
   */
  @Test
  public void mixedCallCyclesDoNotGrowTheRss() throws IOException {
    AdapterOptions options = new AdapterOptions().method(Method.PREFIX_TUNING).numVirtualTokens(128);
    int[] inputIds = ids(14, 2 * 4);
    int[][] prompts = {ids(15, 4)};
    float[] out = new float[2 * (int) model.info().vocabSize()];
    try (Context context = Context.create(model, null, new ContextOptions().maxLength(16))) {
      for (int i = 0; i < 100; ++i) {
        cycle(options.seed(i), inputIds, prompts, context, out);
      }
      long before = MemoryTest.rssKib();
      int cycles = 500;
      for (int i = 0; i < cycles; ++i) {
        cycle(options.seed(i), inputIds, prompts, context, out);
      }
      long growth = MemoryTest.rssKib() - before;
      long bound = 8 * 1024;
      System.out.printf("    RSS growth over %d mixed-call cycles: %d KiB (bound %d KiB)%n", cycles, growth, bound);
      assertTrue("RSS grew by " + growth + " KiB", growth < bound);
    }
  }

  private static void cycle(AdapterOptions options, int[] inputIds, int[][] prompts, Context context, float[] out) {
    try (Adapter adapter = Adapter.create(model, options)) {
      model.logits(Batch.builder(2, 4).inputIds(inputIds).rowAdapters(adapter, null).build(), LogitsMode.LAST, out);
      context.prefill(prompts, null, new Adapter[] {adapter});
    }
  }
}
