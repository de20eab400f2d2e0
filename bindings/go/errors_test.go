package softprompt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A missing model folder is an error value carrying SP_ERR_NOT_FOUND and the library's message,
// which names the folder.
func TestMissingFolderIsNotFound(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-model")
	model, err := Open(missing, nil)
	if model != nil || err == nil {
		t.Fatalf("Open(%q) = %v, %v; want an error", missing, model, err)
	}
	var spErr *Error
	if !errors.As(fmt.Errorf("wrapped: %w", err), &spErr) {
		t.Fatalf("errors.As cannot find the *Error in %v", err)
	}
	if spErr.Status != StatusNotFound || !strings.Contains(spErr.Message, missing) {
		t.Fatalf("got %v %q, want SP_ERR_NOT_FOUND naming %s", spErr.Status, spErr.Message, missing)
	}
	if text := err.Error(); !strings.Contains(text, "SP_ERR_NOT_FOUND") || !strings.Contains(text, spErr.Message) {
		t.Fatalf("Error() = %q lacks the status or the message", text)
	}
	t.Logf("error: %v", err)

	_, err = LoadAdapter(llama, missing)
	requireStatus(t, err, StatusNotFound)
	_, err = LoadAdapterFile(llama, missing+".spadapter")
	requireStatus(t, err, StatusNotFound)
}

// A token id outside the vocabulary is SP_ERR_OUT_OF_RANGE naming the id, and the adapter is
// unchanged and usable afterwards (as the C API promises).
func TestTokenOutsideTheVocabularyIsOutOfRange(t *testing.T) {
	adapter := newTestAdapter(t, smallAdapterOptions(2))
	good := taskBatch()
	want := try(adapter.Logits(good, LogitsLast)).get(t)

	bad := taskBatch()
	bad.InputIDs = append([]int32(nil), bad.InputIDs...)
	bad.InputIDs[5] = 999
	_, err := adapter.Logits(bad, LogitsLast)
	spErr := requireStatus(t, err, StatusOutOfRange)
	if !strings.Contains(spErr.Message, "999") {
		t.Fatalf("message %q does not name the id 999", spErr.Message)
	}
	t.Logf("error: %v", err)
	_, err = adapter.EvalLoss(bad)
	requireStatus(t, err, StatusOutOfRange)
	_, err = llama.Logits(bad, LogitsAll)
	requireStatus(t, err, StatusOutOfRange)
	trainer := try(NewTrainer(adapter, nil)).get(t)
	defer trainer.Close()
	_, err = trainer.Step(bad)
	requireStatus(t, err, StatusOutOfRange)

	requireIdentical(t, "logits after the failed calls", try(adapter.Logits(good, LogitsLast)).get(t), want)
}

// Other failures of the library arrive with their status: a corrupt adapter file, an invalid
// option, an unknown tensor name, a wrong mask length, a multitask batch without task ids.
func TestLibraryErrorsCarryTheirStatus(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.spadapter")
	if err := os.WriteFile(garbage, []byte("this is not an adapter file"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadAdapterFile(llama, garbage)
	requireStatus(t, err, StatusFormat)

	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 0
	_, err = NewAdapter(llama, &opts)
	requireStatus(t, err, StatusInvalidArgument)

	adapter := newTestAdapter(t, smallAdapterOptions(4))
	_, err = adapter.Parameter("no.such.tensor")
	requireStatus(t, err, StatusNotFound)

	batch := taskBatch()
	batch.AttentionMask = []int32{1, 1, 1}
	_, err = adapter.Logits(batch, LogitsLast)
	if spErr := requireStatus(t, err, StatusShapeMismatch); !strings.Contains(spErr.Message, "attention_mask") {
		t.Fatalf("message %q does not name the attention mask", spErr.Message)
	}

	mpt := DefaultAdapterOptions()
	mpt.Method = MethodMultitaskPromptTuning
	mpt.NumVirtualTokens = 4
	mpt.NumTasks = 2
	multitask := newTestAdapter(t, mpt)
	batch = taskBatch()
	batch.TaskIDs = nil
	_, err = multitask.Logits(batch, LogitsLast)
	spErr := requireStatus(t, err, StatusInvalidArgument)
	t.Logf("multitask adapter without task ids: %s", spErr.Message)
}

// Arguments that cannot be passed to C faithfully are refused in Go, with the status the library
// gives the same mistake.
func TestArgumentsCheckedBeforeTheCall(t *testing.T) {
	_, err := Open("models\x00llama", nil)
	requireStatus(t, err, StatusInvalidArgument)

	batch := taskBatch()
	batch.SeqLen = 9 // InputIDs holds 4 x 10: the output size cannot be trusted
	_, err = llama.Logits(batch, LogitsLast)
	requireStatus(t, err, StatusShapeMismatch)
	batch.BatchSize, batch.SeqLen = 0, 0
	_, err = llama.EvalLoss(batch)
	requireStatus(t, err, StatusInvalidArgument)
	_, err = llama.Logits(taskBatch(), LogitsMode(7))
	requireStatus(t, err, StatusInvalidArgument)

	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 1 << 40
	_, err = NewAdapter(llama, &opts)
	requireStatus(t, err, StatusInvalidArgument)
	_, err = NewAdapter(nil, nil)
	requireStatus(t, err, StatusInvalidArgument)
}

// Asking for CUDA where there is none is SP_ERR_DEVICE.
func TestUnavailableDeviceIsReported(t *testing.T) {
	if CUDADeviceCount() > 0 {
		t.Skip("this machine has a CUDA device")
	}
	opts := DefaultModelOptions()
	opts.Device = DeviceCUDA
	_, err := Open(filepath.Join(testModels, "llama"), &opts)
	spErr := requireStatus(t, err, StatusDevice)
	t.Logf("CUDA without a device: %s", spErr.Message)
}
