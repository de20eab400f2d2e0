package softprompt

// Version returns the C library's version, "MAJOR.MINOR.PATCH".
func Version() string { return Sp_version() }

// CUDADeviceCount returns the number of CUDA devices the library can use (0 for CPU-only builds
// or machines without a GPU).
func CUDADeviceCount() int { return Sp_cuda_device_count() }
