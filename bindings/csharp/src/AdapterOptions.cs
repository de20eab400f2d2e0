using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// What adapter to create (every field of sp_adapter_params). A new instance holds the C
    /// defaults: prompt tuning, 20 virtual tokens, random init.
    /// </summary>
    public sealed class AdapterOptions
    {
        private NativeAdapterParams defaults;

        public AdapterOptions()
        {
            defaults = Native.sp_adapter_default_params();
            StructLayouts.Verify<NativeAdapterParams>(defaults.StructSize);
            Method = defaults.Method;
            NumVirtualTokens = defaults.NumVirtualTokens;
            Init = defaults.Init;
            Seed = defaults.Seed;
            EncoderHiddenSize = defaults.EncoderHiddenSize;
            PrefixProjection = defaults.PrefixProjection != 0;
            PrefixZeroInit = defaults.PrefixZeroInit != 0;
            EncoderType = defaults.EncoderType;
            EncoderNumLayers = defaults.EncoderNumLayers;
            EncoderDropout = defaults.EncoderDropout;
            NumTasks = defaults.NumTasks;
            NumRanks = defaults.NumRanks;
            SourceTask = defaults.SourceTask;
            TaskType = defaults.TaskType;
            NumLabels = defaults.NumLabels;
        }

        /// <summary>Default PromptTuning.</summary>
        public Method Method { get; set; }

        /// <summary>&gt; 0; default 20.</summary>
        public int NumVirtualTokens { get; set; }

        /// <summary>Default Random. Prefix tuning and P-tuning accept only Random.</summary>
        public PromptInit Init { get; set; }

        /// <summary>PromptInit.Text: the tokenised init text (null = none).</summary>
        public int[] InitTokenIds { get; set; }

        /// <summary>PromptInit.Text without InitTokenIds: the text is encoded as PEFT encodes its
        /// init text (special tokens included) with the tokenizer TokenizerNameOrPath names when
        /// that is a local path, else the model's own; recorded in adapter_config.json.</summary>
        public string InitText { get; set; }

        /// <summary>A local tokenizer.json or folder for InitText (else the model's); recorded in adapter_config.json.</summary>
        public string TokenizerNameOrPath { get; set; }

        /// <summary>Seed of the random draws; the same seed as torch.manual_seed gives PEFT's values.</summary>
        public ulong Seed { get; set; }

        /// <summary>Width of the reparameterisation network; 0 = the model's hidden size (default).</summary>
        public int EncoderHiddenSize { get; set; }

        /// <summary>Prefix tuning: produce the prefix with an MLP; default false.</summary>
        public bool PrefixProjection { get; set; }

        /// <summary>Prefix tuning: PEFT's init_weights "zero"; default false.</summary>
        public bool PrefixZeroInit { get; set; }

        /// <summary>P-tuning's encoder; default Mlp.</summary>
        public EncoderType EncoderType { get; set; }

        /// <summary>P-tuning LSTM layers (&gt;= 1); default 2; ignored by the MLP.</summary>
        public int EncoderNumLayers { get; set; }

        /// <summary>P-tuning LSTM dropout between layers, in [0, 1); default 0.</summary>
        public float EncoderDropout { get; set; }

        /// <summary>Multitask prompt tuning: number of tasks (&gt;= 1); default 1.</summary>
        public int NumTasks { get; set; }

        /// <summary>Multitask prompt tuning: rank of each task's factorisation (&gt;= 1); default 1.</summary>
        public int NumRanks { get; set; }

        /// <summary>MPT source inits: a PEFT MPT adapter folder or its adapter_model.safetensors (null = none).</summary>
        public string SourceAdapter { get; set; }

        /// <summary>PromptInit.ExactSourceTask: the source task to copy; default 0.</summary>
        public int SourceTask { get; set; }

        /// <summary>What the adapter is trained for; default CausalLm.</summary>
        public TaskType TaskType { get; set; }

        /// <summary>
        /// SeqCls and TokenCls: the head's classes, in [2, 2^20]; default 2; ignored by the other
        /// tasks. The head starts as transformers initialises a missing head after
        /// torch.manual_seed(Seed), so a seed reproduces PEFT's values.
        /// </summary>
        public int NumLabels { get; set; }

        /// <summary>The scalar fields; the arrays and strings travel as separate arguments of spb_adapter_create.</summary>
        internal NativeAdapterParams ToNative()
        {
            NativeAdapterParams native = defaults;
            native.Method = Method;
            native.NumVirtualTokens = NumVirtualTokens;
            native.Init = Init;
            native.Seed = Seed;
            native.EncoderHiddenSize = EncoderHiddenSize;
            native.PrefixProjection = PrefixProjection ? 1 : 0;
            native.PrefixZeroInit = PrefixZeroInit ? 1 : 0;
            native.EncoderType = EncoderType;
            native.EncoderNumLayers = EncoderNumLayers;
            native.EncoderDropout = EncoderDropout;
            native.NumTasks = NumTasks;
            native.NumRanks = NumRanks;
            native.SourceTask = SourceTask;
            native.TaskType = TaskType;
            native.NumLabels = NumLabels;
            return native;
        }
    }
}
