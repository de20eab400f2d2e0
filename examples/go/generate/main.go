// Command generate streams a model's continuation of a text prompt to stdout through the Go
// binding:
//
//	generate <model-folder> [prompt] [max-new-tokens] [--adapter FOLDER] [--sample SEED]
//
// It loads a model folder that has a tokenizer.json, optionally a PEFT adapter folder (its soft
// prompt is used), encodes the prompt with the model's tokenizer, and prints each token's text as
// it is generated (greedy by default; --sample draws with temperature 0.8 and top-p 0.95 from the
// given seed). Ctrl-C cancels the generation between two tokens. At the end it reports the number
// of tokens and why generation stopped on stderr, and checks that the streamed text is the
// tokenizer's decode of the generated ids (exit status 1 otherwise).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"

	"softprompt.dev/softprompt"
)

const usage = "usage: generate <model-folder> [prompt] [max-new-tokens] [--adapter FOLDER] [--sample SEED]"

func main() {
	var positional []string
	adapterFolder, seed, sample := "", uint64(0), false
	for i := 1; i < len(os.Args); i++ {
		switch {
		case os.Args[i] == "--adapter" && i+1 < len(os.Args):
			i++
			adapterFolder = os.Args[i]
		case os.Args[i] == "--sample" && i+1 < len(os.Args):
			i++
			value, err := strconv.ParseUint(os.Args[i], 10, 64)
			if err != nil {
				fail(usage)
			}
			seed, sample = value, true
		default:
			positional = append(positional, os.Args[i])
		}
	}
	if len(positional) < 1 || len(positional) > 3 {
		fail(usage)
	}
	prompt, maxNewTokens := "Once upon a time", 32
	if len(positional) > 1 {
		prompt = positional[1]
	}
	if len(positional) > 2 {
		n, err := strconv.Atoi(positional[2])
		if err != nil || n < 1 {
			fail(usage)
		}
		maxNewTokens = n
	}

	model, err := softprompt.Open(positional[0], nil)
	check("open the model", err)
	defer model.Close()
	var adapter *softprompt.Adapter
	if adapterFolder != "" {
		adapter, err = softprompt.LoadAdapter(model, adapterFolder)
		check("load the adapter", err)
		defer adapter.Close()
	}
	// The model folder's tokenizer encodes the prompt (special tokens added, as transformers'
	// tokenizer(prompt) does) and decodes the result for the final check.
	tokenizer, err := model.Tokenizer()
	check("take the model's tokenizer", err)
	defer tokenizer.Close()
	ids, err := tokenizer.Encode(prompt, true)
	check("encode the prompt", err)
	// The cache is allocated once, for one row of the prompt plus the new tokens.
	c, err := softprompt.NewContext(model, adapter,
		&softprompt.ContextOptions{MaxBatchSize: 1, MaxLength: len(ids) + maxNewTokens})
	check("create the context", err)
	defer c.Close()
	prompts := softprompt.Prompts{IDs: [][]int32{ids}}

	opts := softprompt.DefaultGenerateOptions()
	opts.MaxNewTokens = maxNewTokens
	if sample {
		opts.DoSample, opts.Temperature, opts.TopP, opts.Seed = true, 0.8, 0.95, seed
	}

	// Ctrl-C cancels ctx; the stream notices before its next token and stops the generation.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stream, err := c.Stream(ctx, prompts, &opts)
	check("begin the generation", err)
	defer stream.Close()
	fmt.Print(prompt)
	for stream.Next() {
		fmt.Print(stream.Event().Text) // whole characters only: never half of one
	}
	fmt.Println()
	row := stream.Generation().Rows[0]
	if err := stream.Err(); errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "cancelled after %d tokens\n", len(row.IDs))
		return
	}
	check("generate", stream.Err())
	fmt.Fprintf(os.Stderr, "%d tokens, stopped by %v\n", len(row.IDs), row.StopReason)
	decoded, err := tokenizer.Decode(row.IDs, opts.SkipSpecialTokens)
	check("decode", err)
	if decoded != row.Text {
		fail(fmt.Sprintf("the streamed text %q is not the decoded text %q", row.Text, decoded))
	}
}

func check(what string, err error) {
	if err != nil {
		fail(what + ": " + err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}
