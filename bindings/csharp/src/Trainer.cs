using System;
using System.Collections.Generic;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// AdamW state, schedule and gradient accumulation for one adapter. Only the adapter's trainable
    /// tensors (its soft prompt, and a classification head) are trained; the model never changes.
    /// Keeps its <see cref="Adapter"/> referenced.
    /// </summary>
    public sealed class Trainer : IDisposable
    {
        /// <summary>Bytes of user state the first load attempt makes room for.</summary>
        private const long UserStateGuess = 4096;

        private readonly TrainerHandle handle;

        // Tensor sizes, read once: an adapter's tensors never change, and Gradient must work even
        // after the managed Adapter was disposed (the native trainer keeps the native adapter alive).
        private readonly Dictionary<string, int> parameterSizes = new Dictionary<string, int>();

        private Trainer(Adapter adapter, TrainerHandle handle)
        {
            Adapter = adapter;
            this.handle = handle;
            try
            {
                foreach (string name in adapter.ParameterNames)
                    parameterSizes[name] = adapter.ParameterSize(name);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        /// <summary>Creates optimiser state for <paramref name="adapter"/>.</summary>
        public static Trainer Create(Adapter adapter, TrainerOptions options = null)
        {
            if (adapter == null)
                throw new ArgumentNullException("adapter");
            NativeTrainerParams native = (options ?? new TrainerOptions()).ToNative();
            return new Trainer(adapter, Errors.CheckHandle(Native.spb_trainer_create(adapter.Handle, ref native), "Trainer.Create"));
        }

        /// <summary>The adapter this trainer trains.</summary>
        public Adapter Adapter { get; private set; }

        /// <summary>
        /// One training step on <paramref name="batch"/>: forward, the task's loss (causal-LM; Seq2SeqLm,
        /// SeqCls and TokenCls as Adapter.EvalLoss), backward into the adapter's trainable tensors (the soft
        /// prompt, and a classification head) and, every AccumulationSteps calls, clipping and an AdamW
        /// update. On error nothing changes.
        /// </summary>
        public TrainResult Step(Batch batch)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            var result = new NativeTrainResult();
            using (HeldHandles rows = Adapter.Hold(batch.RowAdapters))
                Errors.Check(Native.spb_trainer_step(Handle, batch.BatchSize, batch.SeqLen, batch.InputIds,
                                                     batch.AttentionMask, batch.Labels, batch.TaskIds, batch.TokenTypeIds,
                                                     batch.RowLabels, batch.DecoderSeqLen, batch.DecoderInputIds,
                                                     rows.Pointers, ref result));
            return new TrainResult(result);
        }

        /// <summary>
        /// The gradient of trainable tensor <paramref name="name"/> that the latest update used, before
        /// clipping. With AccumulationSteps &gt; 1 it is the MEAN of the micro-batches' gradients (each
        /// micro-batch's loss is divided by AccumulationSteps, as transformers' Trainer does);
        /// TrainResult.GradNorm is its norm. NotFound before the first update.
        /// </summary>
        public float[] Gradient(string name)
        {
            if (name == null)
                throw new ArgumentNullException("name");
            int size;
            // An unknown name still goes to the library, which names it in its NotFound message; the
            // one-float buffer only keeps the NULL-buffer check from answering first.
            var values = new float[parameterSizes.TryGetValue(name, out size) ? size : 1];
            Errors.Check(Native.spb_trainer_get_gradient(Handle, name, values));
            return values;
        }

        /// <summary>
        /// Saves everything training needs to resume exactly (the adapter's tensors, AdamW's moments,
        /// the counters, accumulated gradients and settings) in one file, atomically, with
        /// <paramref name="userState"/>: bytes the caller wants back when it resumes (its data order's
        /// position, say); null for none.
        /// </summary>
        /// <exception cref="SoftPromptException">Io when the file cannot be written (an existing one is kept).</exception>
        public void SaveState(string path, byte[] userState = null)
        {
            if (path == null)
                throw new ArgumentNullException("path");
            Errors.Check(Native.spb_trainer_save_state(Handle, path, userState));
        }

        /// <summary>
        /// Restores a file written by <see cref="SaveState"/>: the adapter's tensors, the optimiser
        /// state and the settings are replaced, so the next step computes what the saving trainer's
        /// next step would have. Returns the saved user state (empty when none). On any error nothing
        /// changes.
        /// </summary>
        /// <exception cref="SoftPromptException">NotFound, Format, Unsupported, ModelMismatch (another base
        /// model), ShapeMismatch (another method or other sizes).</exception>
        public byte[] LoadState(string path)
        {
            if (path == null)
                throw new ArgumentNullException("path");
            // A buffer too small for the user state restores nothing and reports the size: then once more.
            return SizedOutput.Read(UserStateGuess, false, "Trainer.LoadState",
                                    output => Native.spb_trainer_load_state(Handle, path, output));
        }

        /// <summary>True once Dispose has run.</summary>
        public bool IsDisposed
        {
            get { return handle.IsClosed; }
        }

        /// <summary>Releases this object's reference to the native trainer. Safe to call more than once.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        internal TrainerHandle Handle
        {
            get { return NativeHandle.Live(handle, typeof(Trainer)); }
        }
    }
}
