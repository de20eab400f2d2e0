package softprompt

// Shared set-up of the tests: the paths ctest passes in, one shared model, the fixed task batch,
// and small helpers. Run through ctest (ctest -R go_tests), which creates the model folders and
// the C reference outputs first and sets:
//
//	SP_TEST_MODELS        folder of the tiny test models (tests/make_models.cmake)
//	SP_BINDING_REFERENCE  what the C API returns on a fixed input (tests/c/write_binding_reference.c)
//	SP_ENCODER_REFERENCE  the tiny BERT and RoBERTa with transformers' and PEFT's outputs
//	                      (tests/reference/encoder_reference.py; read by encoder_test.go)
//	SP_T5_REFERENCE       the tiny T5 models with transformers' and PEFT's outputs
//	                      (tests/reference/t5_reference.py; read by seq2seq_test.go)
//	SP_TEST_DEVICE        optional: "cuda" runs the shared model on the GPU

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var (
	testModels   string // SP_TEST_MODELS
	referenceDir string // SP_BINDING_REFERENCE
	encoderDir   string // SP_ENCODER_REFERENCE
	t5Dir        string // SP_T5_REFERENCE
	llama        *Model // the tiny llama model (vocab 256, hidden 64, 2 layers), shared by the tests
)

func TestMain(m *testing.M) {
	testModels = os.Getenv("SP_TEST_MODELS")
	referenceDir = os.Getenv("SP_BINDING_REFERENCE")
	encoderDir = os.Getenv("SP_ENCODER_REFERENCE")
	t5Dir = os.Getenv("SP_T5_REFERENCE")
	if testModels == "" || referenceDir == "" {
		fmt.Fprintln(os.Stderr, "SP_TEST_MODELS and SP_BINDING_REFERENCE must be set: run the tests with ctest -R go_tests")
		os.Exit(2)
	}
	var err error
	if llama, err = Open(filepath.Join(testModels, "llama"), testModelOptions()); err != nil {
		fmt.Fprintln(os.Stderr, "cannot open the test model:", err)
		os.Exit(1)
	}
	code := m.Run()
	llama.Close()
	os.Exit(code)
}

// testModelOptions: CPU float32 unless SP_TEST_DEVICE=cuda.
func testModelOptions() *ModelOptions {
	opts := DefaultModelOptions()
	if os.Getenv("SP_TEST_DEVICE") == "cuda" {
		opts.Device = DeviceCUDA
	}
	return &opts
}

const taskRows, taskSeqLen = 4, 10

// taskBatch is a fixed small task: four pseudo-random token sequences to be continued, rows
// alternating between tasks 0 and 1 (used by multitask prompt tuning only). The same generator as
// tests/c/test_training.c.
func taskBatch() Batch {
	ids := make([]int32, taskRows*taskSeqLen)
	state := uint32(99)
	for i := range ids {
		state = state*1103515245 + 12345
		ids[i] = int32(3 + (state>>10)%250)
	}
	return Batch{InputIDs: ids, TaskIDs: []int32{0, 1, 0, 1}, BatchSize: taskRows, SeqLen: taskSeqLen}
}

// newTestAdapter creates an adapter on the shared model, closed when the test ends.
func newTestAdapter(t *testing.T, opts AdapterOptions) *Adapter {
	t.Helper()
	a, err := NewAdapter(llama, &opts)
	if err != nil {
		t.Fatalf("NewAdapter(%+v): %v", opts, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// smallAdapterOptions: a prompt-tuning adapter of 4 virtual tokens.
func smallAdapterOptions(seed uint64) AdapterOptions {
	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 4
	opts.Seed = seed
	return opts
}

// requireStatus fails unless err is an *Error with the given status, and returns it.
func requireStatus(t *testing.T, err error, status Status) *Error {
	t.Helper()
	var spErr *Error
	if !errors.As(err, &spErr) {
		t.Fatalf("expected an *Error with %v, got %v (%T)", status, err, err)
	}
	if spErr.Status != status {
		t.Fatalf("expected %v, got %v: %s", status, spErr.Status, spErr.Message)
	}
	return spErr
}

// result holds a value and an error, so that a test can write try(f()).get(t) instead of
// checking each error by hand.
type result[T any] struct {
	value T
	err   error
}

func try[T any](value T, err error) result[T] { return result[T]{value, err} }

// get returns the value, or fails the test with the error.
func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.value
}
