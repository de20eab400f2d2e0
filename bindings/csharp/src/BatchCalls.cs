// The Logits, EvalLoss and HiddenStates calls that Model and Adapter share: the same argument
// handling and buffer sizing around a native function that differs only in its handle type. Every
// batch call passes all of the batch's arrays, its row adapters' handles included (spb_batch in
// softprompt.i), held for the call (Adapter.Hold).
using System;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>Native.spb_model_logits / Native.spb_adapter_logits.</summary>
    internal delegate Status LogitsCall<THandle>(THandle handle, int batchSize, int seqLen, int[] inputIds,
                                                 int[] attentionMask, int[] labels, int[] taskIds, int[] tokenTypeIds,
                                                 int[] rowLabels, int decoderSeqLen, int[] decoderInputIds,
                                                 IntPtr[] rowAdapters, LogitsMode mode, float[] output);

    /// <summary>Native.spb_model_eval_loss / Native.spb_adapter_eval_loss.</summary>
    internal delegate Status EvalLossCall<THandle>(THandle handle, int batchSize, int seqLen, int[] inputIds,
                                                   int[] attentionMask, int[] labels, int[] taskIds,
                                                   int[] tokenTypeIds, int[] rowLabels, int decoderSeqLen,
                                                   int[] decoderInputIds, IntPtr[] rowAdapters,
                                                   float[] meanLoss, float[] rows);

    /// <summary>Native.spb_model_hidden_states / Native.spb_adapter_hidden_states.</summary>
    internal delegate Status HiddenStatesCall<THandle>(THandle handle, int batchSize, int seqLen, int[] inputIds,
                                                       int[] attentionMask, int[] labels, int[] taskIds,
                                                       int[] tokenTypeIds, int[] rowLabels, int decoderSeqLen,
                                                       int[] decoderInputIds, IntPtr[] rowAdapters,
                                                       float[] output);

    internal static class BatchCalls
    {
        /// <summary>Logits as a new array, sized by the library (sp_logits_count) from the model's vocabulary.</summary>
        internal static float[] Logits<THandle>(LogitsCall<THandle> call, THandle handle, long vocabSize, Batch batch,
                                                LogitsMode mode)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            var output = new float[LogitsArrayLength(vocabSize, batch, mode)];
            Logits(call, handle, batch, mode, output);
            return output;
        }

        /// <summary>Logits into <paramref name="output"/>, which must hold them all.</summary>
        internal static void Logits<THandle>(LogitsCall<THandle> call, THandle handle, Batch batch, LogitsMode mode,
                                             float[] output)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            if (output == null)
                throw new ArgumentNullException("output");
            using (HeldHandles rows = Adapter.Hold(batch.RowAdapters))
                Errors.Check(call(handle, batch.BatchSize, batch.SeqLen, batch.InputIds, batch.AttentionMask,
                                  batch.Labels, batch.TaskIds, batch.TokenTypeIds, batch.RowLabels, batch.DecoderSeqLen,
                                  batch.DecoderInputIds, rows.Pointers, mode, output));
        }

        internal static Evaluation EvalLoss<THandle>(EvalLossCall<THandle> call, THandle handle, Batch batch)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            var mean = new float[1];
            var rows = new float[batch.OutputRows];
            using (HeldHandles adapters = Adapter.Hold(batch.RowAdapters))
                Errors.Check(call(handle, batch.BatchSize, batch.SeqLen, batch.InputIds, batch.AttentionMask,
                                  batch.Labels, batch.TaskIds, batch.TokenTypeIds, batch.RowLabels, batch.DecoderSeqLen,
                                  batch.DecoderInputIds, adapters.Pointers, mean, rows));
            return new Evaluation(mean[0], rows);
        }

        /// <summary>
        /// Final hidden states as a new array of BatchSize * SeqLen * <paramref name="hiddenSize"/>
        /// floats (the model's hidden size, from sp_model_info or sp_adapter_info).
        /// </summary>
        internal static float[] HiddenStates<THandle>(HiddenStatesCall<THandle> call, THandle handle, long hiddenSize,
                                                      Batch batch)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            var output = OutputArray(batch, (long)batch.SeqLen * hiddenSize, "HiddenStates");
            using (HeldHandles rows = Adapter.Hold(batch.RowAdapters))
                Errors.Check(call(handle, batch.BatchSize, batch.SeqLen, batch.InputIds, batch.AttentionMask,
                                  batch.Labels, batch.TaskIds, batch.TokenTypeIds, batch.RowLabels, batch.DecoderSeqLen,
                                  batch.DecoderInputIds, rows.Pointers, output));
            return output;
        }

        /// <summary>
        /// An output array of <paramref name="valuesPerRow"/> floats per row, the values per row from
        /// the C library's info (hidden size, class count). A batch whose input ids do not fill
        /// BatchSize x SeqLen fails in the call (ShapeMismatch) before the library looks at the buffer,
        /// and an adapter of another task has 0 classes: both get one float, because an empty array
        /// reaches C as NULL, which the library would report first. The library checks the buffer
        /// against the result (BufferTooSmall).
        /// </summary>
        internal static float[] OutputArray(Batch batch, long valuesPerRow, string what)
        {
            int rows = batch.OutputRows;
            if (rows == 0 || valuesPerRow <= 0)
                return new float[1];
            if (valuesPerRow > int.MaxValue / rows) // a .NET array limit, not a library one
                throw new ArgumentException(string.Format(
                    "{0}: {1} rows of {2} values do not fit in one .NET array; split the batch", what, rows,
                    valuesPerRow));
            return new float[rows * valuesPerRow];
        }

        /// <summary>
        /// The float count of a logits call, from the library (sp_logits_count): its failure (sizes
        /// below 1, an unknown mode) is thrown as a SoftPromptException, like every other batch error. A
        /// batch with a decoder side (encoder-decoder models) counts the decoder's positions.
        /// </summary>
        internal static long LogitsCount(long vocabSize, Batch batch, LogitsMode mode)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            long count = Native.spb_logits_count(vocabSize, batch.BatchSize, batch.LogitsSeqLen, mode);
            if (count < 0)
                throw Errors.Last("LogitsCount");
            return count;
        }

        /// <summary>LogitsCount as an array length.</summary>
        private static int LogitsArrayLength(long vocabSize, Batch batch, LogitsMode mode)
        {
            long count = LogitsCount(vocabSize, batch, mode);
            // A batch whose input ids do not fill BatchSize x SeqLen fails in the call (ShapeMismatch)
            // before the library looks at the buffer: allocate nothing for it.
            if (batch.OutputRows == 0)
                return 0;
            if (count > int.MaxValue) // a .NET array limit, not a library one
                throw new ArgumentException(string.Format(
                    "{0} logits ({1} values) do not fit in one .NET array; split the batch", mode, count));
            return (int)count;
        }
    }
}
