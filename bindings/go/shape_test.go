package softprompt

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Per-tensor shapes (sp_adapter_parameter_shape), the adapter's vocabulary size and the AllowTF32
// model option. The expected shapes follow from how PyTorch and PEFT define the tensors, not from
// the library: an nn.LSTM's weight_ih_l0 is (4*hidden_size, input_size), PEFT's MPT column factors
// are (num_tasks, num_virtual_tokens, num_ranks).

const tinyHidden = 64 // the tiny llama's hidden size (tests/make_models.cmake)

// For every tensor of every method, the product of the shape is the tensor's length.
func TestParameterShapeProductIsTheParameterSize(t *testing.T) {
	for _, c := range methodCases {
		t.Run(c.name, func(t *testing.T) {
			adapter := newTestAdapter(t, c.adapterOptions())
			total := int64(0)
			for _, name := range try(adapter.ParameterNames()).get(t) {
				shape := try(adapter.ParameterShape(name)).get(t)
				product := int64(1)
				for _, dim := range shape {
					if dim <= 0 {
						t.Fatalf("%s has shape %v", name, shape)
					}
					product *= dim
				}
				if n := len(try(adapter.Parameter(name)).get(t)); len(shape) == 0 || product != int64(n) {
					t.Fatalf("%s: shape %v, but %d values", name, shape, n)
				}
				total += product
			}
			if info := try(adapter.Info()).get(t); total != info.NumTrainableParameters {
				t.Fatalf("shapes hold %d values, info says %d", total, info.NumTrainableParameters)
			}
		})
	}
}

func requireShape(t *testing.T, adapter *Adapter, name string, want ...int64) {
	t.Helper()
	if got := try(adapter.ParameterShape(name)).get(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("ParameterShape(%q) = %v, want %v", name, got, want)
	}
}

// A bidirectional LSTM of width 24 over the 64-wide embeddings.
func TestLSTMInputWeightsAreFourGatesByInput(t *testing.T) {
	const encoderHidden = 24
	opts := DefaultAdapterOptions()
	opts.Method, opts.EncoderType, opts.EncoderHiddenSize, opts.NumVirtualTokens = MethodPTuning, EncoderLSTM, encoderHidden, 8
	adapter := newTestAdapter(t, opts)
	requireShape(t, adapter, "lstm_head.weight_ih_l0", 4*encoderHidden, tinyHidden)
	requireShape(t, adapter, "lstm_head.weight_hh_l0", 4*encoderHidden, encoderHidden)
	requireShape(t, adapter, "lstm_head.weight_ih_l1", 4*encoderHidden, 2*encoderHidden) // reads both directions
	requireShape(t, adapter, "lstm_head.bias_ih_l0", 4*encoderHidden)
}

func TestMPTTaskColumnsAreTasksByTokensByRanks(t *testing.T) {
	opts := DefaultAdapterOptions()
	opts.Method, opts.NumTasks, opts.NumVirtualTokens, opts.NumRanks = MethodMultitaskPromptTuning, 3, 5, 2
	adapter := newTestAdapter(t, opts)
	requireShape(t, adapter, "prefix_task_cols", 3, 5, 2)
	requireShape(t, adapter, "prefix_task_rows", 3, 2, tinyHidden)
	requireShape(t, adapter, "embedding.weight", 5, tinyHidden)
}

func TestParameterShapeOfAnUnknownNameIsNotFound(t *testing.T) {
	adapter := newTestAdapter(t, smallAdapterOptions(1))
	shape, err := adapter.ParameterShape("no.such.tensor")
	if shape != nil {
		t.Fatalf("ParameterShape of an unknown name returned %v", shape)
	}
	if e := requireStatus(t, err, StatusNotFound); !strings.Contains(e.Message, "no.such.tensor") {
		t.Fatalf("message %q does not name the tensor", e.Message)
	}
	requireShape(t, adapter, "embedding.weight", 4, tinyHidden) // still usable
}

// Every method's adapter reports its model's vocabulary.
func TestAdapterVocabSizeIsTheModels(t *testing.T) {
	model := try(llama.Info()).get(t)
	if model.VocabSize != 256 { // tests/make_models.cmake
		t.Fatalf("model vocabulary %d, want 256", model.VocabSize)
	}
	for _, c := range methodCases {
		if got := try(newTestAdapter(t, c.adapterOptions()).Info()).get(t).VocabSize; got != model.VocabSize {
			t.Fatalf("%s: adapter VocabSize %d, model's %d", c.name, got, model.VocabSize)
		}
	}
}

// AllowTF32 is a CUDA float32 switch: on the CPU both settings open the model, and the logits are
// bit for bit the same (the CPU has no TF32 path to take).
func TestAllowTF32EitherWayOpensACPUModel(t *testing.T) {
	batch := Batch{InputIDs: []int32{3, 9, 27, 81}, BatchSize: 1, SeqLen: 4}
	var logits [2][]float32
	for i, allow := range []bool{false, true} {
		opts := DefaultModelOptions()
		opts.Device, opts.AllowTF32 = DeviceCPU, allow
		m := try(Open(filepath.Join(testModels, "llama"), &opts)).get(t)
		logits[i] = try(m.Logits(batch, LogitsLast)).get(t)
		m.Close()
		if len(logits[i]) != 256 {
			t.Fatalf("AllowTF32 %v: %d logits, want 256", allow, len(logits[i]))
		}
	}
	for j := range logits[0] {
		if logits[0][j] != logits[1][j] {
			t.Fatalf("logit %d: %v with AllowTF32 false, %v with true", j, logits[0][j], logits[1][j])
		}
	}
}
