package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterInfo;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.DType;
import dev.softprompt.Device;
import dev.softprompt.EncoderType;
import dev.softprompt.LogitsMode;
import dev.softprompt.MemoryStats;
import dev.softprompt.Method;
import dev.softprompt.Model;
import dev.softprompt.ModelInfo;
import dev.softprompt.ModelOptions;
import dev.softprompt.PromptInit;
import dev.softprompt.SoftPrompt;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.TrainerOptions;
import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_adapter_info;
import dev.softprompt.internal.sp_adapter_params;
import dev.softprompt.internal.sp_status;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.Test;

/** The library loads; versions, model sizes and the C defaults come through the binding intact. */
public class LibraryTest {
  @Test
  public void versionIsMajorMinorPatch() {
    assertTrue(SoftPrompt.version(), SoftPrompt.version().matches("\\d+\\.\\d+\\.\\d+"));
    assertTrue(SoftPrompt.cudaDeviceCount() >= 0);
  }

  @Test
  public void modelInfoDescribesTheTinyLlama() {
    try (Model model = TestSupport.openModel()) {
      ModelInfo info = model.info();
      // The sizes tests/make_models.cmake gives the tiny llama model.
      assertEquals("llama", info.modelType());
      assertEquals(256, info.vocabSize());
      assertEquals(64, info.hiddenSize());
      assertEquals(2, info.numLayers());
      assertEquals(info.hiddenSize(), info.numAttentionHeads() * info.headDim());
    }
  }

  /** Every C status has its Java constant, with the C value and the name sp_status_string gives. */
  @Test
  public void statusesMirrorTheCEnum() {
    assertEquals(sp_status.values().length, Status.values().length);
    for (Status status : Status.values()) {
      assertEquals(status.cName(), SoftPromptNative.sp_status_string(sp_status.swigToEnum(status.code())));
    }
    assertEquals(0, Status.OK.code());
    assertEquals(3, Status.NOT_FOUND.code());
    assertEquals(14, Status.MODEL_MISMATCH.code());
  }

  /**
   * The thread count comes back as set, 0 restores the count before any setting, and a negative or
   * absurd count is refused with the value named and the setting unchanged.
   */
  @Test
  public void numThreadsRoundTripsAndRefusesImpossibleCounts() {
    int original = SoftPrompt.getNumThreads();
    assertTrue(String.valueOf(original), original >= 1);
    try {
      SoftPrompt.setNumThreads(1);
      assertEquals(1, SoftPrompt.getNumThreads());
      for (int bad : new int[] {-1, 100000}) {
        SoftPromptException e = assertThrows(SoftPromptException.class, () -> SoftPrompt.setNumThreads(bad));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.nativeMessage(), e.nativeMessage().contains(String.valueOf(bad)));
        assertEquals(1, SoftPrompt.getNumThreads());
      }
      try (Model model = TestSupport.openModel()) {
        assertEquals(256, model.logits(Batch.of(1, 4, 3, 9, 27, 81), LogitsMode.LAST).length);
      }
    } finally {
      SoftPrompt.setNumThreads(0);
    }
    assertEquals(original, SoftPrompt.getNumThreads());
  }

  /**
   * The CPU figures are the process's resident set: non-zero, a peak at least as large, reserved equal
   * to current; resetting the peak succeeds; 64 MiB that Java allocates and touches raise the current
   * figure while they are held. The buffer is direct (native memory): the test JVM's heap is
   * pre-touched (-Xms = -Xmx, AlwaysPreTouch), so an array in it would already be resident.
   */
  @Test
  public void cpuMemoryStatsFollowTheResidentSet() {
    MemoryStats stats = SoftPrompt.memoryStats(Device.CPU, 0);
    assertTrue(stats.toString(), stats.currentBytes() > 0);
    assertTrue(stats.toString(), stats.peakBytes() >= stats.currentBytes());
    assertEquals(stats.toString(), stats.currentBytes(), stats.reservedBytes());

    SoftPrompt.resetPeakMemory(Device.CPU, 0);
    MemoryStats afterReset = SoftPrompt.memoryStats(Device.CPU, 0);
    assertTrue(afterReset.toString(), afterReset.peakBytes() >= afterReset.currentBytes());

    final int size = 64 << 20;
    final long mib = 1 << 20;
    ByteBuffer block = ByteBuffer.allocateDirect(size);
    for (int i = 0; i < size; ++i) {
      block.put(i, (byte) 0x5a);
    }
    MemoryStats holding = SoftPrompt.memoryStats(Device.CPU, 0);
    assertTrue(afterReset + " then " + holding, holding.currentBytes() - afterReset.currentBytes() >= 32 * mib);
    assertTrue(holding.toString(), holding.peakBytes() >= holding.currentBytes());
    assertEquals(0x5a, block.get(size - 1)); // keeps the block reachable until here
  }

  /** A CUDA device index one past the last device is refused as a device that does not exist. */
  @Test
  public void memoryStatsOfAMissingCudaDeviceAreRefused() {
    int missing = SoftPrompt.cudaDeviceCount();
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> SoftPrompt.memoryStats(Device.CUDA, missing));
    assertEquals(Status.DEVICE, e.status());
    assertTrue(e.nativeMessage(), e.nativeMessage().contains("does not exist"));
    e = assertThrows(SoftPromptException.class, () -> SoftPrompt.resetPeakMemory(Device.CUDA, missing));
    assertEquals(Status.DEVICE, e.status());
    assertTrue(e.nativeMessage(), e.nativeMessage().contains("does not exist"));
  }

  /** The defaults documented in softprompt.h, read through sp_*_default_params. */
  @Test
  public void optionsStartFromTheDocumentedCDefaults() {
    ModelOptions model = new ModelOptions();
    assertEquals(Device.CPU, model.device());
    assertEquals(0, model.deviceIndex());
    assertEquals(DType.FLOAT32, model.dtype());
    assertFalse(model.allowTf32());

    AdapterOptions adapter = new AdapterOptions();
    assertEquals(Method.PROMPT_TUNING, adapter.method());
    assertEquals(20, adapter.numVirtualTokens());
    assertEquals(PromptInit.RANDOM, adapter.init());
    assertEquals(0, adapter.encoderHiddenSize());
    assertFalse(adapter.prefixProjection());
    assertFalse(adapter.prefixZeroInit());
    assertEquals(EncoderType.MLP, adapter.encoderType());
    assertEquals(2, adapter.encoderNumLayers());
    assertEquals(0f, adapter.encoderDropout(), 0f);
    assertEquals(1, adapter.numTasks());
    assertEquals(1, adapter.numRanks());
    assertEquals(0, adapter.sourceTask());

    TrainerOptions trainer = new TrainerOptions();
    assertEquals(3e-2, trainer.learningRate(), 0);
    assertEquals(0.9, trainer.beta1(), 0);
    assertEquals(0.999, trainer.beta2(), 0);
    assertEquals(1e-8, trainer.eps(), 0);
    assertEquals(0.01, trainer.weightDecay(), 0);
    assertEquals(0, trainer.maxGradNorm(), 0);
    assertEquals(0, trainer.warmupSteps());
    assertEquals(0, trainer.totalSteps());
    assertEquals(1, trainer.accumulationSteps());
  }

  /**
   * 64-bit C fields are Java longs and cross the JNI layer whole: values above 2^32 and 2^63 (as
   * unsigned) come back from the C structs unchanged. (A behavioural check through adapter tables
   * is not possible: LibTorch's CPU generator uses only the low 32 bits of a seed.)
   */
  @Test
  public void sixtyFourBitFieldsKeepAllBits() {
    long[] values = {7L + (1L << 32), 7L | Long.MIN_VALUE, -1L};
    sp_adapter_params params = SoftPromptNative.sp_adapter_default_params();
    sp_adapter_info info = new sp_adapter_info();
    try {
      for (long value : values) {
        params.setSeed(value); // uint64_t
        assertEquals(value, params.getSeed());
        info.setNum_trainable_parameters(value); // int64_t
        assertEquals(value, info.getNum_trainable_parameters());
      }
    } finally {
      params.delete();
      info.delete();
    }
  }

  /**
   * allowTf32 is a CUDA float32 switch: on the CPU both settings load the model, and the logits
   * are bit for bit the same (the CPU has no TF32 path to take).
   */
  @Test
  public void allowTf32EitherWayLoadsACpuModel() {
    Batch batch = Batch.of(1, 4, 3, 9, 27, 81);
    float[][] logits = new float[2][];
    boolean[] settings = {false, true};
    for (int i = 0; i < settings.length; ++i) {
      ModelOptions options = new ModelOptions().device(Device.CPU).allowTf32(settings[i]);
      assertEquals(settings[i], options.allowTf32());
      try (Model model = Model.open(TestSupport.modelFolder(), options)) {
        assertEquals(256, model.info().vocabSize());
        logits[i] = model.logits(batch, LogitsMode.LAST);
      }
    }
    ReferenceTest.assertBitsEqual(logits[0], logits[1]);
  }

  /** The seed reaches the library: the same seed gives the same table, another seed another. */
  @Test
  public void seedChoosesTheInitialTable() {
    try (Model model = TestSupport.openModel()) {
      float[] seven = table(model, 7L);
      assertArrayEquals(seven, table(model, 7L), 0f);
      assertFalse(Arrays.equals(seven, table(model, 8L)));
    }
  }

  /** numTrainableParameters (an int64 in C) and the per-tensor sizes agree. */
  @Test
  public void adapterInfoCountsMatchTheParameters() {
    try (Model model = TestSupport.openModel();
        Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(8))) {
      AdapterInfo info = adapter.info();
      assertEquals(Method.PROMPT_TUNING, info.method());
      assertEquals(8, info.numVirtualTokens());
      assertEquals(Arrays.asList("embedding.weight"), adapter.parameterNames());
      assertEquals(8 * 64, info.numTrainableParameters());
      assertEquals(8 * 64, adapter.parameter("embedding.weight").length);
    }
  }

  private static float[] table(Model model, long seed) {
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(seed))) {
      return adapter.parameter("embedding.weight");
    }
  }
}
