package dev.softprompt.tests;

import static org.junit.Assert.assertNull;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.LogitsMode;
import dev.softprompt.Model;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.Test;

/** Threads share one model: each trains its own adapter, and gets what it gets alone. */
public class ThreadsTest {
  private static final int STEPS = 15;

  /** Trains a fresh adapter with this seed on model; returns its table (bit-reproducible on CPU). */
  private static float[] train(Model model, long seed) {
    Batch batch = TestSupport.taskBatch();
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(8).seed(seed));
        Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
      for (int i = 0; i < STEPS; ++i) {
        trainer.step(batch);
      }
      return adapter.parameter("embedding.weight");
    }
  }

  @Test
  public void twoThreadsTrainTheirOwnAdaptersOnOneModel() throws Exception {
    try (Model model = TestSupport.openModel()) {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<float[]> first = pool.submit(() -> train(model, 11));
        Future<float[]> second = pool.submit(() -> train(model, 12));
        float[] parallel11 = first.get();
        float[] parallel12 = second.get();
        // The same as training alone, one after the other: nothing leaked between the threads.
        ReferenceTest.assertBitsEqual(train(model, 11), parallel11);
        ReferenceTest.assertBitsEqual(train(model, 12), parallel12);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /** One adapter used by two threads at once: calls are serialised, results unchanged. */
  @Test
  public void twoThreadsShareOneAdapter() throws Exception {
    Batch batch = Batch.of(2, 4, 3, 4, 5, 6, 7, 8, 9, 10);
    try (Model model = TestSupport.openModel();
        Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4))) {
      float[] expected = adapter.logits(batch, LogitsMode.ALL);
      Callable<Void> calls = () -> {
        for (int i = 0; i < 50; ++i) {
          ReferenceTest.assertBitsEqual(expected, adapter.logits(batch, LogitsMode.ALL));
        }
        return null;
      };
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<Void> first = pool.submit(calls);
        Future<Void> second = pool.submit(calls);
        assertNull(first.get());
        assertNull(second.get());
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
