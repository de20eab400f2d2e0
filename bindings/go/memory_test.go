package softprompt

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// vmRSS returns this process's resident set size in KiB (VmRSS in /proc/self/status).
func vmRSS(t *testing.T) int {
	t.Helper()
	file, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) >= 2 && fields[0] == "VmRSS:" {
			kib, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatal("no VmRSS line in /proc/self/status")
	return 0
}

// One cycle creates and closes an adapter and a trainer, after one training step (so that the
// optimiser state and gradients exist too).
func createAndClose(t *testing.T, opts *AdapterOptions, batch Batch) {
	adapter := try(NewAdapter(llama, opts)).get(t)
	trainer := try(NewTrainer(adapter, nil)).get(t)
	try(trainer.Step(batch)).get(t)
	trainer.Close()
	adapter.Close()
}

const (
	memoryCycles = 10000
	// rssBoundKiB: each cycle allocates several KiB in C (the adapter's tensors, AdamW moments,
	// gradients), so a leak of even one of them would add tens of MiB over 10,000 cycles. Measured
	// growth on the development machine: about 1.1 MiB (allocator noise), so 8 MiB leaves a wide
	// margin.
	rssBoundKiB = 8 * 1024
)

// 10,000 create/close cycles do not grow the resident set size by more than rssBoundKiB.
func TestCreateCloseCyclesDoNotLeak(t *testing.T) {
	opts := smallAdapterOptions(1)
	batch := taskBatch()
	batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.TaskIDs = 1, 10, batch.InputIDs[:10], nil
	for i := 0; i < 500; i++ { // warm-up: allocator pools, Go heap, torch caches
		createAndClose(t, &opts, batch)
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := vmRSS(t)
	for i := 0; i < memoryCycles; i++ {
		createAndClose(t, &opts, batch)
	}
	runtime.GC()
	debug.FreeOSMemory()
	after := vmRSS(t)
	t.Logf("VmRSS %d KiB -> %d KiB over %d create/close cycles: growth %d KiB (bound %d KiB)",
		before, after, memoryCycles, after-before, rssBoundKiB)
	if after-before > rssBoundKiB {
		t.Fatalf("VmRSS grew by %d KiB, more than the bound of %d KiB", after-before, rssBoundKiB)
	}
}
