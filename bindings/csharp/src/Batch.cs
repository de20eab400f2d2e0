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
    /// <remarks>
    /// Encoder-decoder models (ModelInfo.IsEncoderDecoder, T5) take batches with two sides: InputIds and
    /// AttentionMask (batchSize x seqLen) are the encoder's input, and the decoder's rows hold
    /// <see cref="DecoderSeqLen"/> positions: Labels are then the decoder's targets (batchSize x
    /// decoderSeqLen), and the decoder reads DecoderInputIds or, when they are null, the labels shifted
    /// right behind ModelInfo.DecoderStartTokenId. Logits of such a batch are the decoder's.
    /// </remarks>
    public sealed class Batch
    {
        /// <param name="batchSize">Rows, &gt; 0.</param>
        /// <param name="seqLen">Tokens per row, &gt; 0.</param>
        /// <param name="inputIds">batchSize * seqLen ids in [0, vocabSize).</param>
        /// <param name="attentionMask">1 = real token, 0 = padding; null = all 1.</param>
        /// <param name="labels">Targets in [0, vocabSize) or -100 (ignored); null = inputIds with padding ignored.
        /// TaskType.TokenCls adapters: each token's class in [0, NumLabels) or -100. Encoder-decoder models:
        /// the decoder's targets, batchSize * decoderSeqLen of them (position i predicts target i; pad each
        /// row at its end with -100).</param>
        /// <param name="taskIds">One task per row: required by multitask prompt tuning, ignored otherwise.</param>
        /// <param name="tokenTypeIds">Segment of each token, batchSize * seqLen of them, in [0,
        /// ModelInfo.TypeVocabSize); null = all 0. Refused for models without token types.</param>
        /// <param name="rowLabels">TaskType.SeqCls adapters: each row's class, batchSize of them, in [0,
        /// NumLabels) (required for losses and training).</param>
        /// <param name="decoderSeqLen">Encoder-decoder models only: the decoder's positions per row, &gt; 0 when
        /// labels or decoderInputIds are given (logits and losses need one of them); 0 = no decoder side.
        /// Decoder rows have no padding mask: pad them at the end. InvalidArgument for other models.</param>
        /// <param name="decoderInputIds">Encoder-decoder models only: the decoder's input ids, batchSize *
        /// decoderSeqLen of them in [0, vocabSize); null = the labels shifted right behind
        /// ModelInfo.DecoderStartTokenId (-100 read as the pad id), as transformers does. InvalidArgument for
        /// other models.</param>
        /// <param name="rowAdapters">One adapter per row, batchSize of them, for Model.Logits, Model.EvalLoss and
        /// Model.HiddenStates: row r runs with rowAdapters[r]'s soft prompt, or with none where the entry is
        /// null (any mix of methods and virtual-token counts, in one forward pass on decoder-only models).
        /// Each row's result is that row's result alone with its adapter (Adapter.Logits), to float32
        /// round-off. null = no soft prompt in any row. Every adapter must belong to the model
        /// (InvalidArgument otherwise); another length is ShapeMismatch; a disposed adapter
        /// ObjectDisposedException. Adapter and Trainer calls refuse a batch that sets them.</param>
        public Batch(int batchSize, int seqLen, int[] inputIds, int[] attentionMask = null, int[] labels = null,
                     int[] taskIds = null, int[] tokenTypeIds = null, int[] rowLabels = null, int decoderSeqLen = 0,
                     int[] decoderInputIds = null, Adapter[] rowAdapters = null)
        {
            if (inputIds == null)
                throw new ArgumentNullException("inputIds");
            BatchSize = batchSize;
            SeqLen = seqLen;
            InputIds = inputIds;
            AttentionMask = attentionMask;
            Labels = labels;
            TaskIds = taskIds;
            TokenTypeIds = tokenTypeIds;
            RowLabels = rowLabels;
            DecoderSeqLen = decoderSeqLen;
            DecoderInputIds = decoderInputIds;
            RowAdapters = rowAdapters;
        }

        public int BatchSize { get; private set; }
        public int SeqLen { get; private set; }
        public int[] InputIds { get; private set; }
        public int[] AttentionMask { get; private set; }
        public int[] Labels { get; private set; }
        public int[] TaskIds { get; private set; }
        public int[] TokenTypeIds { get; private set; }
        public int[] RowLabels { get; private set; }
        /// <summary>The decoder's positions per row (encoder-decoder models); 0 when the batch has no decoder side.</summary>
        public int DecoderSeqLen { get; private set; }
        public int[] DecoderInputIds { get; private set; }
        /// <summary>Each row's adapter (a null entry: none), or null: no soft prompt in any row.</summary>
        public Adapter[] RowAdapters { get; private set; }

        /// <summary>Positions per row of an All logits call: DecoderSeqLen when the batch has a decoder side, else SeqLen.</summary>
        internal int LogitsSeqLen
        {
            get { return DecoderSeqLen > 0 ? DecoderSeqLen : SeqLen; }
        }

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
