package softprompt

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// readFloats reads a raw little-endian float32 file written by write_binding_reference.
func readFloats(t *testing.T, name string) []float32 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(referenceDir, name))
	if err != nil {
		t.Fatalf("reading the C reference: %v", err)
	}
	if len(data)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of float32s", name, len(data))
	}
	values := make([]float32, len(data)/4)
	for i := range values {
		values[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return values
}

// requireIdentical fails unless got and want hold the same float32 values, bit for bit.
func requireIdentical(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d is %v, want %v (exact equality expected)", what, i, got[i], want[i])
		}
	}
}

// Through Go, the reference input gives exactly what the C API gave (tolerance: none, the bits
// must be equal: both run the same library code on the same CPU, in float32).
func TestLogitsAndLossEqualTheCAPIOnTheSameInput(t *testing.T) {
	// The input of tests/c/write_binding_reference.c: a prompt-tuning adapter of 4 virtual tokens,
	// RANDOM init, seed 5, on a CPU float32 model; 2 rows x 6 ids (3..8 and 9..14), attention
	// mask 1 except the last two tokens of row 1, no labels.
	model := try(Open(filepath.Join(testModels, "llama"), nil)).get(t)
	defer model.Close()
	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 4
	opts.Init = InitRandom
	opts.Seed = 5
	adapter := try(NewAdapter(model, &opts)).get(t)
	defer adapter.Close()
	batch := Batch{InputIDs: make([]int32, 12), AttentionMask: make([]int32, 12), BatchSize: 2, SeqLen: 6}
	for i := range batch.InputIDs {
		batch.InputIDs[i] = int32(3 + i)
		if i < 10 {
			batch.AttentionMask[i] = 1
		}
	}

	requireIdentical(t, "ALL logits", try(adapter.Logits(batch, LogitsAll)).get(t), readFloats(t, "logits_all.f32"))
	requireIdentical(t, "LAST logits", try(adapter.Logits(batch, LogitsLast)).get(t), readFloats(t, "logits_last.f32"))
	loss := try(adapter.EvalLoss(batch)).get(t)
	requireIdentical(t, "mean loss", []float32{loss.MeanLoss}, readFloats(t, "loss.f32"))
	requireIdentical(t, "row log-likelihoods", loss.RowLogLikelihoods, readFloats(t, "rows.f32"))
	t.Logf("logits (2x6x%d and 2x%d), loss %.6f and row log-likelihoods %v equal the C API's bit for bit",
		model.info.VocabSize, model.info.VocabSize, loss.MeanLoss, loss.RowLogLikelihoods)
}
