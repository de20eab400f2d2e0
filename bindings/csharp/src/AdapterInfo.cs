using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>What an adapter is (sp_adapter_info).</summary>
    public sealed class AdapterInfo
    {
        internal AdapterInfo(NativeAdapterInfo native)
        {
            Method = native.Method;
            NumVirtualTokens = native.NumVirtualTokens;
            NumTasks = native.NumTasks;
            NumParameterTensors = native.NumParameterTensors;
            NumTrainableParameters = native.NumTrainableParameters;
            VocabSize = native.VocabSize;
            TaskType = native.TaskType;
            NumLabels = native.NumLabels;
            HiddenSize = native.HiddenSize;
            Version = native.Version;
        }

        public Method Method { get; private set; }
        public int NumVirtualTokens { get; private set; }

        /// <summary>Multitask prompt tuning's task count; 0 for the other methods.</summary>
        public int NumTasks { get; private set; }

        /// <summary>Trainable tensors (see Adapter.ParameterNames).</summary>
        public int NumParameterTensors { get; private set; }

        /// <summary>float32 values over all trainable tensors.</summary>
        public long NumTrainableParameters { get; private set; }

        /// <summary>
        /// The vocabulary of the adapter's model: Adapter.Logits returns BatchSize (times SeqLen
        /// for LogitsMode.All) times this many floats.
        /// </summary>
        public long VocabSize { get; private set; }

        /// <summary>What the adapter is trained for.</summary>
        public TaskType TaskType { get; private set; }

        /// <summary>
        /// The head's classes for SeqCls and TokenCls; 0 for the other tasks. Adapter.Classify returns
        /// BatchSize (times SeqLen for TokenCls) times this many floats.
        /// </summary>
        public int NumLabels { get; private set; }

        /// <summary>The model's hidden size: Adapter.HiddenStates returns BatchSize * SeqLen * this many floats.</summary>
        public long HiddenSize { get; private set; }

        /// <summary>
        /// Counts changes to the adapter's values: 1 after Create or Load, one more per Trainer.Step that
        /// updates them and per Trainer.LoadState. A call uses the compiled prompt of the version current
        /// when it began (see "Serving many adapters" in the README).
        /// </summary>
        public ulong Version { get; private set; }
    }
}
