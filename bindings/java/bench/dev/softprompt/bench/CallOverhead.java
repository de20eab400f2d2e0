package dev.softprompt.bench;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.LogitsMode;
import dev.softprompt.Model;

/**
 * The Java side of the binding-overhead benchmark: the two calls of bench/bench_call_overhead.c,
 * through the idiomatic API, with the same settings. The difference to the C figures is what the
 * binding costs per call.
 *   info    Adapter.info() on a prompt-tuning adapter (no tensor work: pure call cost)
 *   logits  Adapter.logits(batch, LAST, out): batch 1 x 8 tokens (ids 1..8), 4 virtual tokens
 *
 *   CallOverhead <model-folder> [info-calls] [logits-calls]
 *
 * Unlike C, Java first runs each call a while untimed, so that the JIT has compiled the binding
 * (otherwise the figure would mostly time the interpreter).
 */
public final class CallOverhead {
  private static final int INFO_WARM_UP = 20_000;
  private static final int LOGITS_WARM_UP = 50; // as the C benchmark

  private CallOverhead() {}

  public static void main(String[] args) {
    if (args.length < 1) {
      System.err.println("usage: CallOverhead <model-folder> [info-calls] [logits-calls]");
      System.exit(2);
    }
    int infoCalls = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
    int logitsCalls = args.length > 2 ? Integer.parseInt(args[2]) : 2_000;
    try (Model model = Model.open(args[0]);
        Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4))) {
      long sink = 0; // consumed below, so the JIT cannot drop the calls
      for (int i = 0; i < INFO_WARM_UP; ++i) {
        sink += adapter.info().numVirtualTokens();
      }
      long start = System.nanoTime();
      for (int i = 0; i < infoCalls; ++i) {
        sink += adapter.info().numVirtualTokens();
      }
      double infoNs = (double) (System.nanoTime() - start) / infoCalls;

      Batch batch = Batch.of(1, 8, 1, 2, 3, 4, 5, 6, 7, 8);
      float[] logits = new float[(int) model.info().vocabSize()];
      for (int i = 0; i < LOGITS_WARM_UP; ++i) {
        adapter.logits(batch, LogitsMode.LAST, logits);
      }
      start = System.nanoTime();
      for (int i = 0; i < logitsCalls; ++i) {
        adapter.logits(batch, LogitsMode.LAST, logits);
      }
      double logitsNs = (double) (System.nanoTime() - start) / logitsCalls;
      if (sink == 42) {
        System.err.println(logits[0]);
      }
      System.out.printf(java.util.Locale.ROOT, "{\"language\": \"java\", \"info_ns\": %.1f, \"logits_ns\": %.1f}%n",
          infoNs, logitsNs);
    }
  }
}
