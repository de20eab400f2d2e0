using System;
using System.IO;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// How to choose tokens and when to stop (every field of sp_generate_params). A new instance
    /// holds the C defaults: greedy, 32 new tokens, stop at the model's end-of-sequence ids. Sampling
    /// follows transformers' generate: greedy (argmax, the lowest id on ties) unless DoSample; the
    /// repetition penalty applies in both; with DoSample, Temperature, TopK, TopP and MinP apply in
    /// that order, then a token is drawn. The library checks the ranges (SoftPromptException,
    /// InvalidArgument, naming the field).
    /// </summary>
    public sealed class GenerateOptions
    {
        private NativeGenerateParams defaults;

        public GenerateOptions()
        {
            defaults = Native.sp_generate_default_params();
            StructLayouts.Verify<NativeGenerateParams>(defaults.StructSize);
            MaxNewTokens = defaults.MaxNewTokens;
            DoSample = defaults.DoSample != 0;
            Temperature = defaults.Temperature;
            TopK = defaults.TopK;
            TopP = defaults.TopP;
            MinP = defaults.MinP;
            RepetitionPenalty = defaults.RepetitionPenalty;
            Seed = defaults.Seed;
            UseModelEos = defaults.UseModelEos != 0;
            SkipSpecialTokens = defaults.SkipSpecialTokens != 0;
            StopIds = new int[0];
            StopStrings = new string[0];
        }

        /// <summary>Tokens to generate per row at most, &gt;= 1; default 32.</summary>
        public int MaxNewTokens { get; set; }

        /// <summary>false (default): greedy; true: sample with Temperature, TopK, TopP, MinP and Seed.</summary>
        public bool DoSample { get; set; }

        /// <summary>&gt; 0; default 1 (off). Sampling only.</summary>
        public float Temperature { get; set; }

        /// <summary>Keep the k most likely tokens (ties with the k-th kept); 0 = off; default 50. Sampling only.</summary>
        public int TopK { get; set; }

        /// <summary>Keep the smallest set of most likely tokens whose probability exceeds TopP, in (0, 1]; default 1 (off).</summary>
        public float TopP { get; set; }

        /// <summary>Drop tokens less likely than MinP times the most likely, in [0, 1]; default 0 (off).</summary>
        public float MinP { get; set; }

        /// <summary>&gt; 0; logits of tokens already in the row are divided by it (multiplied when negative); default 1 (off).</summary>
        public float RepetitionPenalty { get; set; }

        /// <summary>Sampling seed: the same seed and inputs give the same tokens on any thread. Default 0.</summary>
        public ulong Seed { get; set; }

        /// <summary>true (default): stop a row at the model's end-of-sequence ids (Model.GetEosIds); false: only at StopIds.</summary>
        public bool UseModelEos { get; set; }

        /// <summary>More end-of-sequence ids (null: none).</summary>
        public int[] StopIds { get; set; }

        /// <summary>
        /// Strings that stop a row once its generated text (special tokens left out) contains one:
        /// non-empty, without U+0000; they need the model's tokenizer (null: none).
        /// </summary>
        public string[] StopStrings { get; set; }

        /// <summary>true (default): special tokens add no text to events; false: their text too.</summary>
        public bool SkipSpecialTokens { get; set; }

        internal NativeGenerateParams ToNative()
        {
            NativeGenerateParams native = defaults; // struct_size, and the pointers left zero
            native.MaxNewTokens = MaxNewTokens;
            native.DoSample = DoSample ? 1 : 0;
            native.Temperature = Temperature;
            native.TopK = TopK;
            native.TopP = TopP;
            native.MinP = MinP;
            native.RepetitionPenalty = RepetitionPenalty;
            native.Seed = Seed;
            native.UseModelEos = UseModelEos ? 1 : 0;
            native.SkipSpecialTokens = SkipSpecialTokens ? 1 : 0;
            return native;
        }

        /// <summary>The stop strings as the binding layer takes them: UTF-8, each followed by a NUL ("a\0b\0").</summary>
        internal byte[] StopStringBytes()
        {
            string[] strings = StopStrings ?? new string[0];
            var joined = new MemoryStream();
            foreach (string s in strings)
            {
                if (s == null)
                    throw new ArgumentNullException("StopStrings", "a stop string is null");
                // One NUL-terminated string after another: a NUL inside one would split it in two.
                if (s.IndexOf('\0') >= 0)
                    throw new ArgumentException("a stop string holds U+0000: \"" + s.Replace("\0", "\\0") + "\"", "StopStrings");
                byte[] bytes = Utf8.EncodeText(s);
                joined.Write(bytes, 0, bytes.Length);
                joined.WriteByte(0);
            }
            return joined.ToArray();
        }
    }
}
