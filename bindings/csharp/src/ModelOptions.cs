using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>How to load a model (sp_model_params). A new instance holds the C defaults.</summary>
    public sealed class ModelOptions
    {
        private NativeModelParams defaults;

        public ModelOptions()
        {
            defaults = Native.sp_model_default_params();
            StructLayouts.Verify<NativeModelParams>(defaults.StructSize);
            Device = defaults.Device;
            DeviceIndex = defaults.DeviceIndex;
            DType = defaults.DType;
            AllowTf32 = defaults.AllowTf32 != 0;
        }

        /// <summary>Default Cpu.</summary>
        public Device Device { get; set; }

        /// <summary>CUDA device ordinal; default 0; ignored on the CPU.</summary>
        public int DeviceIndex { get; set; }

        /// <summary>Element type of the frozen weights and the forward pass; default Float32.</summary>
        public DType DType { get; set; }

        /// <summary>
        /// CUDA float32 models only: let cuBLAS and cuDNN use TF32 (faster; its 10-bit mantissa moves
        /// results at the 1e-3 level). Default false: strict float32. LibTorch's TF32 switch is
        /// process-wide and set from the model at each CUDA call, so CUDA models with different
        /// settings should not run concurrently. Ignored on the CPU and for other dtypes.
        /// </summary>
        public bool AllowTf32 { get; set; }

        internal NativeModelParams ToNative()
        {
            NativeModelParams native = defaults; // keeps struct_size and any field this class does not expose
            native.Device = Device;
            native.DeviceIndex = DeviceIndex;
            native.DType = DType;
            native.AllowTf32 = AllowTf32 ? 1 : 0;
            return native;
        }
    }
}
