package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;

/** Library-wide information and settings. */
public final class SoftPrompt {
  private SoftPrompt() {}

  /** The native library's version, "MAJOR.MINOR.PATCH". */
  public static String version() {
    return SoftPromptNative.sp_version();
  }

  /** Number of CUDA devices this build can use (0 for CPU-only builds or machines without a GPU). */
  public static int cudaDeviceCount() {
    return SoftPromptNative.sp_cuda_device_count();
  }

  /**
   * Sets how many CPU threads the tensor library uses inside one call (a forward pass, a training
   * step, a generation step), for the whole process: every model, adapter, trainer and context, and
   * calls from any Java thread. It takes effect at the next call that computes. 0 restores the
   * default (LibTorch's own count: OMP_NUM_THREADS when set, else usually the physical cores). A
   * service running N calls in parallel on C cores sets about C / N: more threads than cores slow
   * every call down many times over (sp_set_num_threads).
   *
   * @param numThreads 1 to 1024, or 0 for the default
   * @throws SoftPromptException INVALID_ARGUMENT for a negative value or one above 1024 (the
   *     setting is unchanged then)
   */
  public static void setNumThreads(int numThreads) {
    Errors.check(SoftPromptNative.sp_set_num_threads(numThreads));
  }

  /** The thread count the next call that computes will use: the setting, or the default. */
  public static int getNumThreads() {
    int count = SoftPromptNative.spb_get_num_threads();
    if (count < 0) {
      throw Errors.last();
    }
    return count;
  }

  /**
   * What a device holds for this process: for sizing batches, and for measuring what a training step
   * or a generation costs (reset the peak, run it, read the peak). See {@link MemoryStats} for what
   * each figure means on CUDA and on the CPU (sp_memory_get_stats).
   *
   * @param device the device kind
   * @param deviceIndex the CUDA device ordinal; ignored for {@link Device#CPU}
   * @throws NullPointerException if device is null
   * @throws SoftPromptException DEVICE for a CUDA device that does not exist (or a build or machine
   *     without CUDA), UNSUPPORTED where the CPU figures cannot be read (no /proc)
   */
  public static MemoryStats memoryStats(Device device, int deviceIndex) {
    long[] stats = new long[3];
    Errors.check(SoftPromptNative.spb_memory_get_stats(Checks.notNull(device, "device").c, deviceIndex, stats));
    return new MemoryStats(stats[0], stats[1], stats[2]);
  }

  /**
   * Starts the device's {@link MemoryStats#peakBytes} over from its current figure. On the CPU this
   * resets the process's peak resident size, which other code reading VmHWM also sees
   * (sp_memory_reset_peak).
   *
   * @param device the device kind
   * @param deviceIndex the CUDA device ordinal; ignored for {@link Device#CPU}
   * @throws NullPointerException if device is null
   * @throws SoftPromptException as {@link #memoryStats}; UNSUPPORTED where the kernel cannot reset it
   */
  public static void resetPeakMemory(Device device, int deviceIndex) {
    Errors.check(SoftPromptNative.sp_memory_reset_peak(Checks.notNull(device, "device").c, deviceIndex));
  }
}
