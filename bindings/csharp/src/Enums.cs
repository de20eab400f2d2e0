// The C enums of softprompt.h as C# enums. The numeric values are the C ones, which softprompt.h
// promises never to change; the typemaps pass these enums to C as their int value.
namespace SoftPrompt
{
    /// <summary>Result of a library call (sp_status). Every value but Ok becomes a SoftPromptException.</summary>
    public enum Status
    {
        Ok = 0,
        /// <summary>A null, a value out of range, inconsistent sizes.</summary>
        InvalidArgument = 1,
        /// <summary>A handle that is not a live object of the expected kind.</summary>
        InvalidHandle = 2,
        /// <summary>A missing file, folder or named tensor.</summary>
        NotFound = 3,
        /// <summary>Reading or writing a file failed.</summary>
        IO = 4,
        /// <summary>A file exists but is malformed.</summary>
        Format = 5,
        /// <summary>Valid but not implemented (a model_type, task type, method).</summary>
        Unsupported = 6,
        /// <summary>Sizes that do not fit (a weight, an adapter for another model).</summary>
        ShapeMismatch = 7,
        /// <summary>A token id outside the vocabulary, too many positions.</summary>
        OutOfRange = 8,
        /// <summary>An output buffer smaller than the result.</summary>
        BufferTooSmall = 9,
        /// <summary>The requested device (e.g. CUDA) is not available.</summary>
        Device = 10,
        /// <summary>The tensor library reported an error.</summary>
        Backend = 11,
        /// <summary>An allocation failed.</summary>
        OutOfMemory = 12,
        /// <summary>A bug in softprompt; please report it with the message.</summary>
        Internal = 13,
        /// <summary>An adapter file trained on another base model.</summary>
        ModelMismatch = 14,
    }

    /// <summary>Where a model runs (sp_device_kind).</summary>
    public enum Device
    {
        Cpu = 0,
        Cuda = 1,
    }

    /// <summary>Element type of the frozen weights and the forward pass (sp_dtype).</summary>
    public enum DType
    {
        Float32 = 0,
        BFloat16 = 1,
        Float16 = 2,
    }

    /// <summary>
    /// Which logits a forward pass returns (sp_logits_mode). For a batch with a decoder side
    /// (encoder-decoder models) the positions are the decoder's: All gives batchSize * decoderSeqLen *
    /// vocabSize values, Last each row's last decoder position (decoder rows carry no mask).
    /// </summary>
    public enum LogitsMode
    {
        /// <summary>batchSize * vocabSize values: each row's logits at its last unmasked position.</summary>
        Last = 0,
        /// <summary>batchSize * seqLen * vocabSize values: logits at every position of the caller's tokens.</summary>
        All = 1,
    }

    /// <summary>The soft-prompt methods, as PEFT defines them for causal LMs (sp_method).</summary>
    public enum Method
    {
        /// <summary>A table of virtual-token embeddings prepended to the input.</summary>
        PromptTuning = 0,
        /// <summary>Keys and values prepended in every attention layer.</summary>
        PrefixTuning = 1,
        /// <summary>A table passed through an MLP or LSTM encoder, then prepended.</summary>
        PTuning = 2,
        /// <summary>A shared table times a per-task low-rank matrix (needs task ids).</summary>
        MultitaskPromptTuning = 3,
    }

    /// <summary>How a prompt table starts (sp_prompt_init). Prefix tuning and P-tuning accept only Random.</summary>
    public enum PromptInit
    {
        /// <summary>N(0, 1).</summary>
        Random = 0,
        /// <summary>Prompt tuning: embeddings of ids drawn uniformly from the vocabulary.</summary>
        SampleVocab = 1,
        /// <summary>Prompt tuning, MPT: embeddings of InitTokenIds, cut or repeated.</summary>
        Text = 2,
        /// <summary>MPT: source table, task factors averaged over the source tasks.</summary>
        AverageSourceTasks = 3,
        /// <summary>MPT: source table and the factors of SourceTask.</summary>
        ExactSourceTask = 4,
        /// <summary>MPT: source table; factors random.</summary>
        OnlySourceShared = 5,
    }

    /// <summary>P-tuning's prompt encoder (sp_encoder_type).</summary>
    public enum EncoderType
    {
        Mlp = 0,
        Lstm = 1,
    }

    /// <summary>
    /// What an adapter is trained for (sp_task_type, PEFT's task_type). The methods are the same for
    /// every task; the task decides the model's output, the loss, and which calls apply.
    /// </summary>
    public enum TaskType
    {
        /// <summary>Decoders: next-token logits, causal-LM loss, generation and scoring (the default).</summary>
        CausalLm = 0,
        /// <summary>One class per row: a head over the pooled final hidden state; loss over Batch.RowLabels; Adapter.Classify.</summary>
        SeqCls = 1,
        /// <summary>One class per token: a head over every position; Batch.Labels are class ids (-100 ignored).</summary>
        TokenCls = 2,
        /// <summary>
        /// Encoder-decoder models (T5; ModelInfo.IsEncoderDecoder), and the only task offered for them:
        /// logits over the decoder's positions, the loss of its targets (the batch's decoder side:
        /// Batch.DecoderSeqLen, Labels), generation (prompts are the encoder's input). As in PEFT, prompt
        /// tables hold 2n rows (see SP_TASK_SEQ_2_SEQ_LM in softprompt.h). Unsupported on other models.
        /// </summary>
        Seq2SeqLm = 3,
        /// <summary>Final hidden states (Adapter.HiddenStates); no head, no loss, so no training.</summary>
        FeatureExtraction = 4,
    }

    /// <summary>What Adapter.Classify returns (sp_class_output).</summary>
    public enum ClassOutput
    {
        /// <summary>The classification head's raw scores.</summary>
        Logits = 0,
        /// <summary>Their softmax over the classes.</summary>
        Probabilities = 1,
    }
}
