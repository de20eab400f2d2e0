// Command train_prompt is the whole life of a soft prompt through the Go binding, the same task
// as examples/c/train_prompt.c:
//
//	train_prompt <model-folder> <adapter-folder> [steps] [--method NAME]
//
// It loads a frozen model, creates an adapter of one soft-prompt method, trains it for steps
// updates (default 300) on a small fixed task, prints the loss as it falls, saves the adapter in
// PEFT's folder layout and in softprompt's single-file format, loads both back and checks that
// each reloaded adapter gives the same evaluation loss. It exits non-zero unless the loss fell and
// both reloaded adapters reproduce it.
//
// Methods (--method): prompt (default), prefix, prefix-projection, ptuning-mlp, ptuning-lstm, mpt.
//
// The task: four fixed token sequences that the frozen model should learn to continue (for mpt,
// rows alternate between two tasks). Only the soft prompt is trained; the model never changes.
package main

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"softprompt.dev/softprompt"
)

const rows, seqLen = 4, 12

const usage = "usage: train_prompt <model-folder> <adapter-folder> [steps] " +
	"[--method prompt|prefix|prefix-projection|ptuning-mlp|ptuning-lstm|mpt]"

func main() {
	method := "prompt"
	var positional []string
	for i := 1; i < len(os.Args); i++ {
		if os.Args[i] == "--method" && i+1 < len(os.Args) {
			i++
			method = os.Args[i]
		} else {
			positional = append(positional, os.Args[i])
		}
	}
	adapterOptions, learningRate, ok := configure(method)
	if len(positional) < 2 || len(positional) > 3 || !ok {
		fail(2, usage)
	}
	modelFolder, adapterFolder, steps := positional[0], positional[1], 300
	if len(positional) == 3 {
		var err error
		if steps, err = strconv.Atoi(positional[2]); err != nil || steps <= 0 {
			fail(2, usage)
		}
	}
	fmt.Printf("softprompt %s, method %s\n", softprompt.Version(), method)

	model := check(softprompt.Open(modelFolder, nil))
	defer model.Close()
	info := check(model.Info())
	fmt.Printf("model: %s, %d layers, hidden %d, vocabulary %d\n", info.ModelType, info.NumLayers, info.HiddenSize,
		info.VocabSize)

	batch := softprompt.Batch{
		InputIDs:  makeTask(info.VocabSize),
		TaskIDs:   []int32{0, 1, 0, 1}, // used by multitask prompt tuning only
		BatchSize: rows,
		SeqLen:    seqLen,
	}
	adapter := check(softprompt.NewAdapter(model, &adapterOptions))
	defer adapter.Close()

	trainerOptions := softprompt.DefaultTrainerOptions()
	trainerOptions.LearningRate = learningRate
	trainerOptions.WarmupSteps = 10
	trainerOptions.TotalSteps = steps
	trainerOptions.MaxGradNorm = 1.0
	trainer := check(softprompt.NewTrainer(adapter, &trainerOptions))
	defer trainer.Close()

	startLoss := check(adapter.EvalLoss(batch)).MeanLoss
	fmt.Printf("step %4d  loss %.4f\n", 0, startLoss)
	for step := 1; step <= steps; step++ {
		result := check(trainer.Step(batch))
		if step%25 == 0 || step == steps {
			fmt.Printf("step %4d  loss %.4f  lr %.4f  grad-norm %.3f\n", step, result.Loss, result.LearningRate,
				result.GradNorm)
		}
	}

	trainedLoss := check(adapter.EvalLoss(batch)).MeanLoss
	must(adapter.Save(adapterFolder))
	fmt.Printf("saved adapter to %s\n", adapterFolder)
	singleFile := adapterFolder + ".spadapter"
	must(adapter.SaveFile(singleFile))
	fmt.Printf("saved adapter to %s\n", singleFile)

	reloaded := check(softprompt.LoadAdapter(model, adapterFolder))
	defer reloaded.Close()
	reloadedLoss := check(reloaded.EvalLoss(batch)).MeanLoss
	fromFile := check(softprompt.LoadAdapterFile(model, singleFile))
	defer fromFile.Close()
	fileLoss := check(fromFile.EvalLoss(batch)).MeanLoss
	fmt.Printf("evaluation loss: start %.4f, trained %.4f, reloaded from the folder %.4f, from the file %.4f\n",
		startLoss, trainedLoss, reloadedLoss, fileLoss)

	if math.Abs(float64(trainedLoss-reloadedLoss)) > 1e-5 || math.Abs(float64(trainedLoss-fileLoss)) > 1e-5 {
		fail(1, "a reloaded adapter gives a different loss")
	}
	if !(trainedLoss < startLoss) {
		fail(1, "the loss did not fall")
	}
}

// makeTask returns four sequences of ids in [3, vocabSize): a fixed pseudo-random "corpus" (the
// same generator as the C example).
func makeTask(vocabSize int) []int32 {
	ids := make([]int32, rows*seqLen)
	state := uint32(12345)
	for i := range ids {
		state = state*1664525 + 1013904223
		ids[i] = int32(3 + (state>>8)%uint32(vocabSize-3))
	}
	return ids
}

// configure returns the adapter settings and a learning rate that suit each method on this task.
func configure(method string) (softprompt.AdapterOptions, float64, bool) {
	opts := softprompt.DefaultAdapterOptions()
	opts.NumVirtualTokens = 16
	opts.Seed = 42
	learningRate := 0.1
	switch method {
	case "prompt":
		opts.Init = softprompt.InitSampleVocab
	case "prefix":
		opts.Method = softprompt.MethodPrefixTuning
		learningRate = 0.05
	case "prefix-projection":
		opts.Method = softprompt.MethodPrefixTuning
		opts.PrefixProjection = true
		learningRate = 3e-3
	case "ptuning-mlp", "ptuning-lstm":
		opts.Method = softprompt.MethodPTuning
		if method == "ptuning-lstm" {
			opts.EncoderType = softprompt.EncoderLSTM
		}
		learningRate = 3e-3
	case "mpt":
		opts.Method = softprompt.MethodMultitaskPromptTuning
		opts.NumTasks = 2
	default:
		return opts, 0, false
	}
	return opts, learningRate, true
}

// check returns value, or prints err (an *softprompt.Error: status and the library's message)
// and exits.
func check[T any](value T, err error) T {
	must(err)
	return value
}

func must(err error) {
	if err != nil {
		fail(1, err.Error())
	}
}

func fail(code int, message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(code)
}
