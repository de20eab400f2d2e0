package dev.softprompt;

/**
 * What a device holds for this process (sp_memory_stats), read by {@link SoftPrompt#memoryStats}.
 * On CUDA the figures are LibTorch's caching allocator's; on the CPU they are the whole process's
 * resident set (the JVM's heap and everything else, not only softprompt's tensors).
 */
public final class MemoryStats {
  private final long currentBytes;
  private final long peakBytes;
  private final long reservedBytes;

  MemoryStats(long currentBytes, long peakBytes, long reservedBytes) {
    this.currentBytes = currentBytes;
    this.peakBytes = peakBytes;
    this.reservedBytes = reservedBytes;
  }

  /** CUDA: bytes in live tensors on the device. CPU: the process's resident set size. */
  public long currentBytes() {
    return currentBytes;
  }

  /**
   * The largest {@link #currentBytes} since the process started or since the latest {@link
   * SoftPrompt#resetPeakMemory} for that device.
   */
  public long peakBytes() {
    return peakBytes;
  }

  /**
   * CUDA: bytes the allocator holds from the driver, in use or cached for reuse (at least {@link
   * #currentBytes}; what other processes cannot use). CPU: {@link #currentBytes}.
   */
  public long reservedBytes() {
    return reservedBytes;
  }

  @Override
  public String toString() {
    return "MemoryStats{currentBytes=" + currentBytes + ", peakBytes=" + peakBytes + ", reservedBytes="
        + reservedBytes + "}";
  }
}
