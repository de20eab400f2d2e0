using System;

namespace SoftPrompt
{
    /// <summary>
    /// A batch of token sequences, all of length <see cref="SeqLen"/> (pad to it), as row-major
    /// (batchSize, seqLen) int arrays. The arrays are used as given, not copied: each call pins
    /// them for its duration. The library checks the sizes, lengths and values when the batch is
    /// used and reports a problem as a SoftPromptException with its status: InvalidArgument for a
    /// batchSize or seqLen below 1 (or mask values other than 0/1), ShapeMismatch for an array of
    /// the wrong length, OutOfRange for an id outside the vocabulary.
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

        /// <summary>
        /// Rows to allocate outputs for: BatchSize when the input ids fill BatchSize x SeqLen, else 0
        /// (the call then fails on the batch before it writes anything, so no large buffer is made).
        /// </summary>
        internal int OutputRows
        {
            get { return BatchSize > 0 && InputIds.Length == (long)BatchSize * SeqLen ? BatchSize : 0; }
        }
    }
}
