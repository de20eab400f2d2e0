package softprompt

import (
	"math"
	"strconv"
)

// ModelOptions configures Open. Start from DefaultModelOptions; a nil *ModelOptions means the
// defaults.
type ModelOptions struct {
	Device      Device // default DeviceCPU
	DeviceIndex int    // CUDA device ordinal; default 0; ignored on CPU
	DType       DType  // default DTypeFloat32

	// AllowTF32 (CUDA float32 models only) lets cuBLAS and cuDNN use TF32: faster, but its 10-bit
	// mantissa moves results at the 1e-3 level. Default false: strict float32. LibTorch's TF32
	// switch is process-wide and set from the model at each CUDA call, so CUDA models with
	// different settings should not run concurrently. Ignored on the CPU and for other dtypes.
	AllowTF32 bool
}

// AdapterOptions configures NewAdapter: every field of the C library's sp_adapter_params. Start
// from DefaultAdapterOptions (zero values are not all valid); a nil *AdapterOptions means the
// defaults.
type AdapterOptions struct {
	Method              Method     // default MethodPromptTuning
	NumVirtualTokens    int        // > 0; default 20
	Init                PromptInit // default InitRandom
	InitTokenIDs        []int32    // InitText: the tokenised init text
	InitText            string     // InitText without InitTokenIDs: encoded as PEFT does, with the tokenizer below or the model's; recorded
	TokenizerNameOrPath string     // a local tokenizer for InitText (else the model's); recorded in adapter_config.json
	Seed                uint64     // random draws; the same seed as torch.manual_seed gives PEFT's values

	// Prefix tuning and P-tuning.
	EncoderHiddenSize int         // width of the reparameterisation network; 0 = the model's hidden size
	PrefixProjection  bool        // prefix tuning: produce the prefix with an MLP
	PrefixZeroInit    bool        // prefix tuning: PEFT's init_weights "zero"
	EncoderType       EncoderType // P-tuning; default EncoderMLP
	EncoderNumLayers  int         // P-tuning LSTM layers (>= 1); default 2
	EncoderDropout    float32     // P-tuning LSTM dropout between layers, in [0, 1)

	// Multitask prompt tuning.
	NumTasks      int    // >= 1; default 1
	NumRanks      int    // rank of each task's factorisation, >= 1; default 1
	SourceAdapter string // source inits: a PEFT MPT adapter folder or its adapter_model.safetensors
	SourceTask    int    // InitExactSourceTask: the source task to copy

	// The task. NumLabels (TaskSeqCls and TaskTokenCls: the head's classes, in [2, 2^20]; default 2;
	// ignored by the other tasks): the head starts as transformers initialises a missing head after
	// torch.manual_seed(Seed), so a seed reproduces PEFT's values.
	TaskType  TaskType // default TaskCausalLM
	NumLabels int
}

// TrainerOptions configures NewTrainer (AdamW with a linear warm-up and decay schedule). Start
// from DefaultTrainerOptions; a nil *TrainerOptions means the defaults.
type TrainerOptions struct {
	LearningRate      float64 // peak rate; default 3e-2
	Beta1             float64 // default 0.9
	Beta2             float64 // default 0.999
	Eps               float64 // default 1e-8
	WeightDecay       float64 // decoupled; default 0.01
	MaxGradNorm       float64 // clip the total gradient norm to this; 0 = off
	WarmupSteps       int     // linear warm-up over this many updates; default 0
	TotalSteps        int     // linear decay to 0 at this update; 0 = constant rate
	AccumulationSteps int     // micro-batches per optimizer update; default 1
}

// DefaultModelOptions returns the C library's defaults (sp_model_default_params).
func DefaultModelOptions() ModelOptions { return Sp_model_default_params() }

// DefaultAdapterOptions returns the C library's defaults (sp_adapter_default_params).
func DefaultAdapterOptions() AdapterOptions { return Sp_adapter_default_params() }

// DefaultTrainerOptions returns the C library's defaults (sp_trainer_default_params).
func DefaultTrainerOptions() TrainerOptions { return Sp_trainer_default_params() }

// The C structs hold int32 fields; a Go int that does not fit is reported instead of truncated.

type intField struct {
	name  string
	value int
}

func checkInt32(fields ...intField) error {
	for _, f := range fields {
		if f.value < math.MinInt32 || f.value > math.MaxInt32 {
			return newError(StatusInvalidArgument, f.name+" = "+strconv.Itoa(f.value)+" does not fit in 32 bits")
		}
	}
	return nil
}

func (o *ModelOptions) check() error {
	if o == nil {
		return nil
	}
	return checkInt32(intField{"DeviceIndex", o.DeviceIndex})
}

func (o *AdapterOptions) check() error {
	if o == nil {
		return nil
	}
	for what, s := range map[string]string{"InitText": o.InitText, "TokenizerNameOrPath": o.TokenizerNameOrPath,
		"SourceAdapter": o.SourceAdapter} {
		if err := checkString(what, s); err != nil {
			return err
		}
	}
	return checkInt32(intField{"NumVirtualTokens", o.NumVirtualTokens}, intField{"EncoderHiddenSize", o.EncoderHiddenSize},
		intField{"EncoderNumLayers", o.EncoderNumLayers}, intField{"NumTasks", o.NumTasks},
		intField{"NumRanks", o.NumRanks}, intField{"SourceTask", o.SourceTask}, intField{"NumLabels", o.NumLabels})
}

func (o *TrainerOptions) check() error {
	if o == nil {
		return nil
	}
	return checkInt32(intField{"WarmupSteps", o.WarmupSteps}, intField{"TotalSteps", o.TotalSteps},
		intField{"AccumulationSteps", o.AccumulationSteps})
}
