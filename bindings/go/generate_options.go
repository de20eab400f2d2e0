package softprompt

import (
	"strings"
)

// ContextOptions configures NewContext. Start from DefaultContextOptions; a nil *ContextOptions
// means the defaults.
type ContextOptions struct {
	// MaxBatchSize is the number of prompts one generation may hold, 1 .. 4096; default 1. Score
	// takes any number of prompts and runs them MaxBatchSize at a time.
	MaxBatchSize int
	// MaxLength is the tokens per row the cache holds (prompt plus generated tokens), 1 .. 2^20;
	// default 512. The adapter's virtual tokens or prefix come on top. The cache is allocated once,
	// when the context is created.
	MaxLength int
	// RecomputePrompts: false (the default), prompt methods' virtual tokens enter as their compiled
	// keys and values, computed once per adapter version; true, they run again in every prefill (the
	// same logits, slower: for measuring what compiling saves).
	RecomputePrompts bool
}

// GenerateOptions says how to choose tokens and when to stop: every field of the C library's
// sp_generate_params. Start from DefaultGenerateOptions (zero values are not all valid); a nil
// *GenerateOptions means the defaults.
//
// Sampling follows transformers' generate: greedy (argmax, the lowest id on ties) unless
// DoSample; the repetition penalty applies in both; with DoSample, Temperature, TopK, TopP and
// MinP apply in that order, then a token is drawn from the softmax.
type GenerateOptions struct {
	MaxNewTokens      int     // >= 1; default 32
	DoSample          bool    // false: greedy (default)
	Temperature       float32 // > 0; default 1 (off)
	TopK              int     // keep the k most likely tokens; 0 = off; default 50
	TopP              float32 // nucleus sampling, in (0, 1]; default 1 (off)
	MinP              float32 // drop tokens less likely than MinP times the most likely, in [0, 1]; default 0 (off)
	RepetitionPenalty float32 // > 0; default 1 (off)
	Seed              uint64  // the same seed and inputs give the same tokens, on any goroutine; default 0

	// UseModelEOS stops a row at the model's end-of-sequence ids (Model.EOSIDs); default true.
	UseModelEOS bool
	// StopIDs are more end-of-sequence ids: a row that generates one stops, with it as its last token.
	StopIDs []int32
	// StopStrings stop a row once its generated text (special tokens left out) contains one; each
	// non-empty UTF-8 without NUL bytes. Needs the model's tokenizer.
	StopStrings []string
	// SkipSpecialTokens: special tokens add no text to events (default true).
	SkipSpecialTokens bool
}

// DefaultContextOptions returns the C library's defaults (sp_context_default_params).
func DefaultContextOptions() ContextOptions { return Sp_context_default_params() }

// DefaultGenerateOptions returns the C library's defaults (sp_generate_default_params).
func DefaultGenerateOptions() GenerateOptions { return Sp_generate_default_params() }

func (o *ContextOptions) check() error {
	if o == nil {
		return nil
	}
	return checkInt32(intField{"MaxBatchSize", o.MaxBatchSize}, intField{"MaxLength", o.MaxLength})
}

// check refuses what cannot reach C intact; every range check is the library's.
func (o *GenerateOptions) check() error {
	if o == nil {
		return nil
	}
	for _, s := range o.StopStrings {
		if err := checkString("a stop string", s); err != nil {
			return err
		}
	}
	return o.checkScalars()
}

// checkScalars refuses int fields that do not fit in the C struct's int32 fields.
func (o *GenerateOptions) checkScalars() error {
	if o == nil {
		return nil
	}
	return checkInt32(intField{"MaxNewTokens", o.MaxNewTokens}, intField{"TopK", o.TopK})
}

// stopIDs and joinedStopStrings are the slices as spb_context_generate_begin takes them: the ids
// as they are, the strings as one "a\x00b\x00" string (each ends with its NUL, so an empty stop
// string reaches the library, which refuses it).
func (o *GenerateOptions) stopIDs() []int32 {
	if o == nil {
		return nil
	}
	return o.StopIDs
}

func (o *GenerateOptions) joinedStopStrings() string {
	if o == nil || len(o.StopStrings) == 0 {
		return ""
	}
	var b strings.Builder
	for _, s := range o.StopStrings {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

// StopReason says why a row stopped. The values are the C library's sp_stop_reason.
type StopReason int32

const (
	StopNone      StopReason = 0 // still running (in a TokenEvent)
	StopMaxTokens StopReason = 1 // MaxNewTokens generated
	StopEOS       StopReason = 2 // an end-of-sequence id (the model's or StopIDs); it is the row's last token
	StopString    StopReason = 3 // the row's text came to contain a stop string; its last token completed it
	StopCallback  StopReason = 4 // the callback returned false, the stream was closed or the Go context cancelled
)

func (r StopReason) String() string {
	return name([]string{"none", "max tokens", "EOS", "stop string", "callback"}, int32(r), "StopReason")
}
