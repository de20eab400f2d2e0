using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>Sizes of a loaded model (sp_model_info).</summary>
    public sealed class ModelInfo
    {
        internal unsafe ModelInfo(NativeModelInfo native)
        {
            VocabSize = native.VocabSize;
            HiddenSize = native.HiddenSize;
            NumLayers = native.NumLayers;
            NumAttentionHeads = native.NumAttentionHeads;
            NumKeyValueHeads = native.NumKeyValueHeads;
            HeadDim = native.HeadDim;
            MaxPositionEmbeddings = native.MaxPositionEmbeddings;
            ModelType = Utf8.Decode(native.ModelType, 32); // `native` is a copy on the stack: no pinning needed
            TypeVocabSize = native.TypeVocabSize;
            HasLmHead = native.HasLmHead != 0;
            IsEncoderDecoder = native.IsEncoderDecoder != 0;
            NumDecoderLayers = native.NumDecoderLayers;
            DecoderStartTokenId = native.DecoderStartTokenId;
        }

        public long VocabSize { get; private set; }
        public long HiddenSize { get; private set; }
        /// <summary>The layer count; an encoder-decoder model's encoder layers (see NumDecoderLayers).</summary>
        public long NumLayers { get; private set; }
        public long NumAttentionHeads { get; private set; }
        public long NumKeyValueHeads { get; private set; }
        public long HeadDim { get; private set; }
        public long MaxPositionEmbeddings { get; private set; }

        /// <summary>config.json's model_type, e.g. "llama".</summary>
        public string ModelType { get; private set; }

        /// <summary>
        /// Token types (segments) the model embeds (BERT, RoBERTa): Batch.TokenTypeIds take values in
        /// [0, TypeVocabSize); 0 for models without token types.
        /// </summary>
        public long TypeVocabSize { get; private set; }

        /// <summary>
        /// True for a decoder or an encoder-decoder model, which have an output layer over the vocabulary
        /// (logits, losses, generation); false for an encoder (hidden states and classification only).
        /// </summary>
        public bool HasLmHead { get; private set; }

        /// <summary>
        /// True for an encoder-decoder model (T5): its batches have a decoder side (Batch.DecoderSeqLen),
        /// its adapters are TaskType.Seq2SeqLm, its contexts read prompts into the encoder and generate the
        /// decoder's tokens.
        /// </summary>
        public bool IsEncoderDecoder { get; private set; }

        /// <summary>The decoder's layers of an encoder-decoder model; 0 for other models.</summary>
        public long NumDecoderLayers { get; private set; }

        /// <summary>
        /// The id an encoder-decoder model's decoder starts from (T5: the pad id), which generation puts
        /// first and labels shifted right start with; -1 for other models.
        /// </summary>
        public long DecoderStartTokenId { get; private set; }
    }
}
