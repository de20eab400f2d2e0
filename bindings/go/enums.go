package softprompt

import "strconv"

// The numeric values below are the C library's enum values (softprompt.h), which are stable;
// enums_test.go checks each against the value SWIG reads from the C header.

// Method is a soft-prompt method, as PEFT defines them for causal language models.
type Method int32

const (
	MethodPromptTuning          Method = 0 // virtual-token embeddings prepended to the input
	MethodPrefixTuning          Method = 1 // keys and values prepended in every attention layer
	MethodPTuning               Method = 2 // a table passed through an MLP or LSTM encoder, then prepended
	MethodMultitaskPromptTuning Method = 3 // a shared table times a per-task low-rank matrix (needs task ids)
)

// PromptInit is how a prompt table starts (PEFT's PromptTuningInit and
// MultitaskPromptTuningInit). Prefix tuning and P-tuning accept only InitRandom.
type PromptInit int32

const (
	InitRandom             PromptInit = 0 // N(0, 1)
	InitSampleVocab        PromptInit = 1 // prompt tuning: embeddings of random vocabulary ids
	InitText               PromptInit = 2 // prompt tuning, MPT: embeddings of InitTokenIDs, or of the ids of InitText
	InitAverageSourceTasks PromptInit = 3 // MPT: source table, task factors averaged
	InitExactSourceTask    PromptInit = 4 // MPT: source table and the factors of SourceTask
	InitOnlySourceShared   PromptInit = 5 // MPT: source table; factors random
)

// EncoderType is P-tuning's prompt encoder (PEFT's encoder_reparameterization_type).
type EncoderType int32

const (
	EncoderMLP  EncoderType = 0
	EncoderLSTM EncoderType = 1
)

// TaskType is what an adapter is trained for (PEFT's task_type). The methods are the same for
// every task; the task decides the model's output, the loss, and which calls apply.
type TaskType int32

const (
	TaskCausalLM          TaskType = 0 // decoders: next-token logits, causal-LM loss, generation and scoring (default)
	TaskSeqCls            TaskType = 1 // one class per row: a head over the pooled final hidden state; Batch.RowLabels; Classify
	TaskTokenCls          TaskType = 2 // one class per token: a head over every position; Batch.Labels are class ids
	TaskSeq2SeqLM         TaskType = 3 // encoder-decoder models (T5), their only task: decoder logits, the loss of Batch's decoder side, generation from encoder prompts; prompt tables of 2n rows as in PEFT
	TaskFeatureExtraction TaskType = 4 // final hidden states (HiddenStates); no head, no loss, so no training
)

// ClassOutput selects what Classify returns.
type ClassOutput int32

const (
	ClassLogits        ClassOutput = 0 // the classification head's raw scores
	ClassProbabilities ClassOutput = 1 // their softmax over the classes
)

// Device is where a model runs.
type Device int32

const (
	DeviceCPU  Device = 0
	DeviceCUDA Device = 1
)

// DType is the element type of a model's frozen weights and forward pass. Trainable prompt
// parameters are always float32.
type DType int32

const (
	DTypeFloat32  DType = 0
	DTypeBFloat16 DType = 1
	DTypeFloat16  DType = 2
)

// LogitsMode selects which logits Logits returns. For a batch with a decoder side (encoder-decoder
// models) the positions are the decoder's: LogitsAll gives BatchSize*DecoderSeqLen*vocab values,
// LogitsLast each row's last decoder position (decoder rows carry no mask).
type LogitsMode int32

const (
	// LogitsLast: BatchSize*vocab values, each row's logits at its last position whose attention
	// mask is 1 (the next-token distribution).
	LogitsLast LogitsMode = 0
	// LogitsAll: BatchSize*SeqLen*vocab values, the logits at every position of the caller's
	// tokens (virtual-token positions are not included).
	LogitsAll LogitsMode = 1
)

func name(names []string, value int32, kind string) string {
	if value >= 0 && int(value) < len(names) {
		return names[value]
	}
	return kind + "(" + strconv.Itoa(int(value)) + ")"
}

func (m Method) String() string {
	return name([]string{"prompt tuning", "prefix tuning", "P-tuning", "multitask prompt tuning"}, int32(m), "Method")
}

func (p PromptInit) String() string {
	return name([]string{"random", "sample vocab", "text", "average source tasks", "exact source task",
		"only source shared"}, int32(p), "PromptInit")
}

func (e EncoderType) String() string { return name([]string{"MLP", "LSTM"}, int32(e), "EncoderType") }

func (t TaskType) String() string {
	return name([]string{"CAUSAL_LM", "SEQ_CLS", "TOKEN_CLS", "SEQ_2_SEQ_LM", "FEATURE_EXTRACTION"}, int32(t),
		"TaskType")
}

func (c ClassOutput) String() string {
	return name([]string{"logits", "probabilities"}, int32(c), "ClassOutput")
}

func (d Device) String() string { return name([]string{"CPU", "CUDA"}, int32(d), "Device") }

func (d DType) String() string {
	return name([]string{"float32", "bfloat16", "float16"}, int32(d), "DType")
}

func (m LogitsMode) String() string { return name([]string{"last", "all"}, int32(m), "LogitsMode") }
