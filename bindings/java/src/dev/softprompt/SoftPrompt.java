package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;

/** Library-wide information. */
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
}
