using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>Library-wide facts and settings.</summary>
    public static class Library
    {
        /// <summary>Version of the loaded native library, "MAJOR.MINOR.PATCH".</summary>
        public static string Version
        {
            get { return Native.sp_version(); }
        }

        /// <summary>CUDA devices usable by the native library (0 for CPU-only builds or machines without a GPU).</summary>
        public static int CudaDeviceCount
        {
            get { return Native.sp_cuda_device_count(); }
        }

        /// <summary>
        /// CPU threads the tensor library uses inside one call (a forward pass, a training step, a
        /// generation step), for the whole process: every model, adapter, trainer and context, and calls
        /// from any thread. Reading gives the count the next call that computes will use; setting takes
        /// effect at that call. 0 restores the default (LibTorch's own count: OMP_NUM_THREADS when set,
        /// else usually the physical cores). A service running N calls in parallel on C cores sets
        /// about C / N: more threads than cores slow every call down many times over
        /// (sp_set_num_threads, sp_get_num_threads).
        /// </summary>
        /// <exception cref="SoftPromptException">
        /// Status.InvalidArgument when set to a negative value or one above 1024 (the setting is unchanged then).
        /// </exception>
        public static int NumThreads
        {
            get
            {
                int count = Native.spb_get_num_threads();
                if (count < 0)
                    throw Errors.Last("Library.NumThreads");
                return count;
            }
            set { Errors.Check(Native.sp_set_num_threads(value)); }
        }

        /// <summary>
        /// What a device holds for this process: for sizing batches, and for measuring what a training
        /// step or a generation costs (reset the peak, run it, read the peak). See MemoryStats for what
        /// each figure means on CUDA and on the CPU (sp_memory_get_stats).
        /// </summary>
        /// <param name="device">The device kind.</param>
        /// <param name="deviceIndex">The CUDA device ordinal; ignored for Device.Cpu.</param>
        /// <exception cref="SoftPromptException">
        /// Status.Device for a CUDA device that does not exist (or a build or machine without CUDA),
        /// Status.Unsupported where the CPU figures cannot be read (no /proc).
        /// </exception>
        public static MemoryStats GetMemoryStats(Device device, int deviceIndex)
        {
            long[] stats = new long[3];
            Errors.Check(Native.spb_memory_get_stats(device, deviceIndex, stats));
            return new MemoryStats(stats[0], stats[1], stats[2]);
        }

        /// <summary>
        /// Starts the device's MemoryStats.PeakBytes over from its current figure. On the CPU this
        /// resets the process's peak resident size, which other code reading VmHWM also sees
        /// (sp_memory_reset_peak).
        /// </summary>
        /// <param name="device">The device kind.</param>
        /// <param name="deviceIndex">The CUDA device ordinal; ignored for Device.Cpu.</param>
        /// <exception cref="SoftPromptException">
        /// As GetMemoryStats; Status.Unsupported where the kernel cannot reset the peak.
        /// </exception>
        public static void ResetPeakMemory(Device device, int deviceIndex)
        {
            Errors.Check(Native.sp_memory_reset_peak(device, deviceIndex));
        }

        /// <summary>The stable C name of a status, e.g. "SP_ERR_NOT_FOUND" (sp_status_string).</summary>
        public static string StatusName(Status status)
        {
            return Native.sp_status_string(status);
        }
    }
}
