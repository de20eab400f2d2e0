package softprompt

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// maxDifference returns the largest absolute difference between two equally long slices.
func maxDifference(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d values against %d", len(a), len(b))
	}
	worst := 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i])-float64(b[i])))
	}
	return worst
}

// Every method's adapter, trained a little, saved as a PEFT folder and as a single file and loaded
// back, gives the same logits. The single file holds every trainable tensor, so its logits must be
// identical. The PEFT folder stores P-tuning and projected prefixes as their encoder outputs (as
// PEFT does), which the reloaded adapter uses directly instead of recomputing them: equal up to
// 1e-5.
func TestSavedAndLoadedAdaptersGiveTheSameLogits(t *testing.T) {
	batch := taskBatch()
	for _, c := range methodCases {
		t.Run(c.name, func(t *testing.T) {
			adapter := newTestAdapter(t, c.adapterOptions())
			trainerOpts := DefaultTrainerOptions()
			trainerOpts.LearningRate = c.learningRate
			trainer := try(NewTrainer(adapter, &trainerOpts)).get(t)
			for i := 0; i < 5; i++ {
				try(trainer.Step(batch)).get(t)
			}
			trainer.Close()
			want := try(adapter.Logits(batch, LogitsAll)).get(t)

			dir := t.TempDir()
			folder, file := filepath.Join(dir, "peft"), filepath.Join(dir, "adapter.spadapter")
			if err := adapter.Save(folder); err != nil {
				t.Fatal(err)
			}
			if err := adapter.SaveFile(file); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"adapter_config.json", "adapter_model.safetensors"} {
				if _, err := os.Stat(filepath.Join(folder, name)); err != nil {
					t.Fatalf("the PEFT folder lacks %s: %v", name, err)
				}
			}

			fromFile := try(LoadAdapterFile(llama, file)).get(t)
			defer fromFile.Close()
			requireIdentical(t, "logits of the adapter loaded from the single file", try(fromFile.Logits(batch, LogitsAll)).get(t), want)

			fromFolder := try(LoadAdapter(llama, folder)).get(t)
			defer fromFolder.Close()
			difference := maxDifference(t, try(fromFolder.Logits(batch, LogitsAll)).get(t), want)
			t.Logf("%-30s single file: identical; PEFT folder: max |difference| %.2g", c.name, difference)
			if difference > 1e-5 {
				t.Fatalf("the adapter loaded from the PEFT folder differs by %g", difference)
			}
		})
	}
}

// A folder and a file whose names are not ASCII (x_ü_😀) are written under exactly that UTF-8 name
// and load back.
func TestNonASCIIPathsRoundTrip(t *testing.T) {
	const name = "x_ü_😀"
	dir := t.TempDir()
	adapter := newTestAdapter(t, smallAdapterOptions(11))
	want := try(adapter.Logits(taskBatch(), LogitsLast)).get(t)

	folder, file := filepath.Join(dir, name), filepath.Join(dir, name+".spadapter")
	if err := adapter.Save(folder); err != nil {
		t.Fatal(err)
	}
	if err := adapter.SaveFile(file); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, e := range entries {
		found[e.Name()] = true
	}
	if !found[name] || !found[name+".spadapter"] || len(entries) != 2 {
		t.Fatalf("the folder holds %v, want exactly %q and %q", found, name, name+".spadapter")
	}
	for _, load := range []func() (*Adapter, error){
		func() (*Adapter, error) { return LoadAdapter(llama, folder) },
		func() (*Adapter, error) { return LoadAdapterFile(llama, file) },
	} {
		loaded := try(load()).get(t)
		requireIdentical(t, "logits after the round trip", try(loaded.Logits(taskBatch(), LogitsLast)).get(t), want)
		loaded.Close()
	}
}
