using System;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// The logits processors a generation applies, for callers that sample themselves (after
    /// Context.Prefill and Context.Decode) or compare with transformers' processors.
    /// </summary>
    public static class LogitsProcessor
    {
        /// <summary>
        /// Applies <paramref name="options"/>' processors to one row of logits in place, as Generate
        /// does: the repetition penalty over the ids in <paramref name="history"/> (null: none), then,
        /// with DoSample, Temperature, TopK, TopP and MinP (removed tokens become -infinity).
        /// </summary>
        /// <exception cref="SoftPromptException">InvalidArgument (options out of range), OutOfRange (history ids).</exception>
        public static void Process(GenerateOptions options, int[] history, float[] logits)
        {
            if (options == null)
                throw new ArgumentNullException("options");
            if (logits == null)
                throw new ArgumentNullException("logits");
            NativeGenerateParams native = options.ToNative();
            Errors.Check(Native.spb_logits_process(ref native, history, logits));
        }
    }
}
