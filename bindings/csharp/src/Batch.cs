using System;

namespace SoftPrompt
{
    /// <summary>
    /// A batch of token sequences, all of length <see cref="SeqLen"/> (pad to it), as row-major
    /// (batchSize, seqLen) int arrays. The arrays are used as given, not copied: each call pins
    /// them for its duration. The library checks their lengths and values and reports a mismatch
    /// as a SoftPromptException (InvalidArgument / OutOfRange).
    /// </summary>
    public sealed class Batch
    {
        /// <param name="batchSize">Rows, &gt; 0.</param>
        /// <param name="seqLen">Tokens per row, &gt; 0.</param>
        /// <param name="inputIds">batchSize * seqLen ids in [0, vocabSize).</param>
        /// <param name="attentionMask">1 = real token, 0 = padding; null = all 1.</param>
        /// <param name="labels">Targets in [0, vocabSize) or -100 (ignored); null = inputIds with padding ignored.</param>
        /// <param name="taskIds">One task per row: required by multitask prompt tuning, ignored otherwise.</param>
        public Batch(int batchSize, int seqLen, int[] inputIds, int[] attentionMask = null, int[] labels = null,
                     int[] taskIds = null)
        {
            if (batchSize <= 0)
                throw new ArgumentOutOfRangeException("batchSize", batchSize, "a batch needs at least one row");
            if (seqLen <= 0)
                throw new ArgumentOutOfRangeException("seqLen", seqLen, "a row needs at least one token");
            if (inputIds == null)
                throw new ArgumentNullException("inputIds");
            BatchSize = batchSize;
            SeqLen = seqLen;
            InputIds = inputIds;
            AttentionMask = attentionMask;
            Labels = labels;
            TaskIds = taskIds;
        }

        public int BatchSize { get; private set; }
        public int SeqLen { get; private set; }
        public int[] InputIds { get; private set; }
        public int[] AttentionMask { get; private set; }
        public int[] Labels { get; private set; }
        public int[] TaskIds { get; private set; }

        /// <summary>Number of floats <paramref name="mode"/> logits take for this batch.</summary>
        internal int LogitsCount(LogitsMode mode, long vocabSize)
        {
            long rows = mode == LogitsMode.All ? (long)BatchSize * SeqLen : BatchSize;
            long count = rows * vocabSize;
            if (count > int.MaxValue)
                throw new ArgumentException(string.Format(
                    "{0} logits ({1} values) do not fit in one .NET array; split the batch", mode, count));
            return (int)count;
        }
    }
}
