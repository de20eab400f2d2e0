package softprompt

import "testing"

// Each typed constant equals the C enum value that SWIG reads from softprompt.h at start-up, so the
// hand-written constants cannot drift from the header.
func TestConstantsMatchTheCHeader(t *testing.T) {
	pairs := []struct {
		name    string
		goValue int
		cValue  int
	}{
		{"StatusOK", int(StatusOK), int(SP_OK)},
		{"StatusInvalidArgument", int(StatusInvalidArgument), int(SP_ERR_INVALID_ARGUMENT)},
		{"StatusInvalidHandle", int(StatusInvalidHandle), int(SP_ERR_INVALID_HANDLE)},
		{"StatusNotFound", int(StatusNotFound), int(SP_ERR_NOT_FOUND)},
		{"StatusIO", int(StatusIO), int(SP_ERR_IO)},
		{"StatusFormat", int(StatusFormat), int(SP_ERR_FORMAT)},
		{"StatusUnsupported", int(StatusUnsupported), int(SP_ERR_UNSUPPORTED)},
		{"StatusShapeMismatch", int(StatusShapeMismatch), int(SP_ERR_SHAPE_MISMATCH)},
		{"StatusOutOfRange", int(StatusOutOfRange), int(SP_ERR_OUT_OF_RANGE)},
		{"StatusBufferTooSmall", int(StatusBufferTooSmall), int(SP_ERR_BUFFER_TOO_SMALL)},
		{"StatusDevice", int(StatusDevice), int(SP_ERR_DEVICE)},
		{"StatusBackend", int(StatusBackend), int(SP_ERR_BACKEND)},
		{"StatusOutOfMemory", int(StatusOutOfMemory), int(SP_ERR_OUT_OF_MEMORY)},
		{"StatusInternal", int(StatusInternal), int(SP_ERR_INTERNAL)},
		{"StatusModelMismatch", int(StatusModelMismatch), int(SP_ERR_MODEL_MISMATCH)},
		{"MethodPromptTuning", int(MethodPromptTuning), int(SP_METHOD_PROMPT_TUNING)},
		{"MethodPrefixTuning", int(MethodPrefixTuning), int(SP_METHOD_PREFIX_TUNING)},
		{"MethodPTuning", int(MethodPTuning), int(SP_METHOD_P_TUNING)},
		{"MethodMultitaskPromptTuning", int(MethodMultitaskPromptTuning), int(SP_METHOD_MULTITASK_PROMPT_TUNING)},
		{"InitRandom", int(InitRandom), int(SP_INIT_RANDOM)},
		{"InitSampleVocab", int(InitSampleVocab), int(SP_INIT_SAMPLE_VOCAB)},
		{"InitText", int(InitText), int(SP_INIT_TEXT)},
		{"InitAverageSourceTasks", int(InitAverageSourceTasks), int(SP_INIT_AVERAGE_SOURCE_TASKS)},
		{"InitExactSourceTask", int(InitExactSourceTask), int(SP_INIT_EXACT_SOURCE_TASK)},
		{"InitOnlySourceShared", int(InitOnlySourceShared), int(SP_INIT_ONLY_SOURCE_SHARED)},
		{"EncoderMLP", int(EncoderMLP), int(SP_ENCODER_MLP)},
		{"EncoderLSTM", int(EncoderLSTM), int(SP_ENCODER_LSTM)},
		{"TaskCausalLM", int(TaskCausalLM), int(SP_TASK_CAUSAL_LM)},
		{"TaskSeqCls", int(TaskSeqCls), int(SP_TASK_SEQ_CLS)},
		{"TaskTokenCls", int(TaskTokenCls), int(SP_TASK_TOKEN_CLS)},
		{"TaskSeq2SeqLM", int(TaskSeq2SeqLM), int(SP_TASK_SEQ_2_SEQ_LM)},
		{"TaskFeatureExtraction", int(TaskFeatureExtraction), int(SP_TASK_FEATURE_EXTRACTION)},
		{"ClassLogits", int(ClassLogits), int(SP_CLASS_LOGITS)},
		{"ClassProbabilities", int(ClassProbabilities), int(SP_CLASS_PROBABILITIES)},
		{"DeviceCPU", int(DeviceCPU), int(SP_DEVICE_CPU)},
		{"DeviceCUDA", int(DeviceCUDA), int(SP_DEVICE_CUDA)},
		{"DTypeFloat32", int(DTypeFloat32), int(SP_DTYPE_FLOAT32)},
		{"DTypeBFloat16", int(DTypeBFloat16), int(SP_DTYPE_BFLOAT16)},
		{"DTypeFloat16", int(DTypeFloat16), int(SP_DTYPE_FLOAT16)},
		{"LogitsLast", int(LogitsLast), int(SP_LOGITS_LAST)},
		{"LogitsAll", int(LogitsAll), int(SP_LOGITS_ALL)},
		{"StopNone", int(StopNone), int(SP_STOP_NONE)},
		{"StopMaxTokens", int(StopMaxTokens), int(SP_STOP_MAX_TOKENS)},
		{"StopEOS", int(StopEOS), int(SP_STOP_EOS)},
		{"StopString", int(StopString), int(SP_STOP_STRING)},
		{"StopCallback", int(StopCallback), int(SP_STOP_CALLBACK)},
	}
	for _, p := range pairs {
		if p.goValue != p.cValue {
			t.Errorf("%s = %d, but the C header says %d", p.name, p.goValue, p.cValue)
		}
	}
	if got := StatusNotFound.String(); got != "SP_ERR_NOT_FOUND" {
		t.Errorf("StatusNotFound.String() = %q", got)
	}
}
