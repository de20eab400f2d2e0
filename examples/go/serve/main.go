// Command serve is an HTTP service over one softprompt model and a folder of adapters (see
// README.md for the API):
//
//	serve -model FOLDER -adapters FOLDER [-addr 127.0.0.1:8080] [-workers 2] [-max-batch 8]
//	      [-max-length 512] [-batch-window 5ms] [-poll 500ms] [-threads N] [-device cpu|cuda]
//
// The model folder needs a tokenizer.json. Each entry of the adapters folder is an adapter: a PEFT
// folder NAME/ or a file NAME.spa; adding, replacing or removing one takes effect within -poll.
// Ctrl-C (or SIGTERM) stops accepting requests, lets the running ones finish and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"softprompt.dev/examples/serve/server"
	"softprompt.dev/softprompt"
)

func main() {
	modelFolder := flag.String("model", "", "model folder (with tokenizer.json) or GGUF file; required")
	adaptersFolder := flag.String("adapters", "", "folder of adapters (PEFT folders, NAME.spa files); required")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	workers := flag.Int("workers", 2, "generations and scorings run at once")
	maxBatch := flag.Int("max-batch", 8, "requests in one generation")
	maxLength := flag.Int("max-length", 512, "prompt plus new tokens per request")
	window := flag.Duration("batch-window", 5*time.Millisecond, "how long a batch waits for more requests")
	poll := flag.Duration("poll", 500*time.Millisecond, "how often the adapters folder is scanned")
	threads := flag.Int("threads", 0, "CPU threads per call (0: the library's default)")
	device := flag.String("device", "cpu", "cpu or cuda")
	flag.Parse()
	if *modelFolder == "" || *adaptersFolder == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "serve: ", log.LstdFlags)

	if *threads > 0 {
		check(logger, "set the thread count", softprompt.SetNumThreads(*threads))
	}
	modelOptions := softprompt.DefaultModelOptions()
	switch *device {
	case "cpu":
	case "cuda":
		modelOptions.Device = softprompt.DeviceCUDA
	default:
		logger.Fatalf("-device %q: want cpu or cuda", *device)
	}
	model, err := softprompt.Open(*modelFolder, &modelOptions)
	check(logger, "open the model", err)
	defer model.Close()
	srv, err := server.New(model, server.Config{AdaptersFolder: *adaptersFolder, PollInterval: *poll,
		Workers: *workers, MaxBatch: *maxBatch, MaxLength: *maxLength, BatchWindow: *window, Logger: logger})
	check(logger, "start serving", err)
	defer srv.Close()

	listener, err := net.Listen("tcp", *addr)
	check(logger, "listen", err)
	httpServer := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan error, 1)
	go func() { stopped <- httpServer.Serve(listener) }()
	logger.Printf("serving %s with the adapters of %s on http://%s", *modelFolder, *adaptersFolder, listener.Addr())

	signals, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-stopped:
		check(logger, "serve", err)
	case <-signals.Done():
		logger.Print("shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := httpServer.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			logger.Print(err)
		}
	}
}

func check(logger *log.Logger, what string, err error) {
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Fatal(fmt.Sprintf("%s: %v", what, err))
	}
}
