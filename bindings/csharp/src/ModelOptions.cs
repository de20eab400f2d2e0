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
        }

        /// <summary>Default Cpu.</summary>
        public Device Device { get; set; }

        /// <summary>CUDA device ordinal; default 0; ignored on the CPU.</summary>
        public int DeviceIndex { get; set; }

        /// <summary>Element type of the frozen weights and the forward pass; default Float32.</summary>
        public DType DType { get; set; }

        internal NativeModelParams ToNative()
        {
            NativeModelParams native = defaults; // keeps struct_size and any field this class does not expose
            native.Device = Device;
            native.DeviceIndex = DeviceIndex;
            native.DType = DType;
            return native;
        }
    }
}
