using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>Vocabulary size and special ids of a <see cref="Tokenizer"/> (sp_tokenizer_info); -1 = none.</summary>
    public sealed class TokenizerInfo
    {
        internal TokenizerInfo(NativeTokenizerInfo native)
        {
            VocabSize = native.VocabSize;
            BosId = native.BosId;
            EosId = native.EosId;
            PadId = native.PadId;
            UnkId = native.UnkId;
        }

        /// <summary>Ids run from 0 to VocabSize - 1, added tokens included (some ids below it may be unused).</summary>
        public long VocabSize { get; private set; }

        /// <summary>The beginning-of-sequence id, or -1.</summary>
        public int BosId { get; private set; }

        /// <summary>The end-of-sequence id (the first one where the model lists several), or -1.</summary>
        public int EosId { get; private set; }

        /// <summary>The padding id, or -1.</summary>
        public int PadId { get; private set; }

        /// <summary>The unknown-token id, or -1.</summary>
        public int UnkId { get; private set; }
    }
}
