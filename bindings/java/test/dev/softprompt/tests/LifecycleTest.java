package dev.softprompt.tests;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.LogitsMode;
import dev.softprompt.Model;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;

/**
 * close() is idempotent, use after close is an IllegalStateException (never a crash), and
 * dependants keep what they depend on usable.
 */
public class LifecycleTest {
  private static final Batch BATCH = Batch.of(1, 4, 5, 6, 7, 8);

  @Test
  public void closedModelThrowsAndClosesTwice() {
    Model model = TestSupport.openModel();
    model.close();
    model.close();
    assertTrue(model.isClosed());
    expectClosed(model::info, "Model");
    expectClosed(() -> model.logits(BATCH, LogitsMode.LAST), "Model");
    expectClosed(() -> model.evalLoss(BATCH), "Model");
    expectClosed(() -> Adapter.create(model, new AdapterOptions()), "Model");
    expectClosed(() -> Adapter.load(model, "anything"), "Model");
    expectClosed(() -> Adapter.loadFile(model, "anything"), "Model");
  }

  @Test
  public void closedAdapterThrowsAndClosesTwice() {
    try (Model model = TestSupport.openModel()) {
      Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4));
      adapter.close();
      adapter.close();
      assertTrue(adapter.isClosed());
      expectClosed(adapter::info, "Adapter");
      expectClosed(adapter::parameterNames, "Adapter");
      expectClosed(() -> adapter.parameter("embedding.weight"), "Adapter");
      expectClosed(() -> adapter.parameterShape("embedding.weight"), "Adapter");
      expectClosed(() -> adapter.logits(BATCH, LogitsMode.LAST), "Adapter");
      expectClosed(() -> adapter.evalLoss(BATCH), "Adapter");
      expectClosed(() -> adapter.save("anywhere"), "Adapter");
      expectClosed(() -> adapter.saveFile("anywhere"), "Adapter");
      expectClosed(() -> Trainer.create(adapter, new TrainerOptions()), "Adapter");
    }
  }

  @Test
  public void closedTrainerThrowsAndClosesTwice() {
    try (Model model = TestSupport.openModel();
        Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4))) {
      Trainer trainer = Trainer.create(adapter, new TrainerOptions());
      trainer.step(BATCH);
      trainer.close();
      trainer.close();
      assertTrue(trainer.isClosed());
      expectClosed(() -> trainer.step(BATCH), "Trainer");
      expectClosed(() -> trainer.gradient("embedding.weight"), "Trainer");
      assertFalse("closing a trainer leaves its adapter open", adapter.isClosed());
      adapter.logits(BATCH, LogitsMode.LAST);
    }
  }

  /** An adapter keeps working when its Model object is closed first (the library keeps the model). */
  @Test
  public void adapterOutlivesItsClosedModel() {
    Model model = TestSupport.openModel();
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4))) {
      float[] before = adapter.logits(BATCH, LogitsMode.ALL);
      model.close();
      assertSame(model, adapter.model());
      ReferenceTest.assertBitsEqual(before, adapter.logits(BATCH, LogitsMode.ALL));
    }
  }

  /** A trainer keeps training when its Adapter object is closed first. */
  @Test
  public void trainerOutlivesItsClosedAdapter() {
    try (Model model = TestSupport.openModel()) {
      Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4));
      try (Trainer trainer = Trainer.create(adapter, new TrainerOptions())) {
        adapter.close();
        assertSame(adapter, trainer.adapter());
        trainer.step(BATCH);
        assertTrue(trainer.step(BATCH).updatesDone() == 2);
        assertTrue(trainer.gradient("embedding.weight").length == 4 * 64);
      }
    }
  }

  /**
   * Closing while another thread is inside calls on the same adapter: the free waits for the
   * running call, later calls throw IllegalStateException, and nothing crashes.
   */
  @Test
  public void closeWhileAnotherThreadCallsIsSafe() throws Exception {
    try (Model model = TestSupport.openModel()) {
      Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4));
      AtomicReference<Throwable> ended = new AtomicReference<>();
      Thread caller = new Thread(() -> {
        try {
          while (true) {
            adapter.logits(BATCH, LogitsMode.ALL);
          }
        } catch (Throwable t) {
          ended.set(t);
        }
      });
      caller.start();
      Thread.sleep(200);
      adapter.close();
      caller.join(10_000);
      assertFalse("the calling thread did not stop", caller.isAlive());
      assertTrue(String.valueOf(ended.get()), ended.get() instanceof IllegalStateException);
    }
  }

  private static void expectClosed(ThrowingRunnable call, String kind) {
    IllegalStateException e = assertThrows(IllegalStateException.class, call);
    assertTrue(e.getMessage(), e.getMessage().contains(kind) && e.getMessage().contains("closed"));
  }
}
