using System;
using System.Collections.Generic;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// A soft prompt of one method on one model. Calls on one adapter are serialised by the
    /// library (sharing it between threads is safe, not parallel). The adapter keeps its
    /// <see cref="Model"/> referenced, and the native adapter keeps the native model alive.
    /// </summary>
    public sealed class Adapter : IDisposable
    {
        private readonly AdapterHandle handle;

        // The native calls behind Logits, EvalLoss and HiddenStates (delegates made once, not per call).
        private static readonly LogitsCall<AdapterHandle> NativeLogits = Native.spb_adapter_logits;
        private static readonly EvalLossCall<AdapterHandle> NativeEvalLoss = Native.spb_adapter_eval_loss;
        private static readonly HiddenStatesCall<AdapterHandle> NativeHiddenStates = Native.spb_adapter_hidden_states;

        private Adapter(Model model, AdapterHandle handle)
        {
            Model = model;
            this.handle = handle;
        }

        /// <summary>Creates a trainable adapter on <paramref name="model"/>.</summary>
        /// <exception cref="SoftPromptException">InvalidArgument, OutOfRange, and the MPT source adapter's NotFound / Format / ShapeMismatch.</exception>
        public static Adapter Create(Model model, AdapterOptions options = null)
        {
            if (model == null)
                throw new ArgumentNullException("model");
            options = options ?? new AdapterOptions();
            NativeAdapterParams native = options.ToNative();
            AdapterHandle created = Native.spb_adapter_create(model.Handle, ref native, options.InitTokenIds,
                                                              options.InitText, options.TokenizerNameOrPath,
                                                              options.SourceAdapter);
            return new Adapter(model, Errors.CheckHandle(created, "Adapter.Create"));
        }

        /// <summary>Loads a PEFT-layout adapter folder (adapter_config.json + adapter_model.safetensors).</summary>
        public static Adapter Load(Model model, string folder)
        {
            if (model == null)
                throw new ArgumentNullException("model");
            if (folder == null)
                throw new ArgumentNullException("folder");
            return new Adapter(model, Errors.CheckHandle(Native.spb_adapter_load(model.Handle, folder), "Adapter.Load"));
        }

        /// <summary>Loads a file written by <see cref="SaveFile"/>.</summary>
        public static Adapter LoadFile(Model model, string path)
        {
            if (model == null)
                throw new ArgumentNullException("model");
            if (path == null)
                throw new ArgumentNullException("path");
            return new Adapter(model, Errors.CheckHandle(Native.spb_adapter_load_file(model.Handle, path), "Adapter.LoadFile"));
        }

        /// <summary>
        /// Describes an adapter without loading any model, as a JSON object: a PEFT folder, a file of
        /// <see cref="SaveFile"/> or a trainer state of <see cref="Trainer.SaveState"/> ("format",
        /// "method", "peft_config", "tensors", "parameter_count", and for softprompt's files
        /// "base_model", for trainer states "trainer"; see sp_adapter_describe in softprompt.h).
        /// </summary>
        /// <exception cref="SoftPromptException">NotFound, Format, Unsupported.</exception>
        public static string Describe(string path)
        {
            if (path == null)
                throw new ArgumentNullException("path");
            return SizedOutput.ReadText(4096, "Adapter.Describe", output => Native.spb_adapter_describe(path, output));
        }

        /// <summary>The model this adapter was created on.</summary>
        public Model Model { get; private set; }

        /// <summary>Writes PEFT's folder layout, creating the folder if needed (atomic per file).</summary>
        public void Save(string folder)
        {
            if (folder == null)
                throw new ArgumentNullException("folder");
            Errors.Check(Native.sp_adapter_save(Handle, folder));
        }

        /// <summary>Writes softprompt's single-file format (encoders included, so training resumes exactly).</summary>
        public void SaveFile(string path)
        {
            if (path == null)
                throw new ArgumentNullException("path");
            Errors.Check(Native.sp_adapter_save_file(Handle, path));
        }

        /// <summary>Method, sizes and parameter counts.</summary>
        public AdapterInfo Info
        {
            get { return new AdapterInfo(ReadInfo()); }
        }

        /// <summary>Names of the trainable tensors, as PEFT names them ("embedding.weight", ...).</summary>
        public IReadOnlyList<string> ParameterNames
        {
            get
            {
                var names = new string[ReadInfo().NumParameterTensors];
                for (int i = 0; i < names.Length; ++i)
                {
                    names[i] = Native.spb_adapter_parameter_name(Handle, i);
                    if (names[i] == null)
                        throw Errors.Last("Adapter.ParameterNames");
                }
                return names;
            }
        }

        /// <summary>
        /// Shape of trainable tensor <paramref name="name"/> in PEFT's layout: "lstm_head.weight_ih_l0"
        /// is {4 * EncoderHiddenSize, hidden size} (PyTorch's i, f, g, o gate blocks), multitask
        /// prompt tuning's "prefix_task_cols" {NumTasks, NumVirtualTokens, NumRanks}. The product of
        /// the dimensions is the length of <see cref="Parameter"/>'s row-major array.
        /// NotFound for unknown names.
        /// </summary>
        public long[] ParameterShape(string name)
        {
            if (name == null)
                throw new ArgumentNullException("name");
            var dims = new long[Native.SP_MAX_PARAMETER_DIMS];
            long rank = Native.spb_adapter_parameter_shape(Handle, name, dims);
            if (rank < 0)
                throw Errors.Last("Adapter.ParameterShape");
            Array.Resize(ref dims, checked((int)rank));
            return dims;
        }

        /// <summary>Current values of trainable tensor <paramref name="name"/>, row-major.</summary>
        public float[] Parameter(string name)
        {
            var values = new float[ParameterSize(name)];
            Errors.Check(Native.spb_adapter_get_parameter(Handle, name, values));
            return values;
        }

        /// <summary>
        /// Logits with this soft prompt, as a new array. TaskType.CausalLm and TaskType.Seq2SeqLm adapters
        /// only (Unsupported otherwise: <see cref="Classify"/>, <see cref="HiddenStates"/>); Seq2SeqLm
        /// logits are the decoder's, at its Batch.DecoderSeqLen positions.
        /// </summary>
        public float[] Logits(Batch batch, LogitsMode mode = LogitsMode.Last)
        {
            return BatchCalls.Logits(NativeLogits, Handle, Model.VocabSize, batch, mode);
        }

        /// <summary>
        /// Floats a logits call of <paramref name="mode"/> returns for <paramref name="batch"/>
        /// (BatchSize [* SeqLen, or * DecoderSeqLen for a batch with a decoder side] * the model's
        /// vocabulary size, from the library): the length
        /// <c>output</c> needs. Throws SoftPromptException (InvalidArgument) for sizes below 1.
        /// </summary>
        public long LogitsCount(Batch batch, LogitsMode mode = LogitsMode.Last)
        {
            return BatchCalls.LogitsCount(Model.VocabSize, batch, mode);
        }

        /// <summary>Logits with this soft prompt, written into <paramref name="output"/> (which must hold LogitsCount floats).</summary>
        public void Logits(Batch batch, LogitsMode mode, float[] output)
        {
            BatchCalls.Logits(NativeLogits, Handle, batch, mode, output);
        }

        /// <summary>
        /// Mean loss and per-row log-likelihood with this soft prompt, for the adapter's task: CausalLm
        /// the causal-LM loss; SeqCls the cross-entropy of Batch.RowLabels (required; a row's
        /// log-likelihood is log p(its label)); TokenCls the cross-entropy of Batch.Labels (class ids,
        /// required; -100 ignored); Seq2SeqLm the cross-entropy of the decoder's targets (Batch.Labels,
        /// BatchSize * DecoderSeqLen; position i predicts label i); FeatureExtraction has none
        /// (Unsupported). Changes nothing.
        /// </summary>
        public Evaluation EvalLoss(Batch batch)
        {
            return BatchCalls.EvalLoss(NativeEvalLoss, Handle, batch);
        }

        /// <summary>
        /// Class scores of a SeqCls or TokenCls adapter (the prompt, the model, the head) as a new
        /// array, row-major: SeqCls BatchSize * NumLabels values, TokenCls BatchSize * SeqLen *
        /// NumLabels (the caller's positions; padded positions are computed too and carry no meaning),
        /// NumLabels from <see cref="Info"/>. Labels in the batch are not read. Changes nothing.
        /// </summary>
        /// <exception cref="SoftPromptException">Unsupported for an adapter of another task, and the batch errors of Logits.</exception>
        public float[] Classify(Batch batch, ClassOutput what)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            NativeAdapterInfo info = ReadInfo();
            long perRow = info.TaskType == TaskType.TokenCls ? (long)batch.SeqLen * info.NumLabels : info.NumLabels;
            var output = BatchCalls.OutputArray(batch, perRow, "Adapter.Classify");
            using (HeldHandles rows = Hold(batch.RowAdapters))
                Errors.Check(Native.spb_adapter_classify(Handle, batch.BatchSize, batch.SeqLen, batch.InputIds,
                                                         batch.AttentionMask, batch.Labels, batch.TaskIds,
                                                         batch.TokenTypeIds, batch.RowLabels, batch.DecoderSeqLen,
                                                         batch.DecoderInputIds, rows.Pointers, what, output));
            return output;
        }

        /// <summary>
        /// Final hidden states with this soft prompt at the caller's positions, BatchSize * SeqLen *
        /// AdapterInfo.HiddenSize floats: after the last norm for decoders, the last block's output for
        /// encoders (transformers' last_hidden_state); prompt methods' virtual positions are left out.
        /// Any task type but Seq2SeqLm (Unsupported: use Logits or EvalLoss). Changes nothing.
        /// </summary>
        public float[] HiddenStates(Batch batch)
        {
            if (batch == null)
                throw new ArgumentNullException("batch");
            return BatchCalls.HiddenStates(NativeHiddenStates, Handle, ReadInfo().HiddenSize, batch);
        }

        /// <summary>True once Dispose has run.</summary>
        public bool IsDisposed
        {
            get { return handle.IsClosed; }
        }

        /// <summary>Releases this object's reference to the native adapter. Safe to call more than once.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        internal AdapterHandle Handle
        {
            get { return NativeHandle.Live(handle, typeof(Adapter)); }
        }

        /// <summary>
        /// The handles of <paramref name="adapters"/> (a batch's row adapters, prompts' adapters; a null
        /// entry is NULL, a null array none) held for one call: dispose the result after it.
        /// ObjectDisposedException for a disposed adapter.
        /// </summary>
        internal static HeldHandles Hold(Adapter[] adapters)
        {
            if (adapters == null)
                return HeldHandles.Hold(null);
            var handles = new NativeHandle[adapters.Length];
            for (int i = 0; i < adapters.Length; ++i)
                handles[i] = adapters[i] == null ? null : adapters[i].Handle;
            return HeldHandles.Hold(handles);
        }

        /// <summary>Element count of trainable tensor <paramref name="name"/> (NotFound for unknown names).</summary>
        internal int ParameterSize(string name)
        {
            if (name == null)
                throw new ArgumentNullException("name");
            long size = Native.spb_adapter_parameter_size(Handle, name);
            if (size < 0)
                throw Errors.Last("Adapter.Parameter");
            return checked((int)size);
        }

        private NativeAdapterInfo ReadInfo()
        {
            NativeAdapterInfo native = Native.spb_adapter_info(Handle);
            if (native.StructSize == UIntPtr.Zero)
                throw Errors.Last("Adapter.Info");
            StructLayouts.Verify<NativeAdapterInfo>(native.StructSize);
            return native;
        }
    }
}
