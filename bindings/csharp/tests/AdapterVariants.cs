// The adapter configurations that together cover every method and every variant that changes the
// tensors (prefix projection, P-tuning's LSTM encoder, several MPT tasks): one list for the tests
// that must hold for each of them.
namespace SoftPrompt.Tests
{
    public static class AdapterVariants
    {
        /// <summary>(method, projection, encoder, tasks) of every variant, for [TestCaseSource].</summary>
        public static readonly object[] All =
        {
            new object[] { Method.PromptTuning, false, EncoderType.Mlp, 1 },
            new object[] { Method.PrefixTuning, false, EncoderType.Mlp, 1 },
            new object[] { Method.PrefixTuning, true, EncoderType.Mlp, 1 },
            new object[] { Method.PTuning, false, EncoderType.Mlp, 1 },
            new object[] { Method.PTuning, false, EncoderType.Lstm, 1 },
            new object[] { Method.MultitaskPromptTuning, false, EncoderType.Mlp, 2 },
        };

        /// <summary>The options of one variant, with 4 virtual tokens and every other field at its default.</summary>
        public static AdapterOptions Options(Method method, bool projection, EncoderType encoder, int tasks)
        {
            return new AdapterOptions
            {
                Method = method, NumVirtualTokens = 4, PrefixProjection = projection, EncoderType = encoder, NumTasks = tasks
            };
        }
    }
}
