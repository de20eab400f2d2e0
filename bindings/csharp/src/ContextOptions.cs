using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>How large a context's cache is (sp_context_params). A new instance holds the C defaults.</summary>
    public sealed class ContextOptions
    {
        private NativeContextParams defaults;

        public ContextOptions()
        {
            defaults = Native.sp_context_default_params();
            StructLayouts.Verify<NativeContextParams>(defaults.StructSize);
            MaxBatchSize = defaults.MaxBatchSize;
            MaxLength = defaults.MaxLength;
            RecomputePrompts = defaults.RecomputePrompts != 0;
        }

        /// <summary>
        /// Rows one generate or prefill call may hold, 1 .. 4096; default 1. Scoring takes any number
        /// of rows and runs them MaxBatchSize at a time.
        /// </summary>
        public int MaxBatchSize { get; set; }

        /// <summary>
        /// Tokens per row the cache holds, prompt plus generated tokens, 1 .. 2^20; default 512. The
        /// adapter's virtual tokens come on top.
        /// </summary>
        public int MaxLength { get; set; }

        /// <summary>
        /// False (the default): prompt methods' virtual tokens enter as their compiled keys and values,
        /// computed once per adapter version. True: run them again in every prefill (the same logits,
        /// slower; for measuring what compiling saves).
        /// </summary>
        public bool RecomputePrompts { get; set; }

        internal NativeContextParams ToNative()
        {
            NativeContextParams native = defaults;
            native.MaxBatchSize = MaxBatchSize;
            native.MaxLength = MaxLength;
            native.RecomputePrompts = RecomputePrompts ? 1 : 0;
            return native;
        }
    }
}
