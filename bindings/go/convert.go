package softprompt

// Conversions between the C library's structs and this package's Go types. The SWIG typemaps
// (typemaps.i) call these from the generated softprompt.go, so each struct crosses the cgo
// boundary in one call. They are here rather than in typemaps.i so that gofmt and the compiler
// check them.

/*
#include "softprompt/softprompt.h"
*/
import "C"

import (
	"bytes"
	"unsafe"
)

// Info results: the values, and whether the call succeeded (the C helpers return a struct_size of
// 0 on failure).

type modelInfoResult struct {
	info ModelInfo
	ok   bool
}

type adapterInfoResult struct {
	info AdapterInfo
	ok   bool
}

type tokenizerInfoResult struct {
	info TokenizerInfo
	ok   bool
}

func swigModelInfo(c *C.sp_model_info) modelInfoResult {
	modelType := (*[len(c.model_type)]byte)(unsafe.Pointer(&c.model_type))[:]
	if end := bytes.IndexByte(modelType, 0); end >= 0 {
		modelType = modelType[:end]
	}
	return modelInfoResult{ok: c.struct_size != 0, info: ModelInfo{
		ModelType:             string(modelType),
		VocabSize:             int(c.vocab_size),
		HiddenSize:            int(c.hidden_size),
		NumLayers:             int(c.num_layers),
		NumAttentionHeads:     int(c.num_attention_heads),
		NumKeyValueHeads:      int(c.num_key_value_heads),
		HeadDim:               int(c.head_dim),
		MaxPositionEmbeddings: int(c.max_position_embeddings),
		TypeVocabSize:         int(c.type_vocab_size),
		HasLMHead:             c.has_lm_head != 0,
		IsEncoderDecoder:      c.is_encoder_decoder != 0,
		NumDecoderLayers:      int(c.num_decoder_layers),
		DecoderStartTokenID:   int64(c.decoder_start_token_id),
	}}
}

func swigAdapterInfo(c *C.sp_adapter_info) adapterInfoResult {
	return adapterInfoResult{ok: c.struct_size != 0, info: AdapterInfo{
		Method:                 Method(c.method),
		NumVirtualTokens:       int(c.num_virtual_tokens),
		NumTasks:               int(c.num_tasks),
		NumParameterTensors:    int(c.num_parameter_tensors),
		NumTrainableParameters: int64(c.num_trainable_parameters),
		VocabSize:              int(c.vocab_size),
		TaskType:               TaskType(c.task_type),
		NumLabels:              int(c.num_labels),
		HiddenSize:             int(c.hidden_size),
		Version:                uint64(c.version),
	}}
}

func swigTrainResult(out *TrainResult, c *C.sp_train_result) {
	*out = TrainResult{
		Loss:         float32(c.loss),
		Updated:      c.updated != 0,
		GradNorm:     float32(c.grad_norm),
		LearningRate: float32(c.learning_rate),
		UpdatesDone:  int64(c.updates_done),
	}
}

func cBool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// Options: the C defaults to Go, and Go options to a C struct in Go memory (nil stays NULL, which
// the library reads as "defaults"). struct_size is this header's size, as the ABI requires.

func swigModelOptions(c *C.sp_model_params) ModelOptions {
	return ModelOptions{Device: Device(c.device), DeviceIndex: int(c.device_index), DType: DType(c.dtype),
		AllowTF32: c.allow_tf32 != 0}
}

func swigModelParams(o *ModelOptions) *C.sp_model_params {
	if o == nil {
		return nil
	}
	return &C.sp_model_params{
		struct_size:  C.size_t(unsafe.Sizeof(C.sp_model_params{})),
		device:       C.sp_device_kind(o.Device),
		device_index: C.int32_t(o.DeviceIndex),
		dtype:        C.sp_dtype(o.DType),
		allow_tf32:   cBool(o.AllowTF32),
	}
}

// The pointer fields (init token ids and the strings) are passed to spb_adapter_create as
// separate arguments, so they stay NULL here.
func swigAdapterOptions(c *C.sp_adapter_params) AdapterOptions {
	return AdapterOptions{
		Method:            Method(c.method),
		NumVirtualTokens:  int(c.num_virtual_tokens),
		Init:              PromptInit(c.init),
		Seed:              uint64(c.seed),
		EncoderHiddenSize: int(c.encoder_hidden_size),
		PrefixProjection:  c.prefix_projection != 0,
		PrefixZeroInit:    c.prefix_zero_init != 0,
		EncoderType:       EncoderType(c.encoder_type),
		EncoderNumLayers:  int(c.encoder_num_layers),
		EncoderDropout:    float32(c.encoder_dropout),
		NumTasks:          int(c.num_tasks),
		NumRanks:          int(c.num_ranks),
		SourceTask:        int(c.source_task),
		TaskType:          TaskType(c.task_type),
		NumLabels:         int(c.num_labels),
	}
}

func swigAdapterParams(o *AdapterOptions) *C.sp_adapter_params {
	if o == nil {
		return nil
	}
	return &C.sp_adapter_params{
		struct_size:         C.size_t(unsafe.Sizeof(C.sp_adapter_params{})),
		method:              C.sp_method(o.Method),
		num_virtual_tokens:  C.int32_t(o.NumVirtualTokens),
		init:                C.sp_prompt_init(o.Init),
		seed:                C.uint64_t(o.Seed),
		encoder_hidden_size: C.int32_t(o.EncoderHiddenSize),
		prefix_projection:   cBool(o.PrefixProjection),
		prefix_zero_init:    cBool(o.PrefixZeroInit),
		encoder_type:        C.sp_encoder_type(o.EncoderType),
		encoder_num_layers:  C.int32_t(o.EncoderNumLayers),
		encoder_dropout:     C.float(o.EncoderDropout),
		num_tasks:           C.int32_t(o.NumTasks),
		num_ranks:           C.int32_t(o.NumRanks),
		source_task:         C.int32_t(o.SourceTask),
		task_type:           C.sp_task_type(o.TaskType),
		num_labels:          C.int32_t(o.NumLabels),
	}
}

func swigTrainerOptions(c *C.sp_trainer_params) TrainerOptions {
	return TrainerOptions{
		LearningRate:      float64(c.learning_rate),
		Beta1:             float64(c.beta1),
		Beta2:             float64(c.beta2),
		Eps:               float64(c.eps),
		WeightDecay:       float64(c.weight_decay),
		MaxGradNorm:       float64(c.max_grad_norm),
		WarmupSteps:       int(c.warmup_steps),
		TotalSteps:        int(c.total_steps),
		AccumulationSteps: int(c.accumulation_steps),
	}
}

func swigTrainerParams(o *TrainerOptions) *C.sp_trainer_params {
	if o == nil {
		return nil
	}
	return &C.sp_trainer_params{
		struct_size:        C.size_t(unsafe.Sizeof(C.sp_trainer_params{})),
		learning_rate:      C.double(o.LearningRate),
		beta1:              C.double(o.Beta1),
		beta2:              C.double(o.Beta2),
		eps:                C.double(o.Eps),
		weight_decay:       C.double(o.WeightDecay),
		max_grad_norm:      C.double(o.MaxGradNorm),
		warmup_steps:       C.int32_t(o.WarmupSteps),
		total_steps:        C.int32_t(o.TotalSteps),
		accumulation_steps: C.int32_t(o.AccumulationSteps),
	}
}

func swigTokenizerInfo(c *C.sp_tokenizer_info) tokenizerInfoResult {
	return tokenizerInfoResult{ok: c.struct_size != 0, info: TokenizerInfo{
		VocabSize: int(c.vocab_size),
		BosID:     int32(c.bos_id),
		EosID:     int32(c.eos_id),
		PadID:     int32(c.pad_id),
		UnkID:     int32(c.unk_id),
	}}
}

func swigContextOptions(c *C.sp_context_params) ContextOptions {
	return ContextOptions{MaxBatchSize: int(c.max_batch_size), MaxLength: int(c.max_length),
		RecomputePrompts: c.recompute_prompts != 0}
}

func swigContextParams(o *ContextOptions) *C.sp_context_params {
	if o == nil {
		return nil
	}
	return &C.sp_context_params{
		struct_size:       C.size_t(unsafe.Sizeof(C.sp_context_params{})),
		max_batch_size:    C.int32_t(o.MaxBatchSize),
		max_length:        C.int32_t(o.MaxLength),
		recompute_prompts: cBool(o.RecomputePrompts),
	}
}

// The slices (StopIDs, StopStrings) are passed to spb_context_generate_begin as separate
// arguments, and the callback is never used (the binding pulls events), so those fields stay NULL.
func swigGenerateOptions(c *C.sp_generate_params) GenerateOptions {
	return GenerateOptions{
		MaxNewTokens:      int(c.max_new_tokens),
		DoSample:          c.do_sample != 0,
		Temperature:       float32(c.temperature),
		TopK:              int(c.top_k),
		TopP:              float32(c.top_p),
		MinP:              float32(c.min_p),
		RepetitionPenalty: float32(c.repetition_penalty),
		Seed:              uint64(c.seed),
		UseModelEOS:       c.use_model_eos != 0,
		SkipSpecialTokens: c.skip_special_tokens != 0,
	}
}

func swigGenerateParams(o *GenerateOptions) *C.sp_generate_params {
	if o == nil {
		return nil
	}
	return &C.sp_generate_params{
		struct_size:         C.size_t(unsafe.Sizeof(C.sp_generate_params{})),
		max_new_tokens:      C.int32_t(o.MaxNewTokens),
		do_sample:           cBool(o.DoSample),
		temperature:         C.float(o.Temperature),
		top_k:               C.int32_t(o.TopK),
		top_p:               C.float(o.TopP),
		min_p:               C.float(o.MinP),
		repetition_penalty:  C.float(o.RepetitionPenalty),
		seed:                C.uint64_t(o.Seed),
		use_model_eos:       cBool(o.UseModelEOS),
		skip_special_tokens: cBool(o.SkipSpecialTokens),
	}
}
