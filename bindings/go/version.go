package softprompt

// Version returns the C library's version, "MAJOR.MINOR.PATCH".
func Version() string { return Sp_version() }

// CUDADeviceCount returns the number of CUDA devices the library can use (0 for CPU-only builds
// or machines without a GPU).
func CUDADeviceCount() int { return Sp_cuda_device_count() }

// SetNumThreads sets how many CPU threads the tensor library uses inside one call (a forward pass,
// a training step, a generation step), for the whole process: every model, adapter, trainer and
// context, and calls from any goroutine. It takes effect at the next call that computes. 0
// restores the default (LibTorch's own count: OMP_NUM_THREADS when set, else usually the physical
// cores). A service running N calls in parallel on C cores sets about C / N: more threads than
// cores slow every call down many times over (sp_set_num_threads).
//
// Errors: StatusInvalidArgument for a negative n or one above 1024 (the setting is unchanged then).
func SetNumThreads(n int) error {
	if err := checkInt32(intField{"n", n}); err != nil {
		return err
	}
	return callStatus(func() Enum_SS_sp_status { return Sp_set_num_threads(n) })
}

// NumThreads returns the thread count the next call that computes will use: the SetNumThreads
// setting, or the default.
func NumThreads() (int, error) {
	return lockedCall(func() (int, bool) {
		n := Spb_get_num_threads()
		return n, n >= 0
	})
}

// MemoryStats is what a device holds for this process (sp_memory_stats). On CUDA the figures are
// LibTorch's caching allocator's; on the CPU they are the whole process's resident set (the Go
// heap and everything else, not only softprompt's tensors).
type MemoryStats struct {
	// CurrentBytes: CUDA, bytes in live tensors on the device; CPU, the process's resident set size.
	CurrentBytes uint64
	// PeakBytes is the largest CurrentBytes since the process started or since the latest
	// ResetPeakMemory for that device.
	PeakBytes uint64
	// ReservedBytes: CUDA, bytes the allocator holds from the driver, in use or cached for reuse
	// (at least CurrentBytes; what other processes cannot use); CPU, CurrentBytes.
	ReservedBytes uint64
}

// GetMemoryStats returns what device holds for this process: for sizing batches, and for
// measuring what a training step or a generation costs (reset the peak, run it, read the peak).
// index is the CUDA device ordinal; it is ignored for DeviceCPU (sp_memory_get_stats).
//
// Errors: StatusDevice for a CUDA device that does not exist (or a build or machine without
// CUDA), StatusUnsupported where the CPU figures cannot be read (no /proc).
func GetMemoryStats(device Device, index int) (MemoryStats, error) {
	if err := checkInt32(intField{"index", index}); err != nil {
		return MemoryStats{}, err
	}
	stats := make([]int64, 3)
	err := callStatus(func() Enum_SS_sp_status {
		return Spb_memory_get_stats(Enum_SS_sp_device_kind(device), index, stats)
	})
	if err != nil {
		return MemoryStats{}, err
	}
	return MemoryStats{CurrentBytes: uint64(stats[0]), PeakBytes: uint64(stats[1]), ReservedBytes: uint64(stats[2])}, nil
}

// ResetPeakMemory starts the device's PeakBytes over from its current figure. On the CPU this
// resets the process's peak resident size, which other code reading VmHWM also sees
// (sp_memory_reset_peak).
//
// Errors: as GetMemoryStats; StatusUnsupported where the kernel cannot reset the peak.
func ResetPeakMemory(device Device, index int) error {
	if err := checkInt32(intField{"index", index}); err != nil {
		return err
	}
	return callStatus(func() Enum_SS_sp_status { return Sp_memory_reset_peak(Enum_SS_sp_device_kind(device), index) })
}
