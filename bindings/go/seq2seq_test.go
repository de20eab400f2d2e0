package softprompt

// Encoder-decoder models through Go, on the tiny T5 (v1: relu, tied and scaled output) of the
// t5_reference fixture (tests/reference/t5_reference.py): the model information, the base model's
// decoder logits and loss on a batch with a decoder side, greedy generation from the encoder's
// prompts, a TaskSeq2SeqLM prompt-tuning adapter against PEFT, and the refusals the decoder side
// brings.

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// t5_reference.py's constants: 3 rows of 22 encoder tokens (real lengths 22, 13, 3), 5 decoder
// targets per row, 6 generated tokens; encoder_reference.py's seed and virtual token count; T5's
// pad (= decoder start) and eos ids.
const (
	t5Rows, t5Seq, t5Targets = 3, 22, 5
	t5NewTokens              = 6
	t5NumVirtualTokens       = 4
	t5Seed                   = 11
	t5PadID, t5EOSID         = 0, 1
	t5DFF                    = 48 // models/t5/config.json's d_ff (not in sp_model_info)
)

// openT5 opens the reference's tiny T5 (closed when the test ends) and reads its batch: the
// encoder's ids and mask, the decoder's targets.
func openT5(t *testing.T) (*Model, Batch) {
	t.Helper()
	if t5Dir == "" {
		t.Fatal("SP_T5_REFERENCE must be set: run the tests with ctest -R go_tests")
	}
	t5 := try(Open(filepath.Join(t5Dir, "models", "t5"), nil)).get(t)
	t.Cleanup(func() { t5.Close() })
	return t5, Batch{
		InputIDs:      readEncoderInts(t, t5File("input_ids.i32")),
		AttentionMask: readEncoderInts(t, t5File("attention_mask.i32")),
		Labels:        readEncoderInts(t, t5File("labels.i32")),
		BatchSize:     t5Rows,
		SeqLen:        t5Seq,
		DecoderSeqLen: t5Targets,
	}
}

func t5File(path ...string) string {
	return filepath.Join(append([]string{t5Dir, "t5"}, path...)...)
}

func TestT5InfoSaysEncoderDecoder(t *testing.T) {
	t5, _ := openT5(t)
	info := try(t5.Info()).get(t)
	want := ModelInfo{ModelType: "t5", VocabSize: 96, HiddenSize: 32, NumLayers: 2, NumAttentionHeads: 4,
		NumKeyValueHeads: 4, HeadDim: 8, MaxPositionEmbeddings: info.MaxPositionEmbeddings, HasLMHead: true,
		IsEncoderDecoder: true, NumDecoderLayers: 2, DecoderStartTokenID: t5PadID}
	if info != want {
		t.Fatalf("info %+v, want %+v", info, want)
	}
}

func TestDecoderOnlyModelsReportNoDecoderSide(t *testing.T) {
	info := try(llama.Info()).get(t)
	if info.IsEncoderDecoder || info.NumDecoderLayers != 0 || info.DecoderStartTokenID != -1 {
		t.Fatalf("llama info %+v: want no decoder side (false, 0, -1)", info)
	}
}

func TestT5BaseLogitsAndLossAreTransformers(t *testing.T) {
	t5, batch := openT5(t)
	info := try(t5.Info()).get(t)
	logits := try(t5.Logits(batch, LogitsAll)).get(t)
	if len(logits) != t5Rows*t5Targets*info.VocabSize {
		t.Fatalf("%d logits, want rows x decoder positions x vocab = %d", len(logits), t5Rows*t5Targets*info.VocabSize)
	}
	forward := t5ForwardLength(info, 0)
	requireWithinToleranceRule(t, "base logits", logits, readEncoderFloats(t, t5File("base_logits.f32")), forward)
	evaluation := try(t5.EvalLoss(batch)).get(t)
	requireWithinToleranceRule(t, "base loss", []float32{evaluation.MeanLoss},
		readEncoderFloats(t, t5File("base_loss.f32")), t5LossLength(info, forward))
}

// LogitsLast is each row's last decoder position (the output layer over fewer rows may round
// differently: the tolerance rule); explicit decoder inputs equal to the shifted labels give the same
// logits.
func TestT5LastLogitsAndExplicitDecoderInputsAgreeWithAll(t *testing.T) {
	t5, batch := openT5(t)
	info := try(t5.Info()).get(t)
	vocab := info.VocabSize
	all := try(t5.Logits(batch, LogitsAll)).get(t)
	last := try(t5.Logits(batch, LogitsLast)).get(t)
	lastOfAll := make([]float32, 0, t5Rows*vocab)
	for row := 0; row < t5Rows; row++ {
		from := (row*t5Targets + t5Targets - 1) * vocab
		lastOfAll = append(lastOfAll, all[from:from+vocab]...)
	}
	requireWithinToleranceRule(t, "LogitsLast", last, lastOfAll, t5ForwardLength(info, 0))

	decoderInputs := readEncoderInts(t, t5File("decoder_input_ids.i32"))
	explicit := Batch{InputIDs: batch.InputIDs, AttentionMask: batch.AttentionMask, BatchSize: t5Rows,
		SeqLen: t5Seq, DecoderSeqLen: t5Targets, DecoderInputIDs: decoderInputs}
	if got := try(t5.Logits(explicit, LogitsAll)).get(t); !reflect.DeepEqual(got, all) {
		t.Fatal("explicit decoder inputs (the labels shifted right) give other logits than the labels")
	}

	// Other decoder inputs give other logits: the slice reaches the library.
	changed := explicit
	changed.DecoderInputIDs = append([]int32(nil), decoderInputs...)
	if changed.DecoderInputIDs[1] == 5 {
		changed.DecoderInputIDs[1] = 6
	} else {
		changed.DecoderInputIDs[1] = 5
	}
	if got := try(t5.Logits(changed, LogitsAll)).get(t); reflect.DeepEqual(got, all) {
		t.Fatal("other decoder inputs changed nothing")
	}
}

func TestT5GreedyGenerationIsTransformers(t *testing.T) {
	t5, batch := openT5(t)
	requireGeneratesAsReference(t, t5, nil, batch, t5File("base_generated.i32"))
}

// requireGeneratesAsReference: greedy generation of t5NewTokens tokens from the batch's rows (their
// real tokens, as the encoder's prompts) equals the reference's ids up to and including a first eos.
func requireGeneratesAsReference(t *testing.T, t5 *Model, adapter *Adapter, batch Batch, expectedFile string) {
	t.Helper()
	expected := readEncoderInts(t, expectedFile)
	opts := DefaultContextOptions()
	opts.MaxBatchSize = t5Rows
	opts.MaxLength = 32
	c := try(NewContext(t5, adapter, &opts)).get(t)
	defer c.Close()
	generate := DefaultGenerateOptions()
	generate.MaxNewTokens = t5NewTokens
	generation := try(c.Generate(context.Background(), Prompts{IDs: realTokens(batch)}, &generate)).get(t)
	for row := 0; row < t5Rows; row++ {
		want := untilEOS(expected[row*t5NewTokens : (row+1)*t5NewTokens])
		if got := generation.Rows[row].IDs; !reflect.DeepEqual(got, want) {
			t.Fatalf("%s row %d: generated %v, reference %v", expectedFile, row, got, want)
		}
	}
}

// A TaskSeq2SeqLM prompt-tuning adapter: PEFT's 2n starting rows for the same seed, its logits and
// loss, and its greedy generation.
func TestT5PromptTuningAdapterStartsAndScoresAsPeft(t *testing.T) {
	t5, batch := openT5(t)
	info := try(t5.Info()).get(t)
	opts := DefaultAdapterOptions()
	opts.Method = MethodPromptTuning
	opts.Init = InitRandom
	opts.NumVirtualTokens = t5NumVirtualTokens
	opts.Seed = t5Seed
	opts.TaskType = TaskSeq2SeqLM
	adapter := try(NewAdapter(t5, &opts)).get(t)
	defer adapter.Close()
	if task := try(adapter.Info()).get(t).TaskType; task != TaskSeq2SeqLM {
		t.Fatalf("adapter task %v, want TaskSeq2SeqLM", task)
	}
	table := try(adapter.Parameter("embedding.weight")).get(t)
	if len(table) != 2*t5NumVirtualTokens*info.HiddenSize {
		t.Fatalf("embedding.weight has %d values, want 2n x hidden = %d", len(table),
			2*t5NumVirtualTokens*info.HiddenSize)
	}
	if want := readEncoderFloats(t, t5File("prompt", "init__embedding.weight.f32")); !reflect.DeepEqual(table, want) {
		t.Fatal("embedding.weight does not start as PEFT's for the same seed")
	}

	// The first n of the 2n rows go in front of the encoder's input.
	forward := t5ForwardLength(info, t5NumVirtualTokens)
	requireWithinToleranceRule(t, "prompt logits", try(adapter.Logits(batch, LogitsAll)).get(t),
		readEncoderFloats(t, t5File("prompt", "logits.f32")), forward)
	evaluation := try(adapter.EvalLoss(batch)).get(t)
	requireWithinToleranceRule(t, "prompt loss", []float32{evaluation.MeanLoss},
		readEncoderFloats(t, t5File("prompt", "loss.f32")), t5LossLength(info, forward))

	// Generation reads the first n rows into the encoder too: PEFT's generate.
	requireGeneratesAsReference(t, t5, adapter, batch, t5File("prompt", "generated.i32"))
}

func TestT5RefusalsMapToTheirStatuses(t *testing.T) {
	t5, batch := openT5(t)

	// A decoder side on a decoder-only model.
	ids := []int32{5, 5, 5, 5, 5, 5, 5, 5}
	_, err := llama.Logits(Batch{InputIDs: ids, BatchSize: 2, SeqLen: 4, DecoderSeqLen: 3}, LogitsAll)
	if e := requireStatus(t, err, StatusInvalidArgument); !strings.Contains(e.Message, "decoder") {
		t.Fatalf("message %q does not mention the decoder", e.Message)
	}
	_, err = llama.EvalLoss(Batch{InputIDs: ids, BatchSize: 2, SeqLen: 4, DecoderInputIDs: []int32{1, 2, 3, 4, 5, 6}})
	requireStatus(t, err, StatusInvalidArgument)

	// Decoder inputs whose count is not BatchSize*DecoderSeqLen.
	_, err = t5.Logits(Batch{InputIDs: batch.InputIDs, BatchSize: t5Rows, SeqLen: t5Seq, DecoderSeqLen: t5Targets,
		DecoderInputIDs: []int32{0, 1, 2}}, LogitsAll)
	requireStatus(t, err, StatusShapeMismatch)

	// TaskSeq2SeqLM is the only task T5 takes (the default, TaskCausalLM, included), and only T5 takes it.
	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = t5NumVirtualTokens
	opts.Seed = t5Seed
	_, err = NewAdapter(t5, &opts)
	requireStatus(t, err, StatusUnsupported)
	opts.TaskType = TaskSeqCls
	opts.NumLabels = 2
	_, err = NewAdapter(t5, &opts)
	requireStatus(t, err, StatusUnsupported)
	opts.TaskType = TaskSeq2SeqLM
	opts.NumLabels = 0
	_, err = NewAdapter(llama, &opts)
	requireStatus(t, err, StatusUnsupported)

	// Scoring continuations is for decoder-only models.
	contextOpts := DefaultContextOptions()
	contextOpts.MaxLength = 32
	c := try(NewContext(t5, nil, &contextOpts)).get(t)
	defer c.Close()
	_, err = c.Score(Prompts{IDs: [][]int32{{5, 6, 7}}}, [][]int32{{8, 9}})
	requireStatus(t, err, StatusUnsupported)
}

// t5ForwardLength is the reduction length tests/c/test_seq2seq_conformance.c states for T5 under the
// tolerance rule: twice the decoder-only forward length over every position of the call (the
// encoder's input, a prompt method's 2n virtual tokens, the decoder's positions), for two stacks
// whose attention (self and cross) reads at most that many keys.
func t5ForwardLength(info ModelInfo, virtualTokens int) float64 {
	return 2 * toleranceRuleForwardLength(info.NumLayers, info.HiddenSize, info.NumAttentionHeads, info.HeadDim, t5DFF,
		t5Seq+t5Targets+2*virtualTokens, 0)
}

// t5LossLength: a mean cross-entropy over the logits, the log-sum-exp over the vocabulary, then the
// mean.
func t5LossLength(info ModelInfo, forward float64) float64 {
	return forward + float64(info.VocabSize+t5Rows*t5Targets)
}

// realTokens is each row's real tokens (attention mask 1): the prompts as a user gives them.
func realTokens(batch Batch) [][]int32 {
	rows := make([][]int32, batch.BatchSize)
	for row := range rows {
		for i := row * batch.SeqLen; i < (row+1)*batch.SeqLen; i++ {
			if batch.AttentionMask[i] == 1 {
				rows[row] = append(rows[row], batch.InputIDs[i])
			}
		}
	}
	return rows
}

// untilEOS is ids up to and including the first eos (the row stops there), or all of them.
func untilEOS(ids []int32) []int32 {
	for i, id := range ids {
		if id == t5EOSID {
			return ids[:i+1]
		}
	}
	return ids
}
