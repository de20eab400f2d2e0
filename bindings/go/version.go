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
