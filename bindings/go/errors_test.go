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

// Batch sizes, lengths and the logits mode are the library's to check: its status and message
// (which names its field) reach the caller, whichever call sees them first.
func TestBatchErrorsComeFromTheLibrary(t *testing.T) {
	batch := taskBatch()
	batch.SeqLen = 9 // InputIDs holds 4 x 10
	_, err := llama.Logits(batch, LogitsLast)
	requireMessage(t, requireStatus(t, err, StatusShapeMismatch), "input_ids has 40 values")

	// 5 ids for 100000 x 100000 tokens: no buffer is sized for the 2.56e12 logits of such a batch.
	huge := Batch{InputIDs: []int32{1, 2, 3, 4, 5}, BatchSize: 100000, SeqLen: 100000}
	_, err = llama.Logits(huge, LogitsAll)
	requireMessage(t, requireStatus(t, err, StatusShapeMismatch), "input_ids has 5 values")

	noRows := taskBatch()
	noRows.BatchSize = 0
	_, err = llama.Logits(noRows, LogitsLast)
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "batch_size")
	_, err = llama.EvalLoss(noRows)
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "batch_size")
	adapter := newTestAdapter(t, smallAdapterOptions(2))
	_, err = adapter.EvalLoss(noRows)
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "batch_size")
	trainer := try(NewTrainer(adapter, nil)).get(t)
	defer trainer.Close()
	_, err = trainer.Step(noRows)
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "batch_size")

	noTokens := taskBatch()
	noTokens.SeqLen = -1
	_, err = adapter.Logits(noTokens, LogitsAll)
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "seq_len")

	_, err = llama.Logits(taskBatch(), LogitsMode(7))
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "mode")
}

// Arguments that cannot be passed to C faithfully are refused in Go, with the status the library
// gives the same mistake.
func TestArgumentsCheckedBeforeTheCall(t *testing.T) {
	_, err := Open("models\x00llama", nil)
	requireStatus(t, err, StatusInvalidArgument)

	batch := taskBatch()
	batch.BatchSize = 1<<32 + 4 // would reach C as 4, the batch's real size
	_, err = llama.Logits(batch, LogitsLast)
	requireMessage(t, requireStatus(t, err, StatusInvalidArgument), "32 bits")

	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 1 << 40
	_, err = NewAdapter(llama, &opts)
	requireStatus(t, err, StatusInvalidArgument)
	_, err = NewAdapter(nil, nil)
	requireStatus(t, err, StatusInvalidArgument)
}

// requireMessage fails unless the error's message contains want.
func requireMessage(t *testing.T, err *Error, want string) {
	t.Helper()
	if !strings.Contains(err.Message, want) {
		t.Fatalf("message %q does not contain %q", err.Message, want)
	}
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
