using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>Library-wide facts.</summary>
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

        /// <summary>The stable C name of a status, e.g. "SP_ERR_NOT_FOUND" (sp_status_string).</summary>
        public static string StatusName(Status status)
        {
            return Native.sp_status_string(status);
        }
    }
}
