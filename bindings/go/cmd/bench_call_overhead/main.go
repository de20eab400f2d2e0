// Command bench_call_overhead is the Go side of the binding-overhead benchmark: it times the same
// two calls as bench/bench_call_overhead.c, through this package's public API, on the same
// adapter settings. The difference from the C figures is the binding's cost per call.
//
//	info    Adapter.Info on a prompt-tuning adapter (no tensor work: pure call cost)
//	logits  Adapter.Logits, LogitsLast, batch 1 x 8 tokens (ids 1..8), 4 virtual tokens
//
// Usage: bench_call_overhead <model-folder> [info-calls] [logits-calls]
//
// It prints one line: {"language": "go", "info_ns": ..., "logits_ns": ...}
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"softprompt.dev/softprompt"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s <model-folder> [info-calls] [logits-calls]\n", os.Args[0])
		os.Exit(2)
	}
	infoCalls, logitsCalls := argument(2, 200000), argument(3, 2000)

	model, err := softprompt.Open(os.Args[1], nil)
	check(err)
	defer model.Close()
	opts := softprompt.DefaultAdapterOptions()
	opts.NumVirtualTokens = 4
	adapter, err := softprompt.NewAdapter(model, &opts)
	check(err)
	defer adapter.Close()

	start := time.Now()
	for i := 0; i < infoCalls; i++ {
		_, err = adapter.Info()
	}
	infoNs := float64(time.Since(start).Nanoseconds()) / float64(infoCalls)
	check(err)

	batch := softprompt.Batch{InputIDs: []int32{1, 2, 3, 4, 5, 6, 7, 8}, BatchSize: 1, SeqLen: 8}
	for i := 0; i < 50; i++ {
		_, err = adapter.Logits(batch, softprompt.LogitsLast)
	}
	check(err)
	start = time.Now()
	for i := 0; i < logitsCalls; i++ {
		_, err = adapter.Logits(batch, softprompt.LogitsLast)
	}
	logitsNs := float64(time.Since(start).Nanoseconds()) / float64(logitsCalls)
	check(err)
	fmt.Printf("{\"language\": \"go\", \"info_ns\": %.1f, \"logits_ns\": %.1f}\n", infoNs, logitsNs)
}

// argument returns os.Args[i] as a positive count, or fallback when it is absent.
func argument(i, fallback int) int {
	if len(os.Args) <= i {
		return fallback
	}
	n, err := strconv.Atoi(os.Args[i])
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "%q is not a positive count\n", os.Args[i])
		os.Exit(2)
	}
	return n
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
