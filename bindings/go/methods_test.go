package softprompt

import (
	"math"
	"testing"
)

// methodCase is one soft-prompt method with the settings and learning rate it trains well with
// (those of tests/c/test_training.c).
type methodCase struct {
	name         string
	configure    func(*AdapterOptions)
	learningRate float64
}

var methodCases = []methodCase{
	{"prompt tuning", func(o *AdapterOptions) { o.Init = InitSampleVocab }, 0.1},
	{"prefix tuning", func(o *AdapterOptions) { o.Method = MethodPrefixTuning }, 0.05},
	{"prefix tuning with projection", func(o *AdapterOptions) {
		o.Method = MethodPrefixTuning
		o.PrefixProjection = true
	}, 3e-3},
	{"P-tuning MLP", func(o *AdapterOptions) { o.Method = MethodPTuning; o.EncoderType = EncoderMLP }, 3e-3},
	{"P-tuning LSTM", func(o *AdapterOptions) { o.Method = MethodPTuning; o.EncoderType = EncoderLSTM }, 3e-3},
	{"multitask prompt tuning", func(o *AdapterOptions) {
		o.Method = MethodMultitaskPromptTuning
		o.NumTasks = 2
	}, 0.1},
}

// adapterOptions returns the options of a method case: 8 virtual tokens, seed 1.
func (c methodCase) adapterOptions() AdapterOptions {
	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 8
	opts.Seed = 1
	c.configure(&opts)
	return opts
}

const trainingSteps = 100

// An adapter of every method trains: the evaluation loss falls to below 80% of its start within
// 100 steps (the C suite's 200 steps halve it), the trainable tensors change, and the gradient of
// the last update has each tensor's size.
func TestEveryMethodTrainsAndTheLossFalls(t *testing.T) {
	batch := taskBatch()
	for _, c := range methodCases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.adapterOptions()
			adapter := newTestAdapter(t, opts)
			info := try(adapter.Info()).get(t)
			if info.Method != opts.Method || info.NumVirtualTokens != 8 {
				t.Fatalf("info %+v does not describe the adapter created with %+v", info, opts)
			}
			if wantTasks := map[bool]int{true: 2, false: 0}[opts.Method == MethodMultitaskPromptTuning]; info.NumTasks != wantTasks {
				t.Fatalf("NumTasks = %d, want %d", info.NumTasks, wantTasks)
			}
			names := try(adapter.ParameterNames()).get(t)
			if len(names) != info.NumParameterTensors || len(names) == 0 {
				t.Fatalf("ParameterNames() = %v, info says %d tensors", names, info.NumParameterTensors)
			}
			before := map[string][]float32{}
			total := 0
			for _, name := range names {
				before[name] = try(adapter.Parameter(name)).get(t)
				total += len(before[name])
			}
			if int64(total) != info.NumTrainableParameters {
				t.Fatalf("tensors %v hold %d values, info says %d", names, total, info.NumTrainableParameters)
			}

			trainerOpts := DefaultTrainerOptions()
			trainerOpts.LearningRate = c.learningRate
			trainer := try(NewTrainer(adapter, &trainerOpts)).get(t)
			defer trainer.Close()
			if _, err := trainer.Gradient(names[0]); err == nil {
				t.Fatal("Gradient before the first update succeeded")
			} else {
				requireStatus(t, err, StatusNotFound)
			}
			start := try(adapter.EvalLoss(batch)).get(t).MeanLoss
			var last TrainResult
			for step := 1; step <= trainingSteps; step++ {
				last = try(trainer.Step(batch)).get(t)
				if !last.Updated || last.UpdatesDone != int64(step) {
					t.Fatalf("step %d: %+v, expected an update each step", step, last)
				}
			}
			end := try(adapter.EvalLoss(batch)).get(t).MeanLoss
			t.Logf("%-30s %d tensors, %5d values: loss %.4f -> %.4f after %d steps at lr %g (%.0f%%)", c.name,
				len(names), total, start, end, trainingSteps, c.learningRate, 100*end/start)
			if !(end < 0.8*start) {
				t.Fatalf("loss %.4f did not fall below 80%% of %.4f", end, start)
			}
			for _, name := range names {
				after := try(adapter.Parameter(name)).get(t)
				if equalFloats(after, before[name]) {
					t.Errorf("tensor %s did not change in training", name)
				}
				gradient := try(trainer.Gradient(name)).get(t)
				if len(gradient) != len(after) {
					t.Errorf("gradient of %s has %d values, the tensor %d", name, len(gradient), len(after))
				}
			}
		})
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Trainer options reach the C library: with AccumulationSteps 2 every second step updates, and
// with WarmupSteps 4 the rate ramps up linearly from 0 (transformers' schedule: the first update
// uses 0, the second LearningRate/4).
func TestTrainerOptionsAreApplied(t *testing.T) {
	adapter := newTestAdapter(t, smallAdapterOptions(3))
	opts := DefaultTrainerOptions()
	opts.LearningRate = 0.08
	opts.AccumulationSteps = 2
	opts.WarmupSteps = 4
	trainer := try(NewTrainer(adapter, &opts)).get(t)
	defer trainer.Close()
	var results []TrainResult
	for i := 0; i < 4; i++ {
		results = append(results, try(trainer.Step(taskBatch())).get(t))
	}
	if results[0].Updated || !results[1].Updated || results[2].Updated || !results[3].Updated || results[3].UpdatesDone != 2 {
		t.Fatalf("with accumulation over 2 micro-batches: %+v", results)
	}
	if want := float32(0.08 / 4); results[1].LearningRate != 0 || math.Abs(float64(results[3].LearningRate-want)) > 1e-7 {
		t.Fatalf("learning rates %v and %v of the first two updates, want 0 and %v", results[1].LearningRate,
			results[3].LearningRate, want)
	}
}

// Adapter options reach the C library: the virtual token count, the multitask sizes and TEXT
// init from token ids (whose table is then the embeddings of those ids, so two adapters from the
// same ids are equal whatever their seeds).
func TestAdapterOptionsAreApplied(t *testing.T) {
	opts := DefaultAdapterOptions()
	opts.NumVirtualTokens = 7
	opts.Init = InitText
	opts.InitTokenIDs = []int32{5, 6, 7}
	opts.InitText = "five six seven"
	a := newTestAdapter(t, opts)
	opts.Seed = 1234
	b := newTestAdapter(t, opts)
	if info := try(a.Info()).get(t); info.NumVirtualTokens != 7 || info.NumTrainableParameters != 7*64 {
		t.Fatalf("info %+v, want 7 virtual tokens of width 64", info)
	}
	tableA := try(a.Parameter("embedding.weight")).get(t)
	if !equalFloats(tableA, try(b.Parameter("embedding.weight")).get(t)) {
		t.Fatal("TEXT init from the same token ids gave different tables")
	}
	// Row 3 repeats row 0 (the ids are cycled to fill 7 tokens).
	if !equalFloats(tableA[3*64:4*64], tableA[0:64]) {
		t.Fatal("TEXT init did not cycle the token ids")
	}

	mpt := DefaultAdapterOptions()
	mpt.Method = MethodMultitaskPromptTuning
	mpt.NumVirtualTokens = 4
	mpt.NumTasks = 3
	mpt.NumRanks = 2
	info := try(newTestAdapter(t, mpt).Info()).get(t)
	if info.NumTasks != 3 {
		t.Fatalf("multitask info %+v, want 3 tasks", info)
	}
}
