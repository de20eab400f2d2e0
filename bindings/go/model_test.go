package softprompt

import (
	"math"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

// The tiny llama model has the sizes make_tiny_model gives it.
func TestOpenReadsTheModelSizes(t *testing.T) {
	info := try(llama.Info()).get(t)
	t.Logf("model info: %+v", info)
	if info.ModelType != "llama" || info.VocabSize != 256 || info.HiddenSize != 64 || info.NumLayers != 2 {
		t.Fatalf("unexpected model info %+v (want llama, vocab 256, hidden 64, 2 layers)", info)
	}
	if info.HeadDim*info.NumAttentionHeads != info.HiddenSize || info.NumKeyValueHeads <= 0 {
		t.Fatalf("inconsistent head sizes in %+v", info)
	}
}

func TestVersionAndDevices(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(Version()) {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", Version())
	}
	if n := CUDADeviceCount(); n < 0 {
		t.Fatalf("CUDADeviceCount() = %d", n)
	}
	t.Logf("softprompt %s, %d CUDA device(s)", Version(), CUDADeviceCount())
}

// The thread count comes back as set, 0 restores the count before any setting, and a negative or
// absurd count is refused with the value named and the setting unchanged.
func TestNumThreadsRoundTripsAndRefusesImpossibleCounts(t *testing.T) {
	original := try(NumThreads()).get(t)
	if original < 1 {
		t.Fatalf("NumThreads() = %d before any setting", original)
	}
	defer func() {
		if err := SetNumThreads(0); err != nil {
			t.Fatalf("SetNumThreads(0): %v", err)
		}
		if n := try(NumThreads()).get(t); n != original {
			t.Fatalf("NumThreads() = %d after SetNumThreads(0), want the original %d", n, original)
		}
	}()
	if err := SetNumThreads(1); err != nil {
		t.Fatalf("SetNumThreads(1): %v", err)
	}
	if n := try(NumThreads()).get(t); n != 1 {
		t.Fatalf("NumThreads() = %d after SetNumThreads(1)", n)
	}
	for _, bad := range []int{-1, 100000, 1 << 40} {
		spErr := requireStatus(t, SetNumThreads(bad), StatusInvalidArgument)
		requireMessage(t, spErr, strconv.Itoa(bad))
		if n := try(NumThreads()).get(t); n != 1 {
			t.Fatalf("NumThreads() = %d after the refused SetNumThreads(%d), want 1", n, bad)
		}
	}
	logits := try(llama.Logits(Batch{InputIDs: []int32{3, 9, 27, 81}, BatchSize: 1, SeqLen: 4}, LogitsLast)).get(t)
	if len(logits) != 256 {
		t.Fatalf("%d logits with one thread, want 256", len(logits))
	}
}

// The CPU figures are the process's resident set: non-zero, a peak at least as large, reserved
// equal to current; resetting the peak succeeds; 64 MiB that Go allocates and touches raise the
// current figure while they are held. FreeOSMemory first returns the heap's free pages to the
// system, so the block cannot land on pages that are already resident.
func TestCPUMemoryStatsFollowTheResidentSet(t *testing.T) {
	stats := try(GetMemoryStats(DeviceCPU, 0)).get(t)
	if stats.CurrentBytes == 0 || stats.PeakBytes < stats.CurrentBytes || stats.ReservedBytes != stats.CurrentBytes {
		t.Fatalf("CPU memory stats %+v: want current > 0, peak >= current, reserved == current", stats)
	}
	if err := ResetPeakMemory(DeviceCPU, 0); err != nil {
		t.Fatalf("ResetPeakMemory(DeviceCPU, 0): %v", err)
	}
	debug.FreeOSMemory()
	before := try(GetMemoryStats(DeviceCPU, 0)).get(t)
	if before.PeakBytes < before.CurrentBytes {
		t.Fatalf("after ResetPeakMemory: %+v, want peak >= current", before)
	}
	const mib = 1 << 20
	block := make([]byte, 64*mib)
	for i := range block {
		block[i] = 0x5a
	}
	holding := try(GetMemoryStats(DeviceCPU, 0)).get(t)
	runtime.KeepAlive(block)
	if holding.CurrentBytes < before.CurrentBytes+32*mib {
		t.Fatalf("holding 64 MiB: %+v, before: %+v; want current up by at least 32 MiB", holding, before)
	}
	if holding.PeakBytes < holding.CurrentBytes {
		t.Fatalf("holding 64 MiB: %+v, want peak >= current", holding)
	}
}

// A CUDA device index one past the last device is refused as a device that does not exist.
func TestMemoryStatsOfAMissingCUDADeviceAreRefused(t *testing.T) {
	missing := CUDADeviceCount()
	_, err := GetMemoryStats(DeviceCUDA, missing)
	requireMessage(t, requireStatus(t, err, StatusDevice), "does not exist")
	err = ResetPeakMemory(DeviceCUDA, missing)
	requireMessage(t, requireStatus(t, err, StatusDevice), "does not exist")
}

// The Default*Options functions return the defaults softprompt.h documents.
func TestDefaultOptionsAreTheDocumentedCDefaults(t *testing.T) {
	if got, want := DefaultModelOptions(), (ModelOptions{Device: DeviceCPU, DeviceIndex: 0, DType: DTypeFloat32, AllowTF32: false}); got != want {
		t.Errorf("DefaultModelOptions() = %+v, want %+v", got, want)
	}
	a := DefaultAdapterOptions()
	if a.Method != MethodPromptTuning || a.NumVirtualTokens != 20 || a.Init != InitRandom || a.EncoderHiddenSize != 0 ||
		a.PrefixProjection || a.PrefixZeroInit || a.EncoderType != EncoderMLP || a.EncoderNumLayers != 2 ||
		a.EncoderDropout != 0 || a.NumTasks != 1 || a.NumRanks != 1 || a.SourceTask != 0 || a.InitTokenIDs != nil ||
		a.InitText != "" || a.TokenizerNameOrPath != "" || a.SourceAdapter != "" {
		t.Errorf("DefaultAdapterOptions() = %+v", a)
	}
	want := TrainerOptions{LearningRate: 3e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, AccumulationSteps: 1}
	if got := DefaultTrainerOptions(); got != want {
		t.Errorf("DefaultTrainerOptions() = %+v, want %+v", got, want)
	}
}

// The base model's LAST logits are its ALL logits at each row's last unmasked position, and the
// mean loss is minus the summed row log-likelihoods over the number of targets.
func TestModelLogitsAndLossAgree(t *testing.T) {
	batch := taskBatch()
	batch.AttentionMask = make([]int32, len(batch.InputIDs))
	valid := []int{10, 7, 10, 4} // real tokens per row; the rest is padding
	targets := 0
	for row, n := range valid {
		for i := 0; i < n; i++ {
			batch.AttentionMask[row*taskSeqLen+i] = 1
		}
		targets += n - 1 // position i predicts token i+1
	}
	vocab := llama.info.VocabSize
	all := try(llama.Logits(batch, LogitsAll)).get(t)
	last := try(llama.Logits(batch, LogitsLast)).get(t)
	if len(all) != taskRows*taskSeqLen*vocab || len(last) != taskRows*vocab {
		t.Fatalf("got %d and %d logits, want %d and %d", len(all), len(last), taskRows*taskSeqLen*vocab, taskRows*vocab)
	}
	for row, n := range valid {
		at := all[(row*taskSeqLen+n-1)*vocab : (row*taskSeqLen+n)*vocab]
		for v := range at {
			if at[v] != last[row*vocab+v] || math.IsNaN(float64(at[v])) {
				t.Fatalf("row %d: LAST logit %d = %v, ALL logit at position %d = %v", row, v, last[row*vocab+v], n-1, at[v])
			}
		}
	}
	loss := try(llama.EvalLoss(batch)).get(t)
	sum := 0.0
	for _, ll := range loss.RowLogLikelihoods {
		if !(ll < 0) {
			t.Fatalf("row log-likelihoods %v must be negative", loss.RowLogLikelihoods)
		}
		sum += float64(ll)
	}
	if got := -sum / float64(targets); math.Abs(got-float64(loss.MeanLoss)) > 1e-4*math.Abs(got) {
		t.Fatalf("mean loss %v, but -sum(row log-likelihoods)/targets = %v", loss.MeanLoss, got)
	}
	t.Logf("base model: mean loss %.4f over %d targets", loss.MeanLoss, targets)
}
