namespace SoftPrompt
{
    /// <summary>
    /// What a device holds for this process (sp_memory_stats), read by Library.GetMemoryStats. On
    /// CUDA the figures are LibTorch's caching allocator's; on the CPU they are the whole process's
    /// resident set (the managed heap and everything else, not only softprompt's tensors).
    /// </summary>
    public struct MemoryStats
    {
        internal MemoryStats(long currentBytes, long peakBytes, long reservedBytes) : this()
        {
            CurrentBytes = currentBytes;
            PeakBytes = peakBytes;
            ReservedBytes = reservedBytes;
        }

        /// <summary>CUDA: bytes in live tensors on the device. CPU: the process's resident set size.</summary>
        public long CurrentBytes { get; }

        /// <summary>
        /// The largest CurrentBytes since the process started or since the latest
        /// Library.ResetPeakMemory for that device.
        /// </summary>
        public long PeakBytes { get; }

        /// <summary>
        /// CUDA: bytes the allocator holds from the driver, in use or cached for reuse (at least
        /// CurrentBytes; what other processes cannot use). CPU: CurrentBytes.
        /// </summary>
        public long ReservedBytes { get; }

        public override string ToString()
        {
            return "MemoryStats{CurrentBytes=" + CurrentBytes + ", PeakBytes=" + PeakBytes + ", ReservedBytes="
                + ReservedBytes + "}";
        }
    }
}
