package softprompt

// Encoders and task types through Go, on the tiny BERT of the encoder_reference fixture
// (tests/reference/encoder_reference.py): model information, a P-tuning TaskSeqCls adapter whose
// class scores, loss and starting head are transformers'/PEFT's for the same settings, hidden
// states, training on row labels, and the errors the new batch slices and calls bring.

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// encoder_reference.py's constants: the batch is 3 rows of 7, the ptuning_mlp case has 4 virtual
// tokens, an encoder of width 16 and seed 11; the heads have 3 classes.
const (
	encRows, encSeq          = 3, 7
	encNumVirtualTokens      = 4
	encEncoderHiddenSize     = 16
	encSeed                  = 11
	encNumLabels             = 3
	encIntermediateSize      = 64 // config.json's intermediate_size (not in sp_model_info)
	encTolerance             = 4.0
	encFloat32UnitRoundoff   = 1.0 / (1 << 24)
	encPtuningSeqClsCaseName = "ptuning_mlp_seq_cls"
)

// openBert opens the reference's tiny BERT (closed when the test ends) and reads its batch (with
// token types and row labels).
func openBert(t *testing.T) (*Model, Batch) {
	t.Helper()
	if encoderDir == "" {
		t.Fatal("SP_ENCODER_REFERENCE must be set: run the tests with ctest -R go_tests")
	}
	bert := try(Open(filepath.Join(encoderDir, "models", "bert"), nil)).get(t)
	t.Cleanup(func() { bert.Close() })
	data := filepath.Join(encoderDir, "bert")
	return bert, Batch{
		InputIDs:      readEncoderInts(t, filepath.Join(data, "input_ids.i32")),
		AttentionMask: readEncoderInts(t, filepath.Join(data, "attention_mask.i32")),
		TokenTypeIDs:  readEncoderInts(t, filepath.Join(data, "token_type_ids.i32")),
		RowLabels:     readEncoderInts(t, filepath.Join(data, "seq_labels.i32")),
		BatchSize:     encRows,
		SeqLen:        encSeq,
	}
}

// seqClsOptions is the reference's ptuning_mlp case as a TaskSeqCls adapter.
func seqClsOptions() AdapterOptions {
	opts := DefaultAdapterOptions()
	opts.Method = MethodPTuning
	opts.EncoderType = EncoderMLP
	opts.NumVirtualTokens = encNumVirtualTokens
	opts.EncoderHiddenSize = encEncoderHiddenSize
	opts.Seed = encSeed
	opts.TaskType = TaskSeqCls
	opts.NumLabels = encNumLabels
	return opts
}

func newSeqClsAdapter(t *testing.T, bert *Model) *Adapter {
	t.Helper()
	opts := seqClsOptions()
	a := try(NewAdapter(bert, &opts)).get(t)
	t.Cleanup(func() { a.Close() })
	return a
}

func TestBertInfoHasTokenTypesAndNoLanguageModellingHead(t *testing.T) {
	bert, batch := openBert(t)
	info := try(bert.Info()).get(t)
	if info.ModelType != "bert" || info.TypeVocabSize != 2 || info.HasLMHead || info.HiddenSize != 32 {
		t.Fatalf("info %+v: want bert, 2 token types, no LM head, hidden 32", info)
	}
	_, err := bert.Logits(batch, LogitsLast)
	requireStatus(t, err, StatusUnsupported)
}

func TestSeqClsAdapterInfoAndStartingHead(t *testing.T) {
	bert, _ := openBert(t)
	adapter := newSeqClsAdapter(t, bert)
	info := try(adapter.Info()).get(t)
	if info.TaskType != TaskSeqCls || info.NumLabels != encNumLabels || info.HiddenSize != 32 {
		t.Fatalf("info %+v: want SEQ_CLS, %d labels, hidden 32", info, encNumLabels)
	}
	names := try(adapter.ParameterNames()).get(t)
	if !strings.Contains(" "+strings.Join(names, " ")+" ", " base_model.classifier.weight ") {
		t.Fatalf("no head among %v", names)
	}
	// TaskType, NumLabels and Seed reach the library: the head starts as transformers draws it.
	requireIdentical(t, "classifier.weight", try(adapter.Parameter("base_model.classifier.weight")).get(t),
		readEncoderFloats(t, filepath.Join(encoderDir, "bert", encPtuningSeqClsCaseName,
			"init__base_model.classifier.weight.f32")))
}

func TestClassScoresArePeftsAndProbabilitiesSumToOne(t *testing.T) {
	bert, batch := openBert(t)
	adapter := newSeqClsAdapter(t, bert)
	logits := try(adapter.Classify(batch, ClassLogits)).get(t)
	if len(logits) != encRows*encNumLabels {
		t.Fatalf("%d class logits, want %d", len(logits), encRows*encNumLabels)
	}
	// The same call again gives the same bits (the library's values, nothing added on the way).
	requireIdentical(t, "second call", try(adapter.Classify(batch, ClassLogits)).get(t), logits)

	// tests/c/tolerance_rule.h with the encoder forward over n + S keys, P-tuning's MLP in front
	// (hidden + 2 * encoder width) and the SEQ_CLS pooler's product (+ hidden), as
	// test_encoder_conformance.c states it.
	info := try(bert.Info()).get(t)
	length := encoderForwardLength(info, encNumVirtualTokens+encSeq, float64(info.HiddenSize+2*encEncoderHiddenSize)) +
		float64(info.HiddenSize)
	requireWithinToleranceRule(t, "class logits", logits,
		readEncoderFloats(t, filepath.Join(encoderDir, "bert", encPtuningSeqClsCaseName, "logits.f32")), length)

	probabilities := try(adapter.Classify(batch, ClassProbabilities)).get(t)
	if len(probabilities) != encRows*encNumLabels {
		t.Fatalf("%d probabilities, want %d", len(probabilities), encRows*encNumLabels)
	}
	for row := 0; row < encRows; row++ {
		scores, p := logits[row*encNumLabels:(row+1)*encNumLabels], probabilities[row*encNumLabels:(row+1)*encNumLabels]
		sum, norm, largest := 0.0, 0.0, math.Inf(-1)
		for c := range p {
			sum += float64(p[c])
			largest = math.Max(largest, float64(scores[c]))
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Fatalf("row %d: probabilities sum to %v", row, sum)
		}
		for c := range scores {
			norm += math.Exp(float64(scores[c]) - largest)
		}
		for c := range p {
			if want := math.Exp(float64(scores[c])-largest) / norm; math.Abs(float64(p[c])-want) > 1e-6 {
				t.Fatalf("row %d class %d: probability %v, softmax of the logits %v", row, c, p[c], want)
			}
		}
	}
}

// The token type ids travel with the batch: without them (all 0) the scores change.
func TestTokenTypeIDsChangeTheScores(t *testing.T) {
	bert, batch := openBert(t)
	adapter := newSeqClsAdapter(t, bert)
	with := try(adapter.Classify(batch, ClassLogits)).get(t)
	withoutTypes := batch
	withoutTypes.TokenTypeIDs = nil
	without := try(adapter.Classify(withoutTypes, ClassLogits)).get(t)
	largest := 0.0
	for i := range with {
		largest = math.Max(largest, math.Abs(float64(with[i]-without[i])))
	}
	if largest <= 1e-3 {
		t.Fatalf("token types made no difference (largest change %v)", largest)
	}
}

func TestLossOnRowLabelsIsPefts(t *testing.T) {
	bert, batch := openBert(t)
	adapter := newSeqClsAdapter(t, bert)
	evaluation := try(adapter.EvalLoss(batch)).get(t)
	if len(evaluation.RowLogLikelihoods) != encRows {
		t.Fatalf("%d row log-likelihoods, want %d", len(evaluation.RowLogLikelihoods), encRows)
	}
	info := try(bert.Info()).get(t)
	forward := encoderForwardLength(info, encNumVirtualTokens+encSeq, float64(info.HiddenSize+2*encEncoderHiddenSize)) +
		float64(info.HiddenSize)
	// The log-sum-exp over the classes, then the mean over the rows.
	requireWithinToleranceRule(t, "loss", []float32{evaluation.MeanLoss},
		readEncoderFloats(t, filepath.Join(encoderDir, "bert", encPtuningSeqClsCaseName, "loss.f32")),
		forward+encNumLabels+encRows)
}

func TestHiddenStatesHaveOneVectorPerToken(t *testing.T) {
	bert, batch := openBert(t)
	adapter := newSeqClsAdapter(t, bert)
	info := try(bert.Info()).get(t)
	if hidden := try(adapter.HiddenStates(batch)).get(t); len(hidden) != encRows*encSeq*info.HiddenSize {
		t.Fatalf("adapter: %d hidden values, want %d", len(hidden), encRows*encSeq*info.HiddenSize)
	}
	base := try(bert.HiddenStates(batch)).get(t)
	if len(base) != encRows*encSeq*info.HiddenSize {
		t.Fatalf("model: %d hidden values, want %d", len(base), encRows*encSeq*info.HiddenSize)
	}
	requireWithinToleranceRule(t, "base hidden states", base,
		readEncoderFloats(t, filepath.Join(encoderDir, "bert", "base_hidden.f32")), encoderForwardLength(info, encSeq, 0))
}

func TestTrainingOnRowLabelsLowersTheLoss(t *testing.T) {
	bert, batch := openBert(t)
	adapter := newSeqClsAdapter(t, bert)
	opts := DefaultTrainerOptions()
	opts.LearningRate = 1e-2
	trainer := try(NewTrainer(adapter, &opts)).get(t)
	defer trainer.Close()
	before := try(adapter.EvalLoss(batch)).get(t).MeanLoss
	var last TrainResult
	for step := 0; step < 8; step++ {
		last = try(trainer.Step(batch)).get(t)
		if !last.Updated {
			t.Fatalf("step %d made no update", step)
		}
	}
	after := try(adapter.EvalLoss(batch)).get(t).MeanLoss
	if after >= before-0.05 || last.UpdatesDone != 8 {
		t.Fatalf("loss %v -> %v after %d updates: expected a fall of more than 0.05 in 8", before, after,
			last.UpdatesDone)
	}
}

func TestEncoderErrorsMapToTheirStatuses(t *testing.T) {
	bert, batch := openBert(t)
	adapter := newSeqClsAdapter(t, bert)

	// Logits need a TaskCausalLM adapter on a decoder.
	_, err := adapter.Logits(batch, LogitsAll)
	if e := requireStatus(t, err, StatusUnsupported); !strings.Contains(e.Message, "logits") {
		t.Fatalf("message %q does not mention logits", e.Message)
	}

	// A row label outside [0, NumLabels).
	badLabel := batch
	badLabel.RowLabels = []int32{0, encNumLabels, 1}
	_, err = adapter.EvalLoss(badLabel)
	requireStatus(t, err, StatusOutOfRange)
	trainer := try(NewTrainer(adapter, nil)).get(t)
	defer trainer.Close()
	_, err = trainer.Step(badLabel)
	requireStatus(t, err, StatusOutOfRange)

	// Row labels are one per row; a token type outside the model's type vocabulary.
	shortLabels := Batch{InputIDs: batch.InputIDs, RowLabels: []int32{0, 1}, BatchSize: encRows, SeqLen: encSeq}
	_, err = adapter.EvalLoss(shortLabels)
	requireStatus(t, err, StatusShapeMismatch)
	badType := Batch{InputIDs: batch.InputIDs, TokenTypeIDs: append([]int32(nil), batch.TokenTypeIDs...),
		BatchSize: encRows, SeqLen: encSeq}
	badType.TokenTypeIDs[0] = 2
	_, err = adapter.Classify(badType, ClassLogits)
	requireStatus(t, err, StatusOutOfRange)

	// Class scores are a TaskSeqCls or TaskTokenCls adapter's.
	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = encNumVirtualTokens
	opts.Seed = encSeed
	opts.TaskType = TaskFeatureExtraction
	features := try(NewAdapter(bert, &opts)).get(t)
	defer features.Close()
	if info := try(features.Info()).get(t); info.NumLabels != 0 || info.TaskType != TaskFeatureExtraction {
		t.Fatalf("feature-extraction adapter info %+v", info)
	}
	_, err = features.Classify(batch, ClassProbabilities)
	requireStatus(t, err, StatusUnsupported)
	if hidden := try(features.HiddenStates(batch)).get(t); len(hidden) != encRows*encSeq*32 {
		t.Fatalf("%d hidden values, want %d", len(hidden), encRows*encSeq*32)
	}
}

// encoderForwardLength is tests/c/tolerance_rule.h's tolerance_rule_forward_length for the model's sizes.
func encoderForwardLength(info ModelInfo, keys int, encoderLength float64) float64 {
	return toleranceRuleForwardLength(info.NumLayers, info.HiddenSize, info.NumAttentionHeads, info.HeadDim,
		encIntermediateSize, keys, encoderLength)
}

// toleranceRuleForwardLength is tests/c/tolerance_rule.h's tolerance_rule_forward_length: the
// reduction length of one transformer forward pass from plain sizes (keys: the attention's key
// count; encoderLength: what came before the blocks).
func toleranceRuleForwardLength(layers, hidden, heads, headDim, intermediate, keys int, encoderLength float64) float64 {
	perLayer := float64(hidden*4 + 2*headDim + keys + heads*headDim + intermediate)
	return encoderLength + float64(layers)*perLayer + 2*float64(hidden)
}

// requireWithinToleranceRule: |got - want| <= 4 * 2^-24 * n * max|want| for every element
// (tolerance_rule.h).
func requireWithinToleranceRule(t *testing.T, what string, got, want []float32, length float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	magnitude := 0.0
	for _, value := range want {
		magnitude = math.Max(magnitude, math.Abs(float64(value)))
	}
	bound := encTolerance * encFloat32UnitRoundoff * length * magnitude
	for i := range got {
		if difference := math.Abs(float64(got[i]) - float64(want[i])); difference > bound {
			t.Fatalf("%s[%d]: %v vs %v differs by %v (bound %v)", what, i, got[i], want[i], difference, bound)
		}
	}
}

func readEncoderFloats(t *testing.T, path string) []float32 {
	t.Helper()
	data := try(os.ReadFile(path)).get(t)
	values := make([]float32, len(data)/4)
	for i := range values {
		values[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return values
}

func readEncoderInts(t *testing.T, path string) []int32 {
	t.Helper()
	data := try(os.ReadFile(path)).get(t)
	values := make([]int32, len(data)/4)
	for i := range values {
		values[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return values
}
