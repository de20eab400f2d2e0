using System;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// A frozen base model loaded from a Hugging Face model folder. Immutable: any number of
    /// threads may use one model, and any number of adapters may share it. Dispose releases this
    /// object's reference; adapters created on the model keep the native model alive on their own.
    /// </summary>
    public sealed class Model : IDisposable
    {
        private readonly ModelHandle handle;
        private readonly long hiddenSize;

        // The native calls behind Logits, EvalLoss and HiddenStates (delegates made once, not per call).
        private static readonly LogitsCall<ModelHandle> NativeLogits = Native.spb_model_logits;
        private static readonly EvalLossCall<ModelHandle> NativeEvalLoss = Native.spb_model_eval_loss;
        private static readonly HiddenStatesCall<ModelHandle> NativeHiddenStates = Native.spb_model_hidden_states;

        private Model(ModelHandle handle)
        {
            this.handle = handle;
            try
            {
                NativeModelInfo info = ReadInfo(); // the sizes of every output buffer; the model never changes
                VocabSize = info.VocabSize;
                hiddenSize = info.HiddenSize;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Loads config.json plus model.safetensors (or its shards) from <paramref name="folder"/>.
        /// Supported model types: llama, qwen2, gpt2 (decoders); bert, roberta (encoders).
        /// </summary>
        /// <exception cref="SoftPromptException">NotFound, Format, Unsupported, ShapeMismatch, Device.</exception>
        public static Model Open(string folder, ModelOptions options = null)
        {
            if (folder == null)
                throw new ArgumentNullException("folder");
            NativeModelParams native = (options ?? new ModelOptions()).ToNative();
            return new Model(Errors.CheckHandle(Native.spb_model_create(folder, ref native), "Model.Open"));
        }

        /// <summary>The model's vocabulary size (the width of every logits row).</summary>
        public long VocabSize { get; private set; }

        /// <summary>The model's sizes and type.</summary>
        public ModelInfo Info
        {
            get { return new ModelInfo(ReadInfo()); }
        }

        /// <summary>
        /// Logits of the base model alone (no soft prompt), as a new array; with Batch.RowAdapters, each
        /// row with its own adapter's soft prompt (or none), as that row alone would give them through
        /// Adapter.Logits. Decoders and encoder-decoder models only (ModelInfo.HasLmHead; Unsupported for an
        /// encoder); an encoder-decoder model's are the decoder's, at its Batch.DecoderSeqLen positions.
        /// </summary>
        public float[] Logits(Batch batch, LogitsMode mode = LogitsMode.Last)
        {
            return BatchCalls.Logits(NativeLogits, Handle, VocabSize, batch, mode);
        }

        /// <summary>
        /// Floats a logits call of <paramref name="mode"/> returns for <paramref name="batch"/>
        /// (BatchSize [* SeqLen, or * DecoderSeqLen for a batch with a decoder side] * vocabulary size,
        /// from the library): the length <c>output</c> needs.
        /// Throws SoftPromptException (InvalidArgument) for sizes below 1.
        /// </summary>
        public long LogitsCount(Batch batch, LogitsMode mode = LogitsMode.Last)
        {
            return BatchCalls.LogitsCount(VocabSize, batch, mode);
        }

        /// <summary>Logits of the base model alone, written into <paramref name="output"/> (which must hold LogitsCount floats).</summary>
        public void Logits(Batch batch, LogitsMode mode, float[] output)
        {
            BatchCalls.Logits(NativeLogits, Handle, batch, mode, output);
        }

        /// <summary>
        /// Mean loss and per-row log-likelihood of the base model alone (with Batch.RowAdapters, each row
        /// with its own adapter, as Adapter.EvalLoss gives it): the causal-LM loss (position i predicts
        /// label i + 1), or for an encoder-decoder model the cross-entropy of the decoder's targets
        /// (position i predicts label i).
        /// </summary>
        public Evaluation EvalLoss(Batch batch)
        {
            return BatchCalls.EvalLoss(NativeEvalLoss, Handle, batch);
        }

        /// <summary>
        /// Final hidden states of the base model alone (with Batch.RowAdapters, each row with its own
        /// adapter), BatchSize * SeqLen * ModelInfo.HiddenSize floats (transformers' last_hidden_state;
        /// Batch.TokenTypeIds are used where the model has token types; an encoder-decoder model's are its
        /// encoder's). Changes nothing.
        /// </summary>
        public float[] HiddenStates(Batch batch)
        {
            return BatchCalls.HiddenStates(NativeHiddenStates, Handle, hiddenSize, batch);
        }

        /// <summary>
        /// The tokenizer of this model's folder (its tokenizer.json, read when the model was loaded):
        /// a new object of the caller's, to dispose; it stays usable after the model is disposed.
        /// </summary>
        /// <exception cref="SoftPromptException">NotFound when the folder had no tokenizer.json, or the
        /// error its tokenizer.json gave (Format, Unsupported).</exception>
        public Tokenizer GetTokenizer()
        {
            return Tokenizer.OfModel(Handle);
        }

        /// <summary>
        /// The ids that end generation for this model: generation_config.json's eos_token_id (one id
        /// or a list), else config.json's, else the tokenizer's eos token; ids outside the vocabulary
        /// are left out (so the array may be empty).
        /// </summary>
        public int[] GetEosIds()
        {
            var ids = new int[8]; // models list one to a few; more cost a second call
            long count;
            while ((count = Native.spb_model_eos_ids(Handle, ids)) > ids.Length)
                ids = new int[checked((int)count)];
            if (count < 0)
                throw Errors.Last("Model.GetEosIds");
            Array.Resize(ref ids, (int)count);
            return ids;
        }

        /// <summary>True once Dispose has run.</summary>
        public bool IsDisposed
        {
            get { return handle.IsClosed; }
        }

        /// <summary>Releases this object's reference to the native model. Safe to call more than once.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>The live handle; ObjectDisposedException after Dispose.</summary>
        internal ModelHandle Handle
        {
            get { return NativeHandle.Live(handle, typeof(Model)); }
        }

        private NativeModelInfo ReadInfo()
        {
            NativeModelInfo native = Native.spb_model_info(Handle);
            if (native.StructSize == UIntPtr.Zero)
                throw Errors.Last("Model.Info");
            StructLayouts.Verify<NativeModelInfo>(native.StructSize);
            return native;
        }
    }
}
